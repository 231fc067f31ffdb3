#!/usr/bin/env bash
# integration: parallel
# `rampart apps` against the real REST API of `rampart serve`: list/get/create (flags, --json FILE,
# --json - with Spectrum's getting-started request), update (PATCH and --replace PUT), delete; the
# created app relays traffic; table and JSON output; API errors print `error CODE: message` and
# exit 1, usage errors exit 2, an unreachable or non-API server exits 3.
# If the edge binary has no REST API yet (the apps route answers 404), the test prints SKIP and
# passes; any other failure to reach the API fails.
# shellcheck disable=SC2317  # helpers below are invoked through check/require
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18793
API=http://127.0.0.1:$API_PORT
TOKEN="cli-token-$RPT_ID"
APP_PORT=7000

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:$APP_PORT" \
  --listen "$ORIGIN_IP:7001" --listen "$ORIGIN_IP:7002"
require "echo origin listens on :$APP_PORT" wait_port "$NS_O" tcp "$APP_PORT"
# Spectrum's request below asks for tls: full: TLS both legs, so its origin speaks TLS.
start_tls_echo tls-origin "$NS_O" "$ORIGIN_IP" 7443
require "TLS echo origin listens on :7443" wait_port "$NS_O" tcp 7443

{
  edge_api_yaml "127.0.0.1:$API_PORT" "$TOKEN"
  limits_off_yaml
  echo "apps: []"
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"

# The API must answer; a 404 on the apps route means this build has no REST API yet: SKIP.
status=""
for _ in $(seq 100); do
  status=$(ip netns exec "$NS_E" curl -s -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" "$API/client/v4/zones/default/spectrum/apps" || true)
  [[ $status != 000 && -n $status ]] && break
  edge_alive || break
  sleep 0.1
done
if [[ $status == 404 ]]; then
  echo "SKIP: $RAMPART_BIN serves no /client/v4/.../spectrum/apps route yet (HTTP 404)"
  rpt_finish
fi
require "the API answers GET .../spectrum/apps (HTTP ${status:-none})" test "$status" = 200

# cli ARGS...: run `rampart apps ARGS` in the edge namespace with the token in the environment;
# stdout to $TDIR/out, stderr to $TDIR/err; prints the exit status.
cli() {
  set +e
  ip netns exec "$NS_E" env RAMPART_API_TOKEN="$TOKEN" "$RAMPART_BIN" apps "$@" \
    >"$TDIR/out" 2>"$TDIR/err"
  local rc=$?
  set -e
  echo "$rc"
}
# with_api ARGS...: cli with --api pointing at the test's API.
with_api() {
  local action=$1
  shift
  cli "$action" --api "$API" "$@"
}
jq_out() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
  "$TDIR/out" "$1"; }
# row_field ID COLUMN: the COLUMN (1-based) of the table row whose first field is ID.
row_field() { awk -v id="$1" -v c="$2" '$1 == id { print $c }' "$TDIR/out"; }
# Poll until the app answers (a busy machine slows the answer, not the verdict).
wait_echo() { wait_until 30 tcp_echo_ok "$NS_C" "$EDGE_IP" "$1" 3; }
wait_tls_echo() { wait_until 30 tls_echo_ok "$NS_C" "$EDGE_IP" "$1"; }

# ---------------------------------------------------------------- list (empty)
assert_eq "list on an empty zone exits 0" 0 "$(with_api list)"
assert_eq "list prints the header only" "ID PROTOCOL DNS ORIGIN PROXY_PROTOCOL MODIFIED" \
  "$(tr -s ' ' <"$TDIR/out")"

# ---------------------------------------------------------------- create with flags
assert_eq "create with flags exits 0" 0 "$(with_api create --protocol "tcp/$APP_PORT" \
  --origin "tcp://$ORIGIN_IP:$APP_PORT" --dns-name echo.example.com --edge-ip "$EDGE_IP" \
  --proxy-protocol off --set timeouts.connect=2s)"
ID1=$(awk 'NR == 2 { print $1 }' "$TDIR/out")
check "create prints a table row with a 32-hex id ($ID1)" grep -Eq '^[0-9a-f]{32}$' <<<"$ID1"
assert_eq "table PROTOCOL column" "tcp/$APP_PORT" "$(row_field "$ID1" 2)"
assert_eq "table DNS column" echo.example.com "$(row_field "$ID1" 3)"
assert_eq "table ORIGIN column" "tcp://$ORIGIN_IP:$APP_PORT" "$(row_field "$ID1" 4)"
assert_eq "table PROXY_PROTOCOL column" off "$(row_field "$ID1" 5)"
check "table MODIFIED column is RFC 3339" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' \
  <<<"$(row_field "$ID1" 6)"
require "the created app relays through the edge" wait_echo "$APP_PORT"

# ---------------------------------------------------------------- get
assert_eq "get ID exits 0" 0 "$(with_api get "$ID1")"
assert_eq "get ID shows the app" "tcp/$APP_PORT" "$(row_field "$ID1" 2)"
assert_eq "get ID --json exits 0" 0 "$(with_api get "$ID1" --json)"
assert_eq "get --json prints the raw result" \
  "$ID1 tcp/$APP_PORT ['tcp://$ORIGIN_IP:$APP_PORT'] static ['$EDGE_IP'] 2s" \
  "$(jq_out '" ".join(map(str, [j["id"], j["protocol"], j["origin_direct"], j["edge_ips"]["type"], j["edge_ips"]["ips"], j["timeouts"]["connect"]]))')"
check "get --json has created_on and modified_on" test "$(jq_out '"created_on" in j and "modified_on" in j')" = True

# ---------------------------------------------------------------- create with --json FILE / -
# Spectrum's getting-started request, only the origin changed.
cat >"$TDIR/spectrum.json" <<JSON
{"protocol":"tcp/7001","dns":{"type":"CNAME","name":"ssh.example.com"},
 "origin_direct":["tcp://$ORIGIN_IP:7443"],"proxy_protocol":"off","ip_firewall":true,"tls":"full",
 "edge_ips":{"type":"dynamic","connectivity":"all"},"traffic_type":"direct","argo_smart_routing":true}
JSON
assert_eq "create --json FILE (Spectrum's request) exits 0" 0 \
  "$(with_api create --json "$TDIR/spectrum.json" -o json)"
ID2=$(jq_out 'j["id"]')
assert_eq "-o json prints the created app" "tcp/7001 ssh.example.com" \
  "$(jq_out 'j["protocol"] + " " + j["dns"]["name"]')"
check "the API's messages are printed as notes on stderr" grep -q '^note: ' "$TDIR/err"
require "the --json FILE app (tls: full) relays through the edge" wait_tls_echo 7001

set +e
ip netns exec "$NS_E" env RAMPART_API_TOKEN="$TOKEN" "$RAMPART_BIN" apps create --api "$API" \
  --json - --dns-name stdin.example.com >"$TDIR/out" 2>"$TDIR/err" <<JSON
{"protocol":"tcp/7002","dns":{"type":"CNAME","name":"overridden.example.com"},
 "origin_direct":["tcp://$ORIGIN_IP:7002"]}
JSON
rc=$?
set -e
assert_eq "create --json - (stdin) exits 0" 0 "$rc"
ID3=$(awk 'NR == 2 { print $1 }' "$TDIR/out")
assert_eq "flags override the --json body" stdin.example.com "$(row_field "$ID3" 3)"

# ---------------------------------------------------------------- list
assert_eq "list exits 0" 0 "$(with_api list)"
assert_eq "list shows the 3 apps" 4 "$(wc -l <"$TDIR/out")"
for id in "$ID1" "$ID2" "$ID3"; do
  check "list shows $id" grep -q "^$id " "$TDIR/out"
done
assert_eq "list --json exits 0" 0 "$(with_api list --json)"
curl_ids=$(ip netns exec "$NS_E" curl -s -H "Authorization: Bearer $TOKEN" \
  "$API/client/v4/zones/default/spectrum/apps" |
  python3 -c 'import json,sys; print(" ".join(sorted(a["id"] for a in json.load(sys.stdin)["result"])))')
assert_eq "list --json has the same apps as the API" "$curl_ids" \
  "$(jq_out '" ".join(sorted(a["id"] for a in j))')"
assert_eq "--zone default and RAMPART_API_URL work too" 0 "$(
  set +e
  ip netns exec "$NS_E" env RAMPART_API_TOKEN="$TOKEN" RAMPART_API_URL="$API" "$RAMPART_BIN" \
    apps list --zone default >/dev/null 2>&1
  echo $?
)"

# ---------------------------------------------------------------- update
assert_eq "update (PATCH) exits 0" 0 "$(with_api update "$ID1" --proxy-protocol v1)"
assert_eq "update shows the new proxy_protocol" v1 "$(row_field "$ID1" 5)"
with_api get "$ID1" --json >/dev/null
assert_eq "PATCH kept the other fields" "echo.example.com tcp://$ORIGIN_IP:$APP_PORT 2s" \
  "$(jq_out 'j["dns"]["name"] + " " + j["origin_direct"][0] + " " + j["timeouts"]["connect"]')"
assert_eq "update back to off exits 0" 0 "$(with_api update "$ID1" --proxy-protocol off)"
check "the app still relays after updates" wait_echo "$APP_PORT"

cat >"$TDIR/replace.json" <<JSON
{"protocol":"tcp/$APP_PORT","dns":{"type":"CNAME","name":"replaced.example.com"},
 "origin_direct":["tcp://$ORIGIN_IP:$APP_PORT"],"edge_ips":{"type":"static","ips":["$EDGE_IP"]}}
JSON
assert_eq "update --replace (PUT) exits 0" 0 \
  "$(with_api update "$ID1" --replace --json "$TDIR/replace.json" -o json)"
assert_eq "PUT replaced the app (timeouts back to default, new dns)" "replaced.example.com 5s" \
  "$(jq_out 'j["dns"]["name"] + " " + j["timeouts"]["connect"]')"

# ---------------------------------------------------------------- API errors: exit 1
# expect DESCRIPTION EXIT STDERR_REGEX ACTION ARGS...
expect() {
  local what=$1 want=$2 regex=$3
  shift 3
  assert_eq "$what: exit $want" "$want" "$(with_api "$@")"
  if grep -Eq "$regex" "$TDIR/err"; then pass "$what: stderr matches /$regex/"; else
    fail "$what: stderr '$(head -c 300 "$TDIR/err")' does not match /$regex/"
  fi
}
expect "origin without port" 1 '^error 11002: ' create --protocol tcp/7010 --origin "tcp://$ORIGIN_IP"
expect "IPv6 origin without brackets" 1 '^error 11002: ' create --protocol tcp/7010 \
  --origin "tcp://2001:db8::1:22"
expect "no origin at all" 1 '^error 11000: ' create --protocol tcp/7010 --dns-name x.example.com
expect "both origin_direct and origin_dns" 1 '^error 11000: ' create --protocol tcp/7010 \
  --origin "tcp://$ORIGIN_IP:7010" --origin-dns o.example.com --origin-port 7010
expect "unknown app" 1 '^error [0-9]+: ' get 0123456789abcdef0123456789abcdef
expect "unknown zone" 1 '^error [0-9]+: ' list --zone nosuchzone
expect "wrong token" 1 '^error 10000: ' list --token wrong
check "nothing on stdout after an API error" test ! -s "$TDIR/out"

# ---------------------------------------------------------------- usage errors: exit 2
assert_eq "no token: exit 2" 2 "$(
  set +e
  ip netns exec "$NS_E" env -u RAMPART_API_TOKEN "$RAMPART_BIN" apps list --api "$API" \
    2>"$TDIR/err" >/dev/null
  echo $?
)"
check "no token: says how to pass one" grep -q 'RAMPART_API_TOKEN' "$TDIR/err"
expect "bad --api URL" 2 '^--api: ' list --api 127.0.0.1:8788
expect "unknown action" 2 'unknown action' frobnicate
expect "get without an ID" 2 'needs an app ID' get
expect "create without an app" 2 'needs the app' create
expect "bad --json file" 1 '^--json: ' create --json "$TDIR/nonexistent.json"
echo 'not json' >"$TDIR/bad.json"
expect "--json file that is not JSON" 1 '^--json: ' create --json "$TDIR/bad.json"

# ---------------------------------------------------------------- no API there: exit 3
expect "nothing listening" 3 'cannot reach the API' list --api http://127.0.0.1:9
rpt_spawn notapi "$NS_E" python3 -m http.server --bind 127.0.0.1 18794 --directory "$TDIR"
if wait_port "$NS_E" tcp 18794; then
  expect "an HTTP server that is not the API" 3 'not a v4 API envelope|not a JSON object' list \
    --api http://127.0.0.1:18794
else
  fail "python http.server did not start"
fi

# ---------------------------------------------------------------- delete
assert_eq "delete exits 0" 0 "$(with_api delete "$ID3")"
assert_eq "delete says so" "deleted app $ID3" "$(cat "$TDIR/out")"
check "the deleted app's port closes" wait_port_closed "$NS_E" tcp 7002 5
expect "get after delete" 1 '^error [0-9]+: ' get "$ID3"
assert_eq "delete -o json exits 0" 0 "$(with_api delete "$ID2" -o json)"
assert_eq "delete -o json prints the result id" "$ID2" "$(jq_out 'j["id"]')"
assert_eq "list after deletes" 0 "$(with_api list)"
assert_eq "one app left" 2 "$(wc -l <"$TDIR/out")"
check "the remaining app still relays" wait_echo "$APP_PORT"

check "edge still running" edge_alive
rpt_finish
