#!/usr/bin/env bash
# The dashboard (/dashboard on the API listener) and `rampart top` against a real edge with real
# traffic: an echo app, a test GeoIP country DB mapping the client namespace (10.77.1.0/24) to
# the test country XX, echo round trips and two long-lived streams from the client, and refused
# connections from a blocked source (10.77.1.3) so the protection panel has drops.
# Over HTTP (curl): sign-in with a wrong token is 401 without a cookie; the cookie's flags; the
# cookie alone authenticates GETs only (a write without the CSRF token is 403); ?token= is no way
# in. In a browser (tests/browser/dashboard.spec.mjs: playwright-core driving Debian's
# chromium): sign in, open the app, wait for charts with non-zero data, the geographic table
# shows XX, the protection panel, a screenshot (kept in $DASH_ARTIFACTS, default
# build/test-artifacts/dashboard). If the browser cannot run, the test fails.
# shellcheck disable=SC2317  # helpers below are invoked through check/require
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18795
TOKEN="dash-token-$RPT_ID"
API="http://127.0.0.1:$API_PORT"
ZONE="$API/client/v4/zones/default"
COUNTRY=XX
BLOCKED_IP=10.77.1.3
ARTIFACTS=${DASH_ARTIFACTS:-$RPT_ROOT/build/test-artifacts/dashboard}
BROWSER_DIR=$RPT_ROOT/tests/browser
GU=(python3 "$RPT_HELPERS/guardutil.py")
mkdir -p "$ARTIFACTS"

ip -n "$NS_C" addr add "$BLOCKED_IP/24" dev "${RPT_IF}c0"
"$RPT_ROOT/tests/unit/guard/fixtures/make_test_mmdb.pl" country "$TDIR/country.mmdb" \
  "10.77.1.0/24=$COUNTRY"
"$RPT_ROOT/tests/unit/guard/fixtures/make_test_mmdb.pl" asn "$TDIR/asn.mmdb" "10.77.1.0/24=64500"

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
require "echo origin listens on :7000" wait_port "$NS_O" tcp 7000

{
  edge_api_yaml "127.0.0.1:$API_PORT" "$TOKEN"
  cat <<YAML
geoip:
  country_db: $TDIR/country.mmdb
  asn_db: $TDIR/asn.mmdb
ip_access_rules:
  - { mode: block, configuration: { target: ip, value: $BLOCKED_IP }, notes: "dashboard test" }
protection:
  # Generous per-source limits: nothing legitimate hits them, but sources are tracked (top sources).
  per_ip: { max_connections: 1000, new_connections_per_second: 1000, burst: 2000, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: echo
    protocol: tcp/7000
    dns: { type: CNAME, name: echo.example.com }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    ip_firewall: true
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :7000" wait_port "$NS_E" tcp 7000
require "API listens" wait_port "$NS_E" tcp "$API_PORT"

# ------------------------------------------------------------------ traffic
check "20 echo round trips through the edge" ip netns exec "$NS_C" timeout 30 \
  "${NETUTIL[@]}" echo-check --connect "$EDGE_IP:7000" --count 20
# Two streams stay open (and keep bytes flowing) until $TDIR/stop exists.
rpt_spawn streams "$NS_C" timeout 120 "${NETUTIL[@]}" stream --connect "$EDGE_IP:7000" --conns 2 \
  --rate 16384 --ready "$TDIR/streams.ready" --stop "$TDIR/stop" --max-seconds 100
STREAMS_PID=$RPT_LAST_PID
require "two long-lived streams are flowing" wait_file "$TDIR/streams.ready" 10
for _ in 1 2 3; do
  ip netns exec "$NS_C" "${GU[@]}" refused --connect "$EDGE_IP:7000" --hex 68690a \
    --bind "$BLOCKED_IP" >/dev/null 2>&1 || true
done

# ------------------------------------------------------------------ HTTP checks (curl)
# dcurl ARGS...: curl from the edge namespace (the API is on its loopback); prints the body, then
# the HTTP status on a last line; -D dumps headers into $TDIR/headers.
dcurl() { ip netns exec "$NS_E" curl -sS -D "$TDIR/headers" -w '\n%{http_code}' "$@"; }

out=$(dcurl "$API/dashboard")
assert_eq "GET /dashboard without a session: 200 (the sign-in page)" 200 "$(status_of "$out")"
check "the page is served from the binary (has the sign-in form)" grep -q 'id="login-form"' <<<"$out"
check "the page has a Content-Security-Policy" grep -qi '^content-security-policy:.*script-src .self.' "$TDIR/headers"
# Strict: nothing by default, and scripts, styles, fetches and forms only from the edge itself.
for directive in "default-src 'none'" "connect-src 'self'" "style-src 'self'" "form-action 'self'" \
  "frame-ancestors 'none'" "base-uri 'none'"; do
  check "CSP has $directive" grep -qiF "$directive" "$TDIR/headers"
done
check "CSP allows no inline script, eval or other host" bash -c \
  "! grep -i '^content-security-policy:' '$TDIR/headers' | grep -qiE 'unsafe-|https?:|\\*'"
out=$(dcurl "$API/dashboard/assets/app.js")
assert_eq "GET /dashboard/assets/app.js: 200" 200 "$(status_of "$out")"
check "app.js served as JavaScript" grep -qi '^content-type: text/javascript' "$TDIR/headers"
assert_eq "unknown asset: 404" 404 "$(status_of "$(dcurl "$API/dashboard/assets/nope.js")")"

out=$(dcurl -X POST -H 'Content-Type: application/json' --data "{\"token\":\"$TOKEN-x\"}" "$API/dashboard/login")
assert_eq "sign-in with a wrong token: 401" 401 "$(status_of "$out")"
check "no cookie set for a wrong token" bash -c "! grep -qi '^set-cookie:' '$TDIR/headers'"
out=$(dcurl -X POST --data-urlencode "token=$TOKEN-x" "$API/dashboard/login")
assert_eq "form sign-in with a wrong token: 401" 401 "$(status_of "$out")"
out=$(dcurl -X POST --data '' "$API/dashboard/login?token=$TOKEN")
assert_eq "token in the login URL: 400" 400 "$(status_of "$out")"
check "no cookie set for a token in the URL" bash -c "! grep -qi '^set-cookie:' '$TDIR/headers'"
out=$(dcurl "$API/dashboard?token=$TOKEN")
check "/dashboard?token= sets no cookie" bash -c "! grep -qi '^set-cookie:' '$TDIR/headers'"
assert_eq "API with ?token=: 401" 401 "$(status_of "$(dcurl "$ZONE/spectrum/apps?token=$TOKEN")")"

out=$(dcurl -X POST -H 'Content-Type: application/json' --data "{\"token\":\"$TOKEN\"}" "$API/dashboard/login")
assert_eq "sign-in with the token: 200" 200 "$(status_of "$out")"
cookie_line=$(grep -i '^set-cookie: rampart_session=' "$TDIR/headers" | tr -d '\r' || true)
SID=$(sed -n 's/^[Ss]et-[Cc]ookie: rampart_session=\([0-9a-f]*\);.*/\1/p' <<<"$cookie_line")
assert_eq "session id is 64 hex characters" 64 "${#SID}"
check "cookie is HttpOnly" grep -q '; HttpOnly' <<<"$cookie_line"
check "cookie is SameSite=Strict" grep -q '; SameSite=Strict' <<<"$cookie_line"
check "cookie has Path=/" grep -q '; Path=/' <<<"$cookie_line"
check "cookie is not Secure over plain HTTP" bash -c "! grep -q 'Secure' <<<'$cookie_line'"
check "the cookie does not contain the token" bash -c "! grep -qF '$TOKEN' <<<'$cookie_line'"
COOKIE="Cookie: rampart_session=$SID"
assert_eq "GET apps with the session cookie: 200" 200 "$(status_of "$(dcurl -H "$COOKIE" "$ZONE/spectrum/apps")")"
assert_eq "GET live analytics with the session cookie: 200" 200 \
  "$(status_of "$(dcurl -H "$COOKIE" "$ZONE/spectrum/analytics/live")")"
out=$(dcurl -H "$COOKIE" -X POST -H 'Content-Type: application/json' \
  --data "{\"protocol\":\"tcp/7009\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}" "$ZONE/spectrum/apps")
# A write needs the session's CSRF token from the dashboard's own page (test_dashboard_writes.sh).
assert_eq "POST with only the session cookie: 403 (no CSRF token, no Origin)" 403 "$(status_of "$out")"
out=$(dcurl -H "$COOKIE" -X DELETE "$ZONE/spectrum/apps/echo")
assert_eq "DELETE with only the session cookie: 403" 403 "$(status_of "$out")"
assert_eq "... and the app is still there" 200 \
  "$(status_of "$(dcurl -H "Authorization: Bearer $TOKEN" "$ZONE/spectrum/apps/echo")")"
assert_eq "a forged session id: 401" 401 \
  "$(status_of "$(dcurl -H "Cookie: rampart_session=$(printf 'a%.0s' {1..64})" "$ZONE/spectrum/apps")")"
out=$(dcurl -H "$COOKIE" -X POST -H 'Content-Type: application/json' --data '{}' "$API/dashboard/logout")
assert_eq "sign-out: 200" 200 "$(status_of "$out")"
assert_eq "the session id is dead after sign-out" 401 \
  "$(status_of "$(dcurl -H "$COOKIE" "$ZONE/spectrum/apps")")"

# ------------------------------------------------------------------ rampart top
# Kept for debugging: what the dashboard and top read.
for what in live protection; do
  ip netns exec "$NS_E" curl -sS -H "Authorization: Bearer $TOKEN" \
    "$ZONE/spectrum/analytics/$what" >"$ARTIFACTS/$what.json" || true
done
metrics=$(ip netns exec "$NS_E" curl -sS -H "Authorization: Bearer $TOKEN" "$API/metrics")
check "/metrics counts connections per country and per ASN" \
  grep -q "^rampart_connections_by_country_total{colo=\"TEST\",app=\"echo\",country=\"$COUNTRY\"} [1-9]" <<<"$metrics"
check "... and per ASN (AS64500)" \
  grep -q '^rampart_connections_by_asn_total{colo="TEST",app="echo",asn="64500"} [1-9]' <<<"$metrics"
# The live series is sampled every second: poll until a sample with the streams' bytes is in.
top_out=""
for _ in $(seq 15); do
  top_out=$(ip netns exec "$NS_E" "$RAMPART_BIN" top --once --api "$API" --token "$TOKEN" 2>&1) || true
  grep -Eq '^echo .* [1-9][0-9.]* (B|KiB|MiB)/s' <<<"$top_out" && break
  sleep 1
done
while IFS= read -r line; do echo "    top | $line"; done <<<"$top_out"
check "rampart top --once has the header" grep -q '^APP .*ACTIVE.*CONN/S.*IN/S.*OUT/S.*ERR/S.*CONNS.*DROPS' <<<"$top_out"
top_line=$(grep '^echo ' <<<"$top_out" || true)
check "rampart top --once lists the app with its protocol" grep -q '^echo  *tcp/7000 ' <<<"$top_line"
active=$(awk 'NF > 8 {print $3}' <<<"$top_line")
conns=$(awk 'NF > 8 {print $(NF-1)}' <<<"$top_line")
check "rampart top: active connections > 0 (got '$active')" test "${active:-0}" -gt 0
check "rampart top: connections since start >= 22 (got '$conns')" test "${conns:-0}" -ge 22
check "rampart top: a non-zero byte rate while the streams flow" grep -Eq ' [1-9][0-9.]* (B|KiB|MiB)/s' <<<"$top_line"
out=$(ip netns exec "$NS_E" "$RAMPART_BIN" top --once --api "$API" --token "$TOKEN-x" 2>&1) && rc=0 || rc=$?
assert_eq "rampart top with a wrong token exits 1" 1 "$rc"
out=$(ip netns exec "$NS_E" "$RAMPART_BIN" top --interval 0 --api "$API" --token "$TOKEN" 2>&1) && rc=0 || rc=$?
assert_eq "rampart top --interval 0 is a usage error (2)" 2 "$rc"
# The live mode redraws: two frames within 3 s (not a terminal, so frames are appended).
ip netns exec "$NS_E" timeout 3 "$RAMPART_BIN" top --interval 1 --api "$API" --token "$TOKEN" \
  >"$TDIR/top-live.txt" 2>&1 || true
check "rampart top (live) printed at least two frames" \
  test "$(grep -c '^rampart top ' "$TDIR/top-live.txt")" -ge 2

# ------------------------------------------------------------------ browser
require "node and Debian's chromium are installed (scripts/deps.sh)" \
  bash -c 'command -v node >/dev/null && test -x /usr/bin/chromium'
require "playwright-core is installed in tests/browser (scripts/deps.sh)" \
  test -f "$BROWSER_DIR/node_modules/playwright-core/package.json"
SHOT=$ARTIFACTS/dashboard-app.png
rm -f "$SHOT"
set +e
ip netns exec "$NS_E" env DASH_URL="$API" DASH_TOKEN="$TOKEN" DASH_APP=echo DASH_COUNTRY="$COUNTRY" \
  DASH_SHOT="$SHOT" HOME="$TDIR" timeout 120 node "$BROWSER_DIR/dashboard.spec.mjs" \
  >"$TDIR/browser.log" 2>&1
browser_rc=$?
set -e
sed 's/^/    browser | /' "$TDIR/browser.log"
assert_eq "browser test (sign in, charts with data, country $COUNTRY, protection, sign out)" 0 "$browser_rc"
check "screenshot saved as an artifact" test -s "$SHOT"
echo "screenshot: $SHOT"

# ------------------------------------------------------------------ teardown
touch "$TDIR/stop"
wait "$STREAMS_PID" && streams_rc=0 || streams_rc=$?
assert_eq "the streams relayed every byte while the dashboard was read" 0 "$streams_rc"
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
