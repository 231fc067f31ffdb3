#!/usr/bin/env bash
# integration: parallel
# The UDP kernel relay across a zero-loss upgrade (docs/kernel-relay-udp.md, "Upgrades"): a flow
# moved to the kernel by the old process keeps working after `rampart upgrade` (every datagram
# back intact, the origin sees the same source port), while a flow opened after the upgrade is the
# new process's and is moved to the kernel by it. The relay is handed over with the sockets: the
# new process keeps the old one's program, maps and tcx links (one flow map holds both processes'
# flows), so the program outlives the old process and goes with the last holder: nothing is
# pinned.
# shellcheck disable=SC2317  # helpers invoked through check/wait_until
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

mkdir -p "$TDIR/bin"
cp "$RAMPART_BIN" "$TDIR/bin/rampart"
BIN=$TDIR/bin/rampart
PID_FILE=$TDIR/rampart.pid

cat >"$TDIR/echo.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
log = open(sys.argv[3], "a", buffering=1)
while True:
    d, p = s.recvfrom(65535)
    log.write(json.dumps({"from_port": p[1], "payload": d[:12].decode("ascii", "replace")}) + "\n")
    s.sendto(d, p)
PY
rpt_spawn origin "$NS_O" python3 "$TDIR/echo.py" "$ORIGIN_IP" 7001 "$TDIR/origin.ndjson"
require "echo origin bound" wait_port "$NS_O" udp 7001

cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 20s
  workers: 2
  pid_file: $PID_FILE
api:
  listen: 127.0.0.1:18798
  token: upgrade-token-$RPT_ID
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  # UDP only: its sockets travel with the generation program's state, not as listeners (an edge
  # without a TCP app used to refuse the upgrade for want of listeners to hand over).
  - id: udp
    protocol: udp/7001
    origin_direct: ["udp://$ORIGIN_IP:7001"]
    kernel_relay: on
    load_balancing: { health_check: { enabled: false } }
    timeouts: { udp_flow_idle: 10s } # flow A idles between rounds while the box is loaded
YAML
EDGE_LOG=$TDIR/edge.log
ip netns exec "$NS_E" "$BIN" serve -c "$TDIR/rampart.yaml" >>"$EDGE_LOG" 2>&1 &
OLD_PID=$!
RPT_PIDS+=("$OLD_PID")
require "edge bound on udp :7001" wait_port "$NS_E" udp 7001
require "pid file names the edge" wait_until 5 grep -qx "$OLD_PID" "$PID_FILE"

# A client flow that lives across the upgrade: it exchanges a round of datagrams whenever a file
# named round-N appears, and writes round-N.out (sent, intact).
cat >"$TDIR/client.py" <<'PY'
import json, os, select, socket, sys, time
edge, port, cport, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", cport))
def rt(data):
    s.sendto(data, (edge, port))
    r, _, _ = select.select([s], [], [], 2)
    return r and s.recvfrom(65535)[0] == data
for n in range(1, 4):
    while not os.path.exists(f"{d}/round-{n}"):
        time.sleep(0.05)
    ok = sum(rt(b"%d:r%d-%04d-" % (cport % 10, n, i) + os.urandom(i)) for i in range(200))
    open(f"{d}/round-{n}.out", "w").write(json.dumps({"sent": 200, "intact": ok}))
PY
rpt_spawn client-a "$NS_C" timeout 120 python3 "$TDIR/client.py" "$EDGE_IP" 7001 46001 "$TDIR/a"
mkdir -p "$TDIR/a" "$TDIR/b"
round() { # DIR N: one round of 200 round trips; prints "sent intact"
  touch "$1/round-$2"
  wait_file "$1/round-$2.out" 30 && python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["sent"], r["intact"])' "$1/round-$2.out"
}
# The relay programs a process holds tcx links for (their prog ids; programs are not per
# namespace, so they are found through the process, not by name), and whether a program exists.
relay_progs() {
  local f
  for f in /proc/"$1"/fdinfo/*; do
    if grep -q $'^link_type:\ttcx' "$f" 2>/dev/null; then awk '$1 == "prog_id:" {print $2}' "$f"; fi
  done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
prog_exists() { bpftool prog show id "$1" >/dev/null 2>&1; }

assert_eq "flow A before the upgrade: every datagram back intact" "200 200" "$(round "$TDIR/a" 1)"
OLD_PROGS=$(relay_progs "$OLD_PID")
assert_eq "the edge holds tcx links for one relay program" 1 "$(wc -w <<<"$OLD_PROGS")"

set +e
out=$(ip netns exec "$NS_E" "$RAMPART_BIN" upgrade --pid-file "$PID_FILE" 2>&1)
rc=$?
set -e
echo "  $out"
assert_eq "rampart upgrade exits 0" 0 "$rc"
NEW_PID=$(cat "$PID_FILE")
RPT_PIDS+=("$NEW_PID")
check "the pid file names a new pid" test "$NEW_PID" != "$OLD_PID"
NEW_PROGS=$(relay_progs "$NEW_PID")
assert_eq "the new process holds tcx links for the old one's relay program (handed over)" \
  "$OLD_PROGS" "$NEW_PROGS"
check "... and logs that it kept it" grep -q "kernel relay: UDP program kept attached to" "$EDGE_LOG"

assert_eq "flow A after the upgrade (the old process's kernel flow): every datagram back intact" \
  "200 200" "$(round "$TDIR/a" 2)"
rpt_spawn client-b "$NS_C" timeout 120 python3 "$TDIR/client.py" "$EDGE_IP" 7001 46002 "$TDIR/b"
assert_eq "flow B, opened after the upgrade: every datagram back intact" "200 200" "$(round "$TDIR/b" 1)"
assert_eq "flow A again, alongside B" "200 200" "$(round "$TDIR/a" 3)"

ip netns exec "$NS_E" curl -sS -o "$TDIR/metrics.txt" -H "Authorization: Bearer upgrade-token-$RPT_ID" \
  http://127.0.0.1:18798/metrics || true
moved=$(sed -n 's/^rampart_kernel_relay_udp_flows_total{colo="TEST",state="moved"} //p' "$TDIR/metrics.txt")
assert_eq "the new process moved one flow (B) to the kernel" 1 "$moved"
ports=$(python3 -c '
import json, sys
by = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    by.setdefault(r["payload"][:4], set()).add(r["from_port"])
a = by.get("1:r1", set()) | by.get("1:r2", set()) | by.get("1:r3", set())
b = by.get("2:r1", set())
print(len(a), len(b), len(a | b))' "$TDIR/origin.ndjson")
assert_eq "the origin saw flow A from one source port before and after the upgrade, B from another" \
  "1 1 2" "$ports"

touch "$TDIR/b/round-2" "$TDIR/b/round-3" # flow B's client ends; A's has ended
check "the old process exits by itself after its last flow" wait_until 30 bash -c "! kill -0 $OLD_PID 2>/dev/null"
check "the relay program outlives it (the new process holds its links)" prog_exists "$NEW_PROGS"
kill -TERM "$NEW_PID"
check "the new process stops on SIGTERM" wait_until 10 bash -c "! kill -0 $NEW_PID 2>/dev/null"
check "and its program went with it" wait_until 5 bash -c "! bpftool prog show id $NEW_PROGS >/dev/null 2>&1"
rpt_finish
