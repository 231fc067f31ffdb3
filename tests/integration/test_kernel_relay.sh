#!/usr/bin/env bash
# kernel_relay: on (issue #14, TCP; docs/kernel-relay.md), with the edge dropped to nobody:nogroup
# after start (the sockmap is loaded before the drop; map updates need no capability):
#  1. backpressure: a client pushes 96 MiB as fast as it can into an origin that reads nothing;
#     what the edge holds (sent by the client, not in the client's send queue nor the origin's
#     receive queue) stays bounded while the client is stalled; once the origin reads, every
#     byte arrives exactly once (SHA-256, length) and the event counts them exactly;
#  2. RST: an origin that resets mid-stream resets the client (and the event says so);
#  3. idle timeout: traffic the kernel relays (which never wakes the worker) keeps a connection
#     past timeouts.idle; silence then closes it;
#  4. fallback: an edge that cannot load BPF programs (started as nobody) says so in one log
#     line, relays in user space and counts rampart_kernel_relay_fallbacks_total{unavailable}.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
KR=(python3 "$RPT_HELPERS/krutil.py")
TOKEN=test-token-$RPT_ID
chmod 777 "$TDIR"

write_config() { # USER_LINES
  cat <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 1s
$1
api:
  listen: 127.0.0.1:8788
  token: $TOKEN
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: bp
    protocol: tcp/7400
    origin_direct: ["tcp://$ORIGIN_IP:7400"]
    load_balancing: { health_check: { enabled: false } }
    kernel_relay: on
  - id: rst
    protocol: tcp/7401
    origin_direct: ["tcp://$ORIGIN_IP:7401"]
    load_balancing: { health_check: { enabled: false } }
    kernel_relay: on
  - id: idle
    protocol: tcp/7402
    origin_direct: ["tcp://$ORIGIN_IP:7402"]
    timeouts: { idle: 2s }
    kernel_relay: on
YAML
}
write_config "  user: nobody
  group: nogroup" >"$TDIR/rampart.yaml"
# Linux's default buffer limits in the edge's namespace (a namespace copies the host's, which
# may be raised): the bound below is stated against them.
ip netns exec "$NS_E" sysctl -qw net.ipv4.tcp_rmem="4096 131072 6291456"
ip netns exec "$NS_E" sysctl -qw net.ipv4.tcp_wmem="4096 16384 4194304"
rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7402"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :7400" wait_port "$NS_E" tcp 7400
require "echo origin listens on :7402" wait_port "$NS_O" tcp 7402
check "the edge dropped to nobody" wait_until 10 \
  bash -c "[[ \$(awk '/^Uid:/ {print \$2}' /proc/$EDGE_PID/status) == 65534 ]]"
assert_eq "no kernel-relay fallback line in the log" 0 "$(edge_log_count 'kernel relay \(tcp\): off')"
assert_eq "/metrics: rampart_kernel_path_up{path=kernel_relay_tcp} is 1" 1 \
  "$(ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8788/metrics |
    grep -c '^rampart_kernel_path_up{.*path="kernel_relay_tcp"} 1$')"

# --- 1. backpressure
BYTES=$((96 << 20))
rpt_spawn sink "$NS_O" "${KR[@]}" sink-later --listen "$ORIGIN_IP:7400" --go "$TDIR/go" \
  --out "$TDIR/sink.result" --timeout 60
require "slow origin listens on :7400" wait_port "$NS_O" tcp 7400
rpt_spawn push "$NS_C" "${KR[@]}" push --connect "$EDGE_IP:7400" --bytes "$BYTES" \
  --progress "$TDIR/progress" --out "$TDIR/push.result" --timeout 60
push_pid=$RPT_LAST_PID
# The client stalls: its progress stops moving for a second.
# shellcheck disable=SC2317  # invoked through wait_until
stalled() {
  local a b
  a=$(cat "$TDIR/progress" 2>/dev/null || echo 0)
  sleep 1
  b=$(cat "$TDIR/progress" 2>/dev/null || echo 0)
  ((a > 0 && a == b))
}
require "the client stalls against the origin that does not read" wait_until 30 stalled
sent=$(cat "$TDIR/progress")
# Queues of the one connection at each end (ss with a state filter: Recv-Q Send-Q first).
client_sendq=$(ip netns exec "$NS_C" ss -tnH state established "( dport = :7400 )" | awk '{s += $2} END {print s + 0}')
origin_recvq=$(ip netns exec "$NS_O" ss -tnH state established "( sport = :7400 )" | awk '{s += $1} END {print s + 0}')
held=$((sent - client_sendq - origin_recvq))
ip netns exec "$NS_E" ss -tmn state established "( sport = :7400 or dport = :7400 )" | sed 's/^/  edge: /'
echo "backpressure: client sent $sent of $BYTES; client Send-Q $client_sendq, origin Recv-Q" \
  "$origin_recvq; the edge holds $held bytes"
check "the client could not push everything into a stalled origin" test "$sent" -lt "$BYTES"
# Bound (docs/kernel-relay.md): the psock budget (4 MiB) + the edge's origin-side send buffer
# (tcp_wmem max, 4 MiB) + its client-side receive buffer (tcp_rmem max, 6 MiB, set above): 14 MiB.
check "the edge holds at most 16 MiB for the stalled connection ($held)" test "$held" -le $((16 << 20))
touch "$TDIR/go"
set +e
wait "$push_pid"
push_rc=$?
set -e
assert_eq "the client finished" 0 "$push_rc"
want=$(cat "$TDIR/push.result" 2>/dev/null || echo missing)
assert_eq "once the origin reads, every byte arrives exactly once (sha256, length)" \
  "$want" "$(cat "$TDIR/sink.result" 2>/dev/null || echo missing)"
ev=$(wait_event "$TDIR/var/events.ndjson" 10 Event=disconnect Application=bp || true)
assert_eq "the disconnect event counts the bytes exactly" "$BYTES 0" \
  "$(python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e["ClientBytes"], e["OriginBytes"])' "$ev" 2>/dev/null || echo '?')"

# --- 2. RST from the origin resets the client
rpt_spawn reset "$NS_O" "${KR[@]}" reset-after --listen "$ORIGIN_IP:7401" --bytes 5000
require "resetting origin listens on :7401" wait_port "$NS_O" tcp 7401
assert_eq "an origin's reset resets the client" rst \
  "$(ip netns exec "$NS_C" "${KR[@]}" expect-reset --connect "$EDGE_IP:7401" --bytes 5000)"
check_event "the disconnect event of the reset (status 444)" "$TDIR/var/events.ndjson" 10 \
  Event=disconnect Application=rst Status=444

# --- 3. idle timeout
out=$(ip netns exec "$NS_C" "${KR[@]}" ticker --connect "$EDGE_IP:7402" --every 0.5 --for 4)
echo "idle: $out"
check "traffic relayed by the kernel keeps the connection past idle (2 s)" grep -q '^alive' <<<"$out"
quiet=$(awk '{print $NF}' <<<"$out")
check "silence closes it 2 s after the last byte ($quiet s)" python3 -c "import sys; sys.exit(not 1.0 <= float('$quiet') <= 4.5)"
check_event "the idle close is a 497" "$TDIR/var/events.ndjson" 10 Event=disconnect Application=idle Status=497

kernel_relay_check 3
stop_edge 10

# --- 4. no capability: one line, user space, counted
mkdir -p "$TDIR/var2"
chmod 777 "$TDIR/var2"
sed "s#data_dir: $TDIR/var\$#data_dir: $TDIR/var2#" <(write_config "") >"$TDIR/nocap.yaml"
EDGE_LOG=$TDIR/edge-nocap.log
ip netns exec "$NS_E" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
  "$RAMPART_BIN" serve -c "$TDIR/nocap.yaml" >>"$EDGE_LOG" 2>&1 &
EDGE_PID=$!
RPT_PIDS+=("$EDGE_PID")
require "unprivileged edge listens on :7402" wait_port "$NS_E" tcp 7402
assert_eq "one log line says the kernel relay is off" 1 "$(edge_log_count 'kernel relay \(tcp\): off')"
assert_eq "echo through the user-space relay" tick \
  "$(ip netns exec "$NS_C" "${KR[@]}" ticker --connect "$EDGE_IP:7402" --every 0.1 --for 0.3 >/dev/null && echo tick)"
check "the fallback is counted (unavailable)" wait_until 5 \
  bash -c "[[ \$(ip netns exec $NS_E curl -sf -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:8788/metrics | grep -c '^rampart_kernel_relay_fallbacks_total{.*reason=\"unavailable\"} 1') == 1 ]]"
assert_eq "/metrics: rampart_kernel_path_up{path=kernel_relay_tcp} is 0" 1 \
  "$(ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8788/metrics |
    grep -c '^rampart_kernel_path_up{.*path="kernel_relay_tcp"} 0$')"
check "edge still running" edge_alive
rpt_finish
