#!/usr/bin/env bash
# Fleet under partial failure (issue #16), one hung member: a 3-member etcd cluster, three edges,
# API writes through two of them. The first member of every edge's store: list is frozen
# (SIGSTOP: a paused VM or a stalled disk looks the same) under that load:
#  - every write still succeeds, each within 2 s (the client demotes the hung member after one
#    timeout and the next request goes to another at once);
#  - an app written through another member reaches every edge within 2 s (the watch's keepalive
#    finds its member hung and resumes on another from its last revision);
#  - the registry stays true: an edge that leaves is gone from the others' view within 2 s, and
#    no entry is shown stale;
#  - reads answer within 100 ms throughout.
# Prints the figures. The cleanup trap always resumes the member (SIGCONT) first.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
fleet_ns
trap 'rc=$?; etcd_thaw_all; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT

fleet_steady 3 3

# ---------------------------------------------------------------- the load
rpt_spawn reads "$NS_F" timeout 60 "${FLEETAPI[@]}" reads --api 127.0.0.1:18801 --api 127.0.0.1:18802 \
  --token "$FLEET_TOKEN" --seconds 9 --path /spectrum/apps/steady --out "$TDIR/reads.jsonl"
READS_PID=$RPT_LAST_PID
rpt_spawn writes "$NS_F" timeout 60 "${FLEETAPI[@]}" writes --api 127.0.0.1:18801 --api 127.0.0.1:18802 \
  --token "$FLEET_TOKEN" --workers 2 --seconds 8 --interval 0.2 --settle 5 --port-base 20000 \
  --out "$TDIR/writes.jsonl"
WRITES_PID=$RPT_LAST_PID
# Freeze once writes flow (a few answered), so that writes meet the hung member.
for _ in $(seq 100); do (($(cat "$TDIR/writes.jsonl" 2>/dev/null | wc -l) >= 4)) && break; sleep 0.05; done

# ---------------------------------------------------------------- member m1 hangs
etcd_freeze m1
rpt_log "m1 (pid ${ETCD_PIDS[m1]}) frozen"
APP2='{"id":"during","protocol":"tcp/9100","origin_direct":["tcp://127.0.0.1:7000"]}'
r=$(fa propagate --api 127.0.0.1:18802 --token "$FLEET_TOKEN" --body "$APP2" --timeout 5 \
  --connect 127.0.0.11:9100 --connect 127.0.0.12:9100 --connect 127.0.0.13:9100 || true)
echo "  an app written through edge 2 with m1 hung: answered in ${r%% *} ms; every edge relays it ${r##* }s after the answer (watch delay)"
check "... the write succeeds and reaches every edge within 2 s" \
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2000 and float(sys.argv[2]) < 2.0 else 1)" ${r:-9e9 9}

# The registry stays true: edge 3 leaves (SIGTERM revokes its lease); edges 1 and 2 see it.
t_leave=$(now_s)
kill -TERM "${EDGE_PIDS[3]}"
t=$(fa registry --api 127.0.0.1:18801 --api 127.0.0.1:18802 --token "$FLEET_TOKEN" --want live \
  --count 2 --since "$t_leave" --timeout 8 || true)
echo "  registry: edges 1 and 2 list exactly the 2 live edges, none stale, ${t}s after edge 3 was told to stop"
check "... within 2 s" python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 else 1)" "${t/timeout/9}"
echo "  registry view of edge 1: $(fleet_edges 1 | tr '\n' ' ')"

wait "$WRITES_PID" || true
wait "$READS_PID" || true
etcd_values /rampart/apps/ "$TDIR/etcd-apps.txt"
check "every write answered 200 within 2 s, each stored exactly once" fa verify --attempts "$TDIR/writes.jsonl" --etcd-values "$TDIR/etcd-apps.txt" --max-write-ms 2000
check "reads answered within 100 ms throughout" fa readstats --reads "$TDIR/reads.jsonl" --max-ms 100
check "edge 1 found its watch member hung and demoted it" grep -q "127.0.0.1:2379: keepalive.*member demoted" "$TDIR/edge1.log"
etcd_thaw m1
rpt_finish
