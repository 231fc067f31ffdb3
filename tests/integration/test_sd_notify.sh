#!/usr/bin/env bash
# systemd integration without systemd (SPEC §7): helpers/sdnotify.py binds a real AF_UNIX
# datagram socket as NOTIFY_SOCKET and logs every message the edge sends. READY=1 comes only
# once every port of a 100-port range (and the other apps) accepts (the listener connects to all
# of them the moment READY=1 arrives) with STATUS= naming the apps; STATUS= follows the open
# connections; SIGHUP sends RELOADING=1 with MONOTONIC_USEC in the same datagram, then READY=1
# once the added app's port accepts; WATCHDOG=1 comes at half of WATCHDOG_USEC while the workers
# answer and stops while one worker thread is held in a ptrace-stop (a per-thread stop: the rest
# of the process runs), then resumes; SIGTERM sends STOPPING=1 and no ping after it. A second
# run uses an abstract ('@') socket.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

SDN=(python3 "$RPT_HELPERS/sdnotify.py")
NLOG=$TDIR/notify.log
PORTS=$TDIR/ports

# The listener's log: one line per datagram, "T_US|KEY=VALUE|...|" (helpers/sdnotify.py).
# ncount KEY=VALUE: messages carrying that line.
# shellcheck disable=SC2317  # called through wait_until
ncount() { grep -c -F "|$1|" "$NLOG" 2>/dev/null || true; }
# shellcheck disable=SC2317
ncount_ge() { (($(ncount "$1") >= $2)); }
# last_status: the STATUS= of the last message that had one.
# shellcheck disable=SC2317
last_status() { grep -o '|STATUS=[^|]*' "$NLOG" | tail -n 1 | cut -d= -f2-; }
# shellcheck disable=SC2317
status_is() { [[ $(last_status) == "$1" ]]; }
# refused_at_ready N: the ports refused when the N-th READY=1 arrived ("" = none).
refused_at_ready() { grep -F '|READY=1|' "$NLOG" | sed -n "${1}p" | grep -o 'refused=[^|]*' | cut -d= -f2; }
# line_of KEY=VALUE [N]: the line number of the N-th (default first) message carrying it.
line_of() { grep -n -F "|$1|" "$NLOG" | sed -n "${2:-1}p" | cut -d: -f1; }

write_config() {
  {
    edge_config_head "$TDIR/var"
    cat <<YAML
  workers: 2
apps:
  - id: range
    protocol: tcp/20000-20099
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
  - id: one
    protocol: tcp/21000
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
  - id: dns
    protocol: udp/22000
    origin_direct: ["udp://$ORIGIN_IP:53"]
YAML
    if [[ ${1:-} == added ]]; then
      cat <<YAML
  - id: added
    protocol: tcp/21001
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
YAML
    fi
  } >"$TDIR/rampart.yaml"
  # edge_config_head puts `workers:` under protection; move it under edge.
  python3 - "$TDIR/rampart.yaml" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
lines.remove("  workers: 2")
lines.insert(lines.index("edge:") + 1, "  workers: 2")
open(p, "w").write("\n".join(lines))
PY
}

# start_notified_edge SOCKET [WATCHDOG_USEC]: the edge in $NS_E with NOTIFY_SOCKET, and
# WATCHDOG_PID set to its own pid (exec keeps the shell's pid), as systemd does.
start_notified_edge() {
  EDGE_LOG=$TDIR/edge.log
  # shellcheck disable=SC2016  # $$ is the inner shell's pid
  ip netns exec "$NS_E" env NOTIFY_SOCKET="$1" WATCHDOG_USEC="${2:-}" \
    bash -c 'export WATCHDOG_PID=$$; exec "$0" serve -c "$1"' "$RAMPART_BIN" "$TDIR/rampart.yaml" \
    >>"$EDGE_LOG" 2>&1 &
  EDGE_PID=$!
  RPT_PIDS+=("$EDGE_PID")
}

rpt_spawn origin "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000" --ready "$TDIR/origin.ready"
wait_file "$TDIR/origin.ready"
write_config
{ seq 20000 20099; echo 21000; } >"$PORTS"
rpt_spawn listener "$NS_E" "${SDN[@]}" listen --socket "$TDIR/notify.sock" --log "$NLOG" \
  --ready "$TDIR/listener.ready" --ports-file "$PORTS" --host "$EDGE_IP"
wait_file "$TDIR/listener.ready"

# ---------------------------------------------------------------- READY=1 and STATUS=
WATCHDOG_USEC=600000 # pings every 300 ms
start_notified_edge "$TDIR/notify.sock" "$WATCHDOG_USEC"
require "READY=1 received" wait_until 30 ncount_ge READY=1 1
assert_eq "one READY=1" 1 "$(ncount READY=1)"
assert_eq "at READY=1 every one of the 101 TCP ports accepted (refused: none)" "" \
  "$(refused_at_ready 1)"
check "READY=1 carries STATUS=3 apps, 0 connections" \
  grep -q -F '|READY=1|STATUS=3 apps, 0 connections|' "$NLOG"
check "the UDP app is bound" port_listening "$NS_E" udp 22000

# ---------------------------------------------------------------- watchdog pings
check "WATCHDOG=1 pings arrive" wait_until 10 ncount_ge WATCHDOG=1 4
gaps=$(grep -F '|WATCHDOG=1|' "$NLOG" | cut -d'|' -f1 |
  awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g + 0 }')
check "pings come at half of WATCHDOG_USEC (largest gap $gaps us < $WATCHDOG_USEC)" \
  test "$gaps" -lt "$WATCHDOG_USEC"

# ---------------------------------------------------------------- STATUS= follows connections
rpt_spawn holder "$NS_C" python3 -c "
import socket, time
s = socket.create_connection(('$EDGE_IP', 21000), timeout=5)
s.sendall(b'hello\n'); s.recv(100); time.sleep(60)"
check "STATUS= counts the open connection" wait_until 10 status_is "3 apps, 1 connection"
rpt_stop "$RPT_LAST_PID"
check "STATUS= follows its close" wait_until 10 status_is "3 apps, 0 connections"

# ---------------------------------------------------------------- SIGHUP
write_config added
echo 21001 >>"$PORTS"
ready_before=$(ncount READY=1)
kill -HUP "$EDGE_PID"
check "RELOADING=1 received" wait_until 10 ncount_ge RELOADING=1 1
reloading=$(grep -F '|RELOADING=1|' "$NLOG" | head -n 1)
check "RELOADING=1 and MONOTONIC_USEC in one message ($reloading)" \
  grep -q '|RELOADING=1|MONOTONIC_USEC=[0-9]*|' <<<"$reloading"
mono=$(grep -o 'MONOTONIC_USEC=[0-9]*' <<<"$reloading" | cut -d= -f2)
skew=$(( ${reloading%%|*} - ${mono:-0} ))
check "MONOTONIC_USEC is CLOCK_MONOTONIC (received $skew us after it)" \
  test "$skew" -ge 0 -a "$skew" -lt 2000000
check "READY=1 after the reload" wait_until 10 ncount_ge READY=1 $((ready_before + 1))
check "that READY=1 follows RELOADING=1" \
  test "$(line_of READY=1 $((ready_before + 1)))" -gt "$(line_of RELOADING=1)"
assert_eq "at that READY=1 the added port (and every other) accepted (refused: none)" "" \
  "$(refused_at_ready $((ready_before + 1)))"
check "STATUS= names the added app" wait_until 10 status_is "4 apps, 0 connections"

# ---------------------------------------------------------------- a wedged worker stops the pings
rpt_spawn wedge "$NS_E" "${SDN[@]}" wedge --pid "$EDGE_PID" --thread rampart-w1 \
  --ready "$TDIR/wedged" --release "$TDIR/release" --timeout 20
wedge_pid=$RPT_LAST_PID
require "worker thread rampart-w1 held in a ptrace-stop" wait_file "$TDIR/wedged"
# A probe posted before the stop may still have been answered: one ping can follow. After two
# periods no more.
sleep 0.7
pings=$(ncount WATCHDOG=1)
sleep 1.8
assert_eq "no WATCHDOG=1 for 1.8 s (6 periods) while rampart-w1 is stopped" "$pings" \
  "$(ncount WATCHDOG=1)"
check "the rest of the process runs (the API answers /healthz)" \
  ip netns exec "$NS_E" curl -fsS -m 3 -o /dev/null http://127.0.0.1:8788/healthz
check "the edge logs the silent worker" grep -q "has not answered" "$EDGE_LOG"
touch "$TDIR/release"
wait "$wedge_pid" || true
check "pings resume once the worker runs again" wait_until 10 ncount_ge WATCHDOG=1 $((pings + 2))

# ---------------------------------------------------------------- SIGTERM
stop_edge 15
assert_eq "exit status after SIGTERM" 0 "$EDGE_RC"
require "STOPPING=1 received" ncount_ge STOPPING=1 1
assert_eq "no WATCHDOG=1 after STOPPING=1" 0 \
  "$(tail -n +"$(line_of STOPPING=1)" "$NLOG" | grep -c -F '|WATCHDOG=1|' || true)"

# ---------------------------------------------------------------- abstract socket, no watchdog
: >"$NLOG"
write_config
{ seq 20000 20099; echo 21000; } >"$PORTS"
abstract="@rampart-notify-test-$$"
rpt_spawn listener2 "$NS_E" "${SDN[@]}" listen --socket "$abstract" --log "$NLOG" \
  --ready "$TDIR/listener2.ready" --ports-file "$PORTS" --host "$EDGE_IP"
wait_file "$TDIR/listener2.ready"
start_notified_edge "$abstract"
require "READY=1 through an abstract socket" wait_until 30 ncount_ge READY=1 1
assert_eq "ports accepted at READY=1 (abstract socket; refused: none)" "" "$(refused_at_ready 1)"
sleep 0.7
assert_eq "no WATCHDOG=1 without WATCHDOG_USEC" 0 "$(ncount WATCHDOG=1)"
stop_edge 15
check "STOPPING=1 through the abstract socket" ncount_ge STOPPING=1 1
rpt_finish
