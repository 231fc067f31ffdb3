#!/usr/bin/env bash
# integration: parallel
# Self-inflicted config hazards (issue #10), through the file and through the API:
# - an app on api.listen's port: `rampart check` exits 1 naming api.listen; the API answers 409
#   10009 and nothing changes;
# - an origin that is the edge's own listener (a loop) or its API; origins on the edge host and
#   the metadata address through the API (400 11002);
# - tcp/1-65535: refused by check, by the API and by SIGHUP with edge.max_ports_per_app named;
#   the other apps keep serving and a later SIGHUP still works;
# - a port held by another process (plain, or SO_REUSEPORT as the API's own socket would be):
#   the API write fails as a whole (409, errno named), nothing is saved or opened, a SIGHUP
#   adding it is refused;
# - certificates removed before a restart: the edge starts, the other apps serve, the TLS apps
#   (from the file and from the API's store) are reported disabled (log, GET messages 11904,
#   rampart_app_disabled) and come back on SIGHUP once the files are back;
# - `rampart check -c` /dev/zero, a FIFO and a 5 MiB file return at once with exit 1 (and
#   `rampart apps create --json /dev/zero`).
# shellcheck disable=SC2317  # helpers below are invoked through check/wait_until
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18792
TOKEN="attack-token-$RPT_ID"
BASE="http://127.0.0.1:$API_PORT/client/v4/zones/default"
rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
require "echo origin listens" wait_port "$NS_O" tcp 7000
for name in file-tls api-tls; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$name.example.com" -keyout "$TDIR/$name.key" -out "$TDIR/$name.pem" >/dev/null 2>&1
done

head_yaml() {
  cat <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 1s
api:
  listen: 127.0.0.1:$API_PORT
  token: $TOKEN
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: stream
    protocol: tcp/7000
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
  - id: tls
    protocol: tcp/7443
    tls: flexible
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    tls_settings:
      certificates: [{ certificate: $TDIR/file-tls.pem, private_key: $TDIR/file-tls.key }]
YAML
}
CFG=$TDIR/rampart.yaml
head_yaml >"$CFG"

# check_says FILE FRAGMENT: `rampart check` exits 1 and prints FRAGMENT.
check_says() {
  local out rc=0
  out=$(timeout 5 "$RAMPART_BIN" check -c "$1" 2>&1) || rc=$?
  [[ $rc == 1 ]] && grep -qF -- "$2" <<<"$out" || { echo "    rc=$rc: $out" >&2; return 1; }
}

# ------------------------------------------------------------------ the file, through check
check "the base config is valid" "$RAMPART_BIN" check -c "$CFG"
{ head_yaml; printf '  - { id: on-api, protocol: tcp/%s, edge_ips: { type: static, ips: ["127.0.0.1"] }, origin_direct: ["tcp://%s:7000"] }\n' "$API_PORT" "$ORIGIN_IP"; } >"$TDIR/api-port.yaml"
check "check: an app on api.listen's port" check_says "$TDIR/api-port.yaml" \
  "apps[2].protocol: tcp/$API_PORT on 127.0.0.1 collides with api.listen (127.0.0.1:$API_PORT)"
sed "s/ips: \[\"127.0.0.1\"\]/ips: [\"0.0.0.0\"]/" "$TDIR/api-port.yaml" >"$TDIR/api-any.yaml"
check "check: a wildcard app on api.listen's port" check_says "$TDIR/api-any.yaml" "collides with api.listen"
{ head_yaml; printf '  - { id: loop, protocol: tcp/7100, origin_direct: ["tcp://%s:7000"] }\n' "$EDGE_IP"; } >"$TDIR/loop.yaml"
check "check: an origin that is the edge's own listener" check_says "$TDIR/loop.yaml" \
  "apps[2].origin_direct[0]: origin \"tcp://$EDGE_IP:7000\" is this edge's own listener (app \"stream\""
{ head_yaml; printf '  - { id: api-origin, protocol: tcp/7101, origin_direct: ["tcp://127.0.0.1:%s"] }\n' "$API_PORT"; } >"$TDIR/api-origin.yaml"
check "check: an origin that is the edge's API" check_says "$TDIR/api-origin.yaml" "is this edge's own API"
{ head_yaml; printf '  - { id: all, protocol: tcp/1-65535, edge_ips: { type: static, ips: ["10.77.9.9"] }, origin_direct: ["tcp://%s:7000"] }\n' "$ORIGIN_IP"; } >"$TDIR/all.yaml"
check "check: tcp/1-65535" check_says "$TDIR/all.yaml" \
  "apps[2].protocol: port range of 65535 ports exceeds edge.max_ports_per_app (1024)"
{ head_yaml; printf '  - { id: meta, protocol: tcp/7102, origin_direct: ["tcp://169.254.169.254:80"] }\n'; } >"$TDIR/meta.yaml"
out=$("$RAMPART_BIN" check -c "$TDIR/meta.yaml" 2>&1) && rc=0 || rc=$?
assert_eq "check: a metadata origin in the file is accepted (the operator's own file)" 0 "$rc"
check "check: ... with a note saying the API would refuse it" grep -qF "note: apps[2].origin_direct[0]" <<<"$out"

mkfifo "$TDIR/fifo"
head -c $((5 << 20)) /dev/zero | tr '\0' '#' >"$TDIR/huge.yaml"
for f in /dev/zero "$TDIR/fifo" "$TDIR/huge.yaml"; do
  t0=$(date +%s%N)
  out=$(timeout 10 "$RAMPART_BIN" check -c "$f" 2>&1) && rc=0 || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  assert_eq "check -c $(basename "$f") exits 1 (in ${ms} ms): $out" 1 "$rc"
  check "check -c $(basename "$f") returns within 1 s" test "$ms" -lt 1000
done

out=$(timeout 10 "$RAMPART_BIN" apps create --json /dev/zero --token x 2>&1) && rc=0 || rc=$?
assert_eq "apps create --json /dev/zero exits 1 at once: $out" 1 "$rc"

# ------------------------------------------------------------------ the running edge
start_edge "$NS_E" "$CFG"
require "edge listens on :7000" wait_port "$NS_E" tcp 7000
require "edge listens on :7443" wait_port "$NS_E" tcp 7443
echo_ok() { ip netns exec "$NS_C" timeout 10 "${NETUTIL[@]}" echo-check --connect "$EDGE_IP:$1" --count 1 --timeout 3 >/dev/null 2>&1; }
api() { # METHOD PATH [BODY]: the body, then the HTTP status on its own line
  local args=(-sS -X "$1" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$BASE$2")
  [[ -n ${3-} ]] && args+=(-H "Content-Type: application/json" --data-binary "$3")
  ip netns exec "$NS_E" curl "${args[@]}"
}
wait_until 30 api GET /spectrum/apps >/dev/null 2>&1 || true
# refused CODE STATUS BODY: a POST of BODY answers STATUS with error CODE (printed: the message).
refused() {
  local r
  r=$(api POST /spectrum/apps "$3")
  [[ $(tail -n1 <<<"$r") == "$2" && $(jget "$(sed '$d' <<<"$r")" 'j["errors"][0]["code"]') == "$1" ]] ||
    { echo "    got: $r" >&2; return 1; }
  jget "$(sed '$d' <<<"$r")" 'j["errors"][0]["message"]' >"$TDIR/last-error"
}
app_count() { jget "$(api GET /spectrum/apps | sed '$d')" 'len(j["result"])'; }
check "TLS app serves" wait_until 30 tls_echo_ok "$NS_C" "$EDGE_IP" 7443
check "stream app serves" wait_until 30 echo_ok 7000

check "API: an app on api.listen's port is 409 10009" refused 10009 409 \
  "{\"protocol\":\"tcp/$API_PORT\",\"edge_ips\":{\"type\":\"static\",\"ips\":[\"127.0.0.1\"]},\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}"
check "... naming api.listen" grep -qF "collides with api.listen (127.0.0.1:$API_PORT)" "$TDIR/last-error"
api_listeners=$(ip netns exec "$NS_E" ss -Hltn "sport = :$API_PORT" | wc -l)
assert_eq "... and the API's port has one listener (the API's)" 1 "$api_listeners"
check "API: an origin that is the edge's own listener is 400 11002" refused 11002 400 \
  "{\"protocol\":\"tcp/7200\",\"origin_direct\":[\"tcp://$EDGE_IP:7000\"]}"
check "... named as the edge host itself" grep -qF "is an address of the edge host itself" "$TDIR/last-error"
check "API: a loopback origin is 400 11002" refused 11002 400 \
  '{"protocol":"tcp/7201","origin_direct":["tcp://127.0.0.1:22"]}'
check "... naming api.allow_private_origins" grep -qF "api.allow_private_origins" "$TDIR/last-error"
check "API: the metadata address is 400 11002" refused 11002 400 \
  '{"protocol":"tcp/7202","origin_direct":["tcp://169.254.169.254:80"]}'
check "API: tcp/1-65535 is 400" refused 10001 400 \
  "{\"protocol\":\"tcp/1-65535\",\"edge_ips\":{\"type\":\"static\",\"ips\":[\"10.77.9.9\"]},\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}"
check "... naming edge.max_ports_per_app" grep -qF "port range of 65535 ports exceeds edge.max_ports_per_app (1024)" "$TDIR/last-error"
assert_eq "none of these was stored" 2 "$(app_count)"
assert_eq "the edge opened no port for them" "" "$(ip netns exec "$NS_E" ss -Hltn "sport = :7200 or sport = :7201 or sport = :7202 or sport = :1" 2>/dev/null)"

# A port held by another process in the edge's namespace: plain, and SO_REUSEPORT (which the
# edge's own bind would silently share).
hold() { # PORT REUSEPORT(0|1)
  rpt_spawn "hold$1" "$NS_E" python3 -c '
import socket, sys, time
s = socket.socket()
if sys.argv[3] == "1": s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); time.sleep(120)' "$EDGE_IP" "$1" "$2"
}
hold 7300 0
hold 7301 1
require "another process holds :7301" wait_port "$NS_E" tcp 7301
require "another process holds :7300" wait_port "$NS_E" tcp 7300
check "API: an app on a port another process holds is 409 10009" refused 10009 409 \
  "{\"id\":\"busy\",\"protocol\":\"tcp/7300\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}"
check "... naming the address and errno" grep -qF "tcp $EDGE_IP:7300: bind $EDGE_IP:7300: Address already in use" "$TDIR/last-error"
check "API: ... also when it holds it with SO_REUSEPORT" refused 10009 409 \
  "{\"id\":\"shared\",\"protocol\":\"tcp/7301\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}"
# A range of which one port is held: the write fails whole; none of its ports opens.
check "API: a range with one held port is refused whole" refused 10009 409 \
  "{\"id\":\"range\",\"protocol\":\"tcp/7295-7300\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}"
assert_eq "... none of the range's other ports was left open" "" "$(ip netns exec "$NS_E" ss -Hltn "sport >= :7295 and sport <= :7299")"
r=$(api GET /spectrum/apps/busy)
assert_eq "the refused app was not saved (404)" 404 "$(tail -n1 <<<"$r")"
assert_eq ":7300 has one listener (the other process's)" 1 "$(ip netns exec "$NS_E" ss -Hltn "sport = :7300" | wc -l)"
assert_eq ":7301 has one listener (the other process's)" 1 "$(ip netns exec "$NS_E" ss -Hltn "sport = :7301" | wc -l)"
check "the previous apps still serve" wait_until 30 echo_ok 7000
check "... TLS too" wait_until 30 tls_echo_ok "$NS_C" "$EDGE_IP" 7443
# A write that can open its listener works, and is live at once.
r=$(api POST /spectrum/apps "{\"id\":\"ok\",\"protocol\":\"tcp/7302\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}")
assert_eq "API: a free port is accepted" 200 "$(tail -n1 <<<"$r")"
check "... and serves" wait_until 30 echo_ok 7302

# SIGHUP: a file whose new app's port is held, then tcp/1-65535: refused, the old config stays.
cp "$CFG" "$TDIR/good.yaml"
{ head_yaml; printf '  - { id: held, protocol: tcp/7300, origin_direct: ["tcp://%s:7000"] }\n' "$ORIGIN_IP"; } >"$CFG"
lines=$(wc -l <"$EDGE_LOG")
edge_reload
log_has_new() { tail -n +"$((lines + 1))" "$EDGE_LOG" | grep -F -- "$1" >/dev/null; }  # not -q: no SIGPIPE upstream
wait_log() { wait_until 30 log_has_new "$1"; } # FRAGMENT: appears in the edge log after line $lines
check "SIGHUP with a held port is refused" wait_log "reload of $CFG refused"
check "... naming the port" wait_log "cannot listen on tcp $EDGE_IP:7300"
cp "$TDIR/all.yaml" "$CFG"
lines=$(wc -l <"$EDGE_LOG")
edge_reload
check "SIGHUP with tcp/1-65535 is refused" wait_log "edge.max_ports_per_app (1024)"
check "the previous apps still serve" wait_until 30 echo_ok 7000
check "... and the API's app" wait_until 30 echo_ok 7302
cp "$TDIR/good.yaml" "$CFG"
printf '  - { id: later, protocol: tcp/7303, origin_direct: ["tcp://%s:7000"] }\n' "$ORIGIN_IP" >>"$CFG"
edge_reload
check "a later SIGHUP still works (new app listens)" wait_port "$NS_E" tcp 7303
check "... and serves" wait_until 30 echo_ok 7303
check "edge alive" edge_alive

# ------------------------------------------------------------------ certificates removed
r=$(api POST /spectrum/apps "{\"id\":\"apitls\",\"protocol\":\"tcp/7444\",\"tls\":\"flexible\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"],\"tls_settings\":{\"certificates\":[{\"certificate\":\"$TDIR/api-tls.pem\",\"private_key\":\"$TDIR/api-tls.key\"}]}}")
assert_eq "API: a TLS app with its own certificate" 200 "$(tail -n1 <<<"$r")"
check "... serves" wait_until 30 tls_echo_ok "$NS_C" "$EDGE_IP" 7444
stop_edge
assert_eq "edge stopped" 0 "$EDGE_RC"
mkdir -p "$TDIR/certs-away"
mv "$TDIR"/file-tls.* "$TDIR"/api-tls.* "$TDIR/certs-away/"
check "check says the file's TLS app would be disabled" check_says "$CFG" "(serve would start with this app disabled)"
lines=$(wc -l <"$EDGE_LOG")
start_edge "$NS_E" "$CFG"
require "the edge starts without the certificates" wait_port "$NS_E" tcp 7000
check "the stream app serves" wait_until 30 echo_ok 7000
check "the API's plain app serves" wait_until 30 echo_ok 7302
check "the file's TLS app is logged disabled" wait_log "app tls is disabled: certificate: cannot open $TDIR/file-tls.pem"
check "the API's TLS app is logged disabled" wait_log "app apitls is disabled"
wait_until 30 api GET /spectrum/apps >/dev/null 2>&1 || true
assert_eq "the file's TLS app has no listener" "" "$(ip netns exec "$NS_E" ss -Hltn "sport = :7443")"
assert_eq "the API's TLS app has no listener" "" "$(ip netns exec "$NS_E" ss -Hltn "sport = :7444")"
r=$(api GET /spectrum/apps/tls)
assert_eq "GET of the TLS app: a note with code 11904" 11904 "$(jget "$(sed '$d' <<<"$r")" 'j["messages"][0]["code"]')"
check "... saying it is disabled" grep -qF 'is disabled' <<<"$(jget "$(sed '$d' <<<"$r")" 'j["messages"][0]["message"]')"
r=$(api GET /spectrum/apps/apitls)
assert_eq "GET of the API's TLS app: 11904 too" 11904 "$(jget "$(sed '$d' <<<"$r")" 'j["messages"][0]["code"]')"
metrics=$(ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/metrics")
check "rampart_app_disabled{app=tls} 1" grep -qF 'rampart_app_disabled{colo="TEST",app="tls"} 1' <<<"$metrics"
check "rampart_app_disabled{app=stream} 0" grep -qF 'rampart_app_disabled{colo="TEST",app="stream"} 0' <<<"$metrics"
r=$(api POST /spectrum/apps "{\"id\":\"more\",\"protocol\":\"tcp/7304\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}")
assert_eq "other API writes still work" 200 "$(tail -n1 <<<"$r")"
lines=$(wc -l <"$EDGE_LOG")
edge_reload
check "a SIGHUP with the files still gone is accepted" wait_log "configuration reloaded"
check "... the stream app still serves" wait_until 30 echo_ok 7000
mv "$TDIR/certs-away/"* "$TDIR/"
edge_reload
check "the files back + SIGHUP: the TLS app listens again" wait_port "$NS_E" tcp 7443
check "... and serves" wait_until 30 tls_echo_ok "$NS_C" "$EDGE_IP" 7443
check "... the API's TLS app too" wait_until 30 tls_echo_ok "$NS_C" "$EDGE_IP" 7444

stop_edge
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
