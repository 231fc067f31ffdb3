#!/usr/bin/env bash
# Data integrity through the edge: 256 MiB each way at once on one connection, SHA-256 checked on
# both ends; then a half-close: the client shuts its write side after sending, the origin reads
# until EOF and only then replies, and the reply must still come back through the edge.
# test_integrity_kernel_relay.sh runs it again with kernel_relay: on (RPT_KERNEL_RELAY).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

SIZE_MIB=${INTEGRITY_MIB:-256}
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$TDIR/up.bin"   # client -> origin
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$TDIR/down.bin" # origin -> client
head -c 3000001 /dev/urandom >"$TDIR/half.bin"               # half-close payload
up_sha=$(sha256sum <"$TDIR/up.bin" | cut -d' ' -f1)
down_sha=$(sha256sum <"$TDIR/down.bin" | cut -d' ' -f1)
half_sha=$(sha256sum <"$TDIR/half.bin" | cut -d' ' -f1)
bytes=$((SIZE_MIB << 20))

{
  edge_config_head "$TDIR/var"
  # The origins below accept exactly one connection: a health check's probe would take it.
  cat <<YAML
apps:
  - id: bulk
    protocol: tcp/5001
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:5001"]
    proxy_protocol: "off"
    timeouts: { connect: 2s, idle: 1h }
    load_balancing: { health_check: { enabled: false } }
$(kernel_relay_yaml 4)
  - id: halfclose
    protocol: tcp/5002
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:5002"]
    proxy_protocol: "off"
    timeouts: { connect: 2s, idle: 1h }
    load_balancing: { health_check: { enabled: false } }
$(kernel_relay_yaml 4)
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :5001" wait_port "$NS_E" tcp 5001
require "edge listens on :5002" wait_port "$NS_E" tcp 5002

# --- full duplex bulk transfer
rpt_spawn origin-duplex "$NS_O" "${NETUTIL[@]}" duplex --listen "$ORIGIN_IP:5001" \
  --file "$TDIR/down.bin" --out "$TDIR/origin.result" --timeout 60
origin_pid=$RPT_LAST_PID
require "origin listens on :5001" wait_port "$NS_O" tcp 5001
start=$SECONDS
set +e
ip netns exec "$NS_C" timeout 100 "${NETUTIL[@]}" duplex --connect "$EDGE_IP:5001" \
  --file "$TDIR/up.bin" --out "$TDIR/client.result" --timeout 60
client_rc=$?
set -e
wait "$origin_pid" 2>/dev/null || true
echo "duplex transfer of 2 x $SIZE_MIB MiB took $((SECONDS - start)) s"
assert_eq "client finished the duplex transfer without error" 0 "$client_rc"
assert_eq "origin received exactly the client's $SIZE_MIB MiB (sha256, length)" \
  "$up_sha $bytes" "$(cat "$TDIR/origin.result" 2>/dev/null || echo missing)"
assert_eq "client received exactly the origin's $SIZE_MIB MiB (sha256, length)" \
  "$down_sha $bytes" "$(cat "$TDIR/client.result" 2>/dev/null || echo missing)"

# --- half-close: client SHUT_WR, origin replies after EOF
rpt_spawn origin-hashreply "$NS_O" "${NETUTIL[@]}" hashreply --listen "$ORIGIN_IP:5002" --timeout 30
require "origin listens on :5002" wait_port "$NS_O" tcp 5002
reply=$(ip netns exec "$NS_C" timeout 40 "${NETUTIL[@]}" send --connect "$EDGE_IP:5002" \
  --file "$TDIR/half.bin" --timeout 30 || true)
assert_eq "after the client's half-close the origin's reply still arrives" \
  "$half_sha 3000001" "$(echo "$reply" | tr -d '\r')"

# --- the events account for the bytes
check_event "disconnect event for the bulk connection (Status 200)" \
  "$TDIR/var/events.ndjson" 5 Event=disconnect Application=bulk Status=200
ev=$(wait_event "$TDIR/var/events.ndjson" 5 Event=disconnect Application=bulk || true)
if [[ -n $ev ]]; then
  counts=$(python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e.get("ClientBytes"), e.get("OriginBytes"))' "$ev")
  echo "bulk disconnect event: ClientBytes OriginBytes = $counts"
  assert_eq "event byte counts (ClientBytes OriginBytes)" "$bytes $bytes" "$counts"
fi
check_event "disconnect event for the half-close connection" \
  "$TDIR/var/events.ndjson" 5 Event=disconnect Application=halfclose
kernel_relay_check 2
check "edge still running" edge_alive
rpt_finish
