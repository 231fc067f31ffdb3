#!/usr/bin/env bash
# Fleet under partial failure (issue #16), the whole store hung: a 3-member etcd cluster and two
# edges; concurrent API writes (each with its own Idempotency-Key, retried with the same key
# after an "outcome unknown" answer) while every member is frozen (SIGSTOP) for 10 s:
#  - every answer is true: 200 means stored (exactly once), 503 means not stored; the only other
#    answer is the documented 504 / 10504 "outcome unknown", and a retry with the same key then
#    answers the truth and never makes a second app (checked against etcd afterwards);
#  - reads answer within 100 ms throughout (no lock is held across etcd);
#  - 0 client connections through the edges fail;
#  - the registry view turns stale while the edges cannot refresh it, and live again after.
# Prints the figures. The cleanup trap always resumes the members (SIGCONT) first.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
fleet_ns
trap 'rc=$?; etcd_thaw_all; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT

fleet_steady 3 2

# ---------------------------------------------------------------- load, then the freeze
rpt_spawn traffic "$NS_F" timeout 60 "${FLEETUTIL[@]}" loop --connect 127.0.0.11:9000 \
  --connect 127.0.0.12:9000 --seconds 16 --interval 0.05
TRAFFIC_PID=$RPT_LAST_PID
rpt_spawn reads "$NS_F" timeout 60 "${FLEETAPI[@]}" reads --api 127.0.0.1:18801 --api 127.0.0.1:18802 \
  --token "$FLEET_TOKEN" --seconds 15 --path /spectrum/apps/steady --out "$TDIR/reads.jsonl"
READS_PID=$RPT_LAST_PID
rpt_spawn writes "$NS_F" timeout 90 "${FLEETAPI[@]}" writes --api 127.0.0.1:18801 --api 127.0.0.1:18802 \
  --token "$FLEET_TOKEN" --workers 4 --seconds 15 --interval 0.3 --settle 15 --port-base 20000 \
  --out "$TDIR/writes.jsonl"
WRITES_PID=$RPT_LAST_PID
for _ in $(seq 100); do (($(cat "$TDIR/writes.jsonl" 2>/dev/null | wc -l) >= 8)) && break; sleep 0.05; done
etcd_freeze m1 m2 m3
t_freeze=$(now_s)
rpt_log "every etcd member frozen"
t=$(fa registry --api 127.0.0.1:18801 --api 127.0.0.1:18802 --token "$FLEET_TOKEN" --want stale --since "$t_freeze" --timeout 8 || true)
echo "  registry: both edges show their entries stale ${t}s after the store froze"
check "the registry view is marked stale (not shown live) within 5 s" \
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 5.0 else 1)" "${t/timeout/9}"
sleep "$(python3 -c "import sys; print(max(0.0, 10 - float(sys.argv[1])))" "$(since "$t_freeze")")"
etcd_thaw m1 m2 m3
t_thaw=$(now_s)
rpt_log "every etcd member resumed after $(since "$t_freeze")s"
t=$(fa registry --api 127.0.0.1:18801 --api 127.0.0.1:18802 --token "$FLEET_TOKEN" --want live --count 2 --since "$t_thaw" --timeout 8 || true)
echo "  registry: live again (2 edges, none stale) ${t}s after the store resumed"
check "the registry view is live again within 5 s" \
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 5.0 else 1)" "${t/timeout/9}"

wait "$WRITES_PID" || true
wait "$READS_PID" || true
wait "$TRAFFIC_PID" && traffic_rc=0 || traffic_rc=$?
echo "  traffic: $(tail -n 1 "$TDIR/traffic.log")"
assert_eq "no client connection failed through either edge" "0" "$traffic_rc"
etcd_values /rampart/apps/ "$TDIR/etcd-apps.txt"
check "every write answer is true (checked against etcd), retries never duplicate" \
  fa verify --attempts "$TDIR/writes.jsonl" --etcd-values "$TDIR/etcd-apps.txt" --want-unknown
check "reads answered within 100 ms throughout" fa readstats --reads "$TDIR/reads.jsonl" --max-ms 100
# Both edges converge on what etcd holds.
want=$(grep -c '^{' "$TDIR/etcd-apps.txt")
converged() {
  local n c
  for n in 1 2; do
    c=$(jget "$(body_of "$(fapi "$n" GET '/spectrum/apps?per_page=1000')")" 'len([a for a in j["result"] if a["source"] == "api"])')
    [[ $c == "$want" ]] || return 1
  done
}
for _ in $(seq 30); do converged && break; sleep 0.1; done
check "both edges show the $want apps etcd holds" converged
rpt_finish
