#!/usr/bin/env bash
# Zero-loss upgrade (SIGUSR2 / `rampart upgrade --pid-file`, SPEC §7, docs/upgrade.md), in
# namespaces, under load: a connect loop (~120 conn/s), 30 long-lived TCP echo streams and 10
# UDP sessions (a sequence-numbered datagram every 20 ms each; the origin records the edge-side
# source port of every session) run across `rampart upgrade`. Checked: 0 refused connects, 0
# broken streams, UDP loss <= 0.5 %, 0 sessions whose origin-side source port changed, the pid
# file names the new pid, a new connection is the new pid's, the old pid exits by itself after
# its last stream and flow. Before that, a new binary that exits 1 leaves the old one serving and
# `rampart upgrade` exits 3. Figures printed: upgrade time, old exit after its last flow, UDP loss.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

LOAD=(python3 "$RPT_HELPERS/upgradeload.py")
FLOW_IDLE_S=2
mkdir -p "$TDIR/bin"
cp "$RAMPART_BIN" "$TDIR/bin/rampart"
BIN=$TDIR/bin/rampart
PID_FILE=$TDIR/rampart.pid

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
rpt_spawn udp-origin "$NS_O" "${LOAD[@]}" udp-origin --host "$ORIGIN_IP" --udp-port 7001 --out "$TDIR/ports.json"
require "TCP echo origin on :7000" wait_port "$NS_O" tcp 7000
require "UDP echo origin on :7001" wait_port "$NS_O" udp 7001

cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 20s
  workers: 2
  pid_file: $PID_FILE
api:
  listen: 127.0.0.1:18797
  token: upgrade-token-$RPT_ID
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: tcp
    protocol: tcp/7000
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
  - id: udp
    protocol: udp/7001
    origin_direct: ["udp://$ORIGIN_IP:7001"]
    load_balancing: { health_check: { enabled: false } }
    timeouts: { udp_flow_idle: ${FLOW_IDLE_S}s }
YAML

EDGE_LOG=$TDIR/edge.log
ip netns exec "$NS_E" "$BIN" serve -c "$TDIR/rampart.yaml" >>"$EDGE_LOG" 2>&1 &
EDGE_PID=$!
RPT_PIDS+=("$EDGE_PID")
OLD_PID=$EDGE_PID
require "edge serves tcp :7000" wait_until 20 tcp_echo_ok "$NS_C" "$EDGE_IP" 7000
require "pid file names the edge" wait_until 5 grep -qx "$OLD_PID" "$PID_FILE"
check "the UDP generation program is loaded" bash -c "! grep -q 'generation program is off' '$EDGE_LOG'"

# The client command is the build's binary: $BIN is what the edge starts again (and is replaced).
upgrade() { ip netns exec "$NS_E" "$RAMPART_BIN" upgrade --pid-file "$PID_FILE"; }

# --- a new binary that fails: the old one keeps serving, `rampart upgrade` exits 3
printf '#!/bin/sh\necho "broken build" >&2\nexit 1\n' >"$BIN.broken"
chmod +x "$BIN.broken"
mv "$BIN" "$BIN.good"
mv "$BIN.broken" "$BIN"
set +e
out=$(upgrade 2>&1)
rc=$?
set -e
mv "$BIN.good" "$BIN"
echo "  failing binary: $out"
assert_eq "rampart upgrade with a failing binary exits 3" 3 "$rc"
check "... and says why (exited with status 1)" grep -q "exited with status 1" <<<"$out"
check "... the old process still runs" kill -0 "$OLD_PID"
check "... and still serves" tcp_echo_ok "$NS_C" "$EDGE_IP" 7000
assert_eq "... and the pid file still names it" "$OLD_PID" "$(cat "$PID_FILE")"

# --- the upgrade under load
rpt_spawn load "$NS_C" "${LOAD[@]}" client --host "$EDGE_IP" --tcp-port 7000 --udp-port 7001 \
  --rate 120 --streams 30 --udp 10 --stop "$TDIR/stop" --ready "$TDIR/load.ready"
LOAD_PID=$RPT_LAST_PID
require "load started" wait_file "$TDIR/load.ready" 10
sleep 3
t0=$(date +%s.%N)
set +e
out=$(upgrade 2>&1)
rc=$?
set -e
t1=$(date +%s.%N)
echo "  $out"
assert_eq "rampart upgrade exits 0" 0 "$rc"
NEW_PID=$(cat "$PID_FILE")
RPT_PIDS+=("$NEW_PID")
check "the pid file names a new pid" test "$NEW_PID" != "$OLD_PID"
check "the new pid runs" kill -0 "$NEW_PID"
UPGRADE_S=$(python3 -c "print(round($t1 - $t0, 3))")
sleep 3
# A connection opened now belongs to the new process.
ip netns exec "$NS_C" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7000), timeout=3)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
time.sleep(3)' "$EDGE_IP" "$TDIR/probe.port" &
PROBE=$!
wait_file "$TDIR/probe.port" 10 || true
owner=$(ip netns exec "$NS_E" ss -tnpH state established "( dport = :$(cat "$TDIR/probe.port" 2>/dev/null) )" |
  grep -o 'pid=[0-9]*' | head -1 || true)
assert_eq "a new connection is the new process's" "pid=$NEW_PID" "$owner"
wait "$PROBE" || true
check "the old process is still relaying (streams and flows)" kill -0 "$OLD_PID"
touch "$TDIR/stop"
wait_until 20 bash -c "! kill -0 $LOAD_PID 2>/dev/null" || true
t_last=$(date +%s.%N) # streams closed, last UDP datagram sent ~1 s before
figures=$(tail -n1 "$TDIR/load.log")
echo "  load: $figures"
wait_until 25 bash -c "! kill -0 $OLD_PID 2>/dev/null"
t_exit=$(date +%s.%N)
check "the old process exited by itself" bash -c "! kill -0 $OLD_PID 2>/dev/null"
OLD_EXIT_S=$(python3 -c "print(round($t_exit - $t_last, 2))")
read -r connects refused errors broken sent received < <(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print(r["connects"], r["refused"], r["connect_errors"], r["streams_broken"], r["udp_sent"], r["udp_received"])' "$figures")
LOSS=$(python3 -c "print(round(100.0 * ($sent - $received) / max($sent, 1), 3))")
check "connect loop ran at >= 100 conn/s" python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r['connects'] / r['seconds'] >= 100 else 1)" "$figures"
assert_eq "0 refused connects" 0 "$refused"
assert_eq "0 failed connects" 0 "$errors"
assert_eq "0 broken streams" 0 "$broken"
check "UDP loss <= 0.5 % ($LOSS %)" python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 0.5 else 1)" "$LOSS"
changed=$(python3 -c '
import json, sys
ports = json.load(open(sys.argv[1]))
print(sum(1 for v in ports.values() if len(v) != 1), len(ports))' "$TDIR/ports.json")
assert_eq "0 UDP sessions re-sourced toward the origin (of 10)" "0 10" "$changed"
check "the new process serves" tcp_echo_ok "$NS_C" "$EDGE_IP" 7000
check "the old one logged its handover" grep -q "upgrade: pid $NEW_PID serves" "$EDGE_LOG"

echo "FIGURES: upgrade ${UPGRADE_S}s (rampart upgrade to the new process serving and the old one" \
  "no longer accepting); old process exit ${OLD_EXIT_S}s after its last flow (UDP idle timeout" \
  "${FLOW_IDLE_S}s); UDP loss ${LOSS}% ($received of $sent); connects $connects, refused $refused"
# The new process is not this shell's child (the old one started it): stopped by pid.
kill -TERM "$NEW_PID"
check "the new process stops on SIGTERM" wait_until 10 bash -c "! kill -0 $NEW_PID 2>/dev/null"
rpt_finish
