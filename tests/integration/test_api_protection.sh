#!/usr/bin/env bash
# integration: parallel
# Per-app protection through the API (issue 15): an app created with
# protection.per_ip.new_connections_per_second: 2, burst: 2 refuses a client's rapid connections
# past the burst (real TCP from the client namespace); a PATCH raising the limit lifts that within
# a second; a PATCH without protection keeps it; the override survives an edge restart (stored
# and applied); "protection": null returns the app to the zone's limits; invalid values are 400
# with the field's JSON pointer, also when only the override over the zone's protection is invalid.
# shellcheck disable=SC2317  # helpers below are invoked through check/require/wait_until
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18798
TOKEN="prot-token-$RPT_ID"
BASE="http://127.0.0.1:$API_PORT/client/v4/zones/default"

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
require "echo origin listens on :7000" wait_port "$NS_O" tcp 7000

# The zone sets no per-source limits (and no autoban, so refusals ban nobody): only the app's
# override limits it.
{
  edge_api_yaml "127.0.0.1:$API_PORT" "$TOKEN"
  limits_off_yaml
  echo "  autoban: { violations: 0, window: 0s } # off; an override turning it on must set a window"
  echo "apps: []"
} >"$TDIR/rampart.yaml"

api() { # METHOD PATH [BODY]: the response body, then a line with the HTTP status
  local method=$1 path=$2 body=${3-}
  local args=(-sS -X "$method" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$BASE$path")
  if [[ -n $body ]]; then args+=(-H "Content-Type: application/json" --data-binary "$body"); fi
  ip netns exec "$NS_E" curl "${args[@]}"
}
api_up() { ip netns exec "$NS_E" curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null; }
# echoed N: how many of N back-to-back connections from the client got their echo.
echoed() {
  ip netns exec "$NS_C" timeout 60 "${NETUTIL[@]}" echo-check --connect "$EDGE_IP:7100" \
    --count "$1" --timeout 2 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["ok"])'
}
all_echoed() { [[ $(echoed 8) == 8 ]]; }
# limited: of 8 rapid connections, the burst (2) and at most one refilled token get through.
limited() {
  local n
  n=$(echoed 8)
  rpt_log "rapid connections echoed: $n of 8"
  ((n >= 1 && n <= 3))
}
protection_of() { # the app's echoed protection as compact JSON
  jget "$(body_of "$(api GET /spectrum/apps/prot)")" \
    'json.dumps(j["result"].get("protection"), sort_keys=True, separators=(",", ":"))'
}
# expect_invalid DESCRIPTION CODE POINTER BODY: POST BODY is 400 with CODE at POINTER.
expect_invalid() {
  local r
  r=$(api POST /spectrum/apps "$4")
  assert_eq "$1 -> 400, code $2 at $3" "400 $2 $3" \
    "$(status_of "$r") $(jget "$(body_of "$r")" 'j["errors"][0]["code"]') $(jget "$(body_of "$r")" 'j["errors"][0].get("source", {}).get("pointer")')"
}

start_edge "$NS_E" "$TDIR/rampart.yaml"
require "API answers /healthz" wait_until 30 api_up

APP='{"id":"prot","protocol":"tcp/7100","origin_direct":["tcp://'$ORIGIN_IP':7000"],"protection":{"per_ip":{"new_connections_per_second":2,"burst":2}}}'
r=$(api POST /spectrum/apps "$APP")
require "POST with protection -> 200" test "$(status_of "$r")" = 200
assert_eq "the create echoes the override as given" '{"per_ip":{"burst":2,"new_connections_per_second":2}}' \
  "$(jget "$(body_of "$r")" 'json.dumps(j["result"]["protection"], sort_keys=True, separators=(",", ":"))')"
require "the app listens on :7100" wait_port "$NS_E" tcp 7100
check "2/s burst 2: rapid connections past the burst are refused" limited

r=$(api PATCH /spectrum/apps/prot '{"protection":{"per_ip":{"new_connections_per_second":1000,"burst":1000}}}')
assert_eq "PATCH raising the limit -> 200" 200 "$(status_of "$r")"
check "the raised limit lets 8 rapid connections through (applied within 1-2 s)" wait_until 2 all_echoed

r=$(api PATCH /spectrum/apps/prot '{"ip_firewall":true}')
assert_eq "PATCH without protection -> 200" 200 "$(status_of "$r")"
assert_eq "a PATCH without protection keeps it" '{"per_ip":{"burst":1000,"new_connections_per_second":1000}}' "$(protection_of)"

r=$(api PATCH /spectrum/apps/prot '{"protection":{"per_ip":{"new_connections_per_second":2,"burst":2}}}')
assert_eq "PATCH back to 2/s -> 200" 200 "$(status_of "$r")"
stop_edge
assert_eq "edge stops cleanly" 0 "$EDGE_RC"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "API back after the restart" wait_until 30 api_up
require "the app listens again after the restart" wait_port "$NS_E" tcp 7100
assert_eq "the override survives the restart" '{"per_ip":{"burst":2,"new_connections_per_second":2}}' "$(protection_of)"
check "after the restart the stored override limits the client again" limited

r=$(api PATCH /spectrum/apps/prot '{"protection":null}')
assert_eq "PATCH protection: null -> 200" 200 "$(status_of "$r")"
assert_eq "protection: null removes the override" null "$(protection_of)"
check "without the override the zone's (no limit) applies" wait_until 2 all_echoed

BAD='{"protocol":"tcp/7200","origin_direct":["tcp://'$ORIGIN_IP':7000"],"protection":'
expect_invalid "a negative burst" 10001 /protection/per_ip/burst "$BAD"'{"per_ip":{"burst":-1}}}'
expect_invalid "an unknown field in per_ip" 10012 /protection/per_ip/burts "$BAD"'{"per_ip":{"burts":2}}}'
expect_invalid "ipv6_prefix 0" 10001 /protection/ipv6_prefix "$BAD"'{"ipv6_prefix":0}}'
expect_invalid "a zone-wide field" 10001 /protection/source_table_size "$BAD"'{"source_table_size":10}}'
expect_invalid "an unknown dry_run filter" 10001 /protection/dry_run/0 "$BAD"'{"dry_run":["everything"]}}'
# Valid alone, not over this zone's protection (its autoban window is 0): the error still names
# the field, so the dashboard shows it there.
expect_invalid "autoban.violations over a zone without a window" 10001 /protection/autoban/window \
  "$BAD"'{"autoban":{"violations":3}}}'
r=$(api GET /spectrum/apps)
assert_eq "no invalid app was stored" 1 "$(jget "$(body_of "$r")" 'len(j["result"])')"

rpt_finish
