#!/usr/bin/env bash
# integration: parallel
# PROXY protocol v1 and v2 toward real parsers: nginx (stream, `listen ... proxy_protocol`) and
# haproxy (`accept-proxy`) each report the address they parsed; the client must read back its OWN
# address and port through the edge. test_proxy_protocol_kernel_relay.sh: again with kernel_relay: on
# (the header is written by user space before the hand-off to the sockmap).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

# --- nginx stream origin: 9001 (for v1) and 9002 (for v2) answer "$proxy_protocol_addr port"
mkdir -p "$TDIR/nginx/logs"
cat >"$TDIR/nginx/nginx.conf" <<CFG
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
worker_processes 1;
pid $TDIR/nginx/nginx.pid;
error_log $TDIR/nginx/logs/error.log info;
events { worker_connections 256; }
stream {
  proxy_protocol_timeout 3s;
  server {
    listen $ORIGIN_IP:9001 proxy_protocol;
    return "\$proxy_protocol_addr \$proxy_protocol_port\n";
  }
  server {
    listen $ORIGIN_IP:9002 proxy_protocol;
    return "\$proxy_protocol_addr \$proxy_protocol_port\n";
  }
}
CFG
rpt_spawn nginx "$NS_O" nginx -p "$TDIR/nginx" -e "$TDIR/nginx/logs/error.log" -c "$TDIR/nginx/nginx.conf"
require "nginx listens on :9001" wait_port "$NS_O" tcp 9001
require "nginx listens on :9002" wait_port "$NS_O" tcp 9002

# --- haproxy origin: 9003 (v1) and 9004 (v2), HTTP mode answering "%ci %cp"
cat >"$TDIR/haproxy.cfg" <<CFG
global
  maxconn 256
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend pp
  bind $ORIGIN_IP:9003 accept-proxy
  bind $ORIGIN_IP:9004 accept-proxy
  http-request return status 200 content-type text/plain lf-string "%ci %cp\n"
CFG
rpt_spawn haproxy "$NS_O" haproxy -db -f "$TDIR/haproxy.cfg"
require "haproxy listens on :9003" wait_port "$NS_O" tcp 9003
require "haproxy listens on :9004" wait_port "$NS_O" tcp 9004

app() { # id edge_port origin_port proxy_protocol
  cat <<YAML
  - id: $1
    protocol: tcp/$2
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:$3"]
    proxy_protocol: "$4"
    timeouts: { connect: 2s, idle: 1h }
$(kernel_relay_yaml 4)
YAML
}
{
  edge_config_head "$TDIR/var"
  echo "apps:"
  app nginx-v1 9001 9001 v1
  app nginx-v2 9002 9002 v2
  app haproxy-v1 9003 9003 v1
  app haproxy-v2 9004 9004 v2
  app plain 9005 9001 off # no header: nginx must reject the connection
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
for port in 9001 9002 9003 9004 9005; do
  require "edge listens on :$port" wait_port "$NS_E" tcp "$port"
done

# readline PORT [SEND]: JSON {line, local_ip, local_port} from the client namespace.
readline() {
  local out
  out=$(ip netns exec "$NS_C" timeout 10 "${NETUTIL[@]}" readline --connect "$EDGE_IP:$1" \
    ${2:+--send "$2"} 2>/dev/null) ||
    out='{"line": "", "local_ip": "", "local_port": 0}'
  echo "$out"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

for v in v1 v2; do
  port=$([[ $v == v1 ]] && echo 9001 || echo 9002)
  r=$(readline "$port")
  echo "nginx $v: $r"
  assert_eq "nginx parses PROXY $v: client address and port" \
    "$CLIENT_IP $(field "$r" local_port)" "$(field "$r" line)"
done

for v in v1 v2; do
  port=$([[ $v == v1 ]] && echo 9003 || echo 9004)
  r=$(ip netns exec "$NS_C" timeout 10 "${NETUTIL[@]}" probe --connect "$EDGE_IP:$port" \
    --send $'GET / HTTP/1.0\r\nHost: rampart\r\n\r\n' 2>/dev/null || echo '{}')
  body=$(field "$r" data | tr -d '\r' | grep -v '^$' | tail -n 1 || true)
  echo "haproxy $v: local port $(field "$r" local_port), body '$body'"
  assert_eq "haproxy accept-proxy parses PROXY $v: client address and port" \
    "$CLIENT_IP $(field "$r" local_port)" "$body"
done

# Without PROXY protocol nginx must refuse: proves the header really is what made it work.
r=$(readline 9005 $'not a PROXY header\r\n')
assert_eq "app with proxy_protocol off sends no header (nginx closes without an answer)" "" "$(field "$r" line)"

check_event "connect event for the v2 app" "$TDIR/var/events.ndjson" 5 Event=connect Application=nginx-v2
kernel_relay_check 5 state # nginx may answer and close before the hand-off
check "edge still running" edge_alive
rpt_finish
