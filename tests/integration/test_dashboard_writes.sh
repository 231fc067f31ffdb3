#!/usr/bin/env bash
# integration: parallel
# Writes from the dashboard (issue #15), over HTTP with curl against a real edge: a write by
# session cookie needs the session's X-CSRF-Token and the API's own Origin / Sec-Fetch-Site
# (each missing or foreign one is 403 and changes nothing); the accepted writes (apps, rules,
# bans, sign-out everywhere) are in the audit log as "dashboard session:<hash>"; a cross-site
# sign-in is refused; a read token (api.tokens scope read) cannot write, by bearer nor through a
# session it signed in; the idle timeout ends an unused session (api.session_idle_timeout 10s)
# while use keeps it alive; sign-out everywhere ends every session; a new viewer token (SIGHUP)
# ends only the sessions signed in with the old one; and the access rule hits count a refused TCP
# connection from a blocked client namespace (.../access_rules/hits and
# rampart_access_rule_refused_total), kept across the reload.
# shellcheck disable=SC2317  # helpers below are invoked through check
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18797
TOKEN="dash-writes-$RPT_ID-admin"
VIEWER="dash-writes-$RPT_ID-viewer"
API="http://127.0.0.1:$API_PORT"
ORIGIN="Origin: $API"
SAME="Sec-Fetch-Site: same-origin"
ZONE="$API/client/v4/zones/default"
BLOCKED_IP=10.77.1.3
GU=(python3 "$RPT_HELPERS/guardutil.py")
ip -n "$NS_C" addr add "$BLOCKED_IP/24" dev "${RPT_IF}c0"

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
require "echo origin listens on :7000" wait_port "$NS_O" tcp 7000

{
  edge_api_yaml "127.0.0.1:$API_PORT" "$TOKEN"
  cat <<YAML
  tokens:
    - { name: viewer, token: $VIEWER, scope: read }
  session_idle_timeout: 10s
ip_access_rules:
  - { id: block-client, mode: block, configuration: { target: ip, value: $BLOCKED_IP } }
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: echo
    protocol: tcp/7000
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    ip_firewall: true
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :7000" wait_port "$NS_E" tcp 7000
require "API listens" wait_port "$NS_E" tcp "$API_PORT"

# dcurl ARGS...: curl from the edge namespace (the API is on its loopback); prints the body, then
# the HTTP status on a last line; -D dumps headers into $TDIR/headers.
dcurl() { ip netns exec "$NS_E" curl -sS -D "$TDIR/headers" -w '\n%{http_code}' "$@"; }
code_of() { jget "$(body_of "$1")" 'j["errors"][0]["code"] if j["errors"] else 0'; }
bearer() { dcurl -H "Authorization: Bearer $TOKEN" "$@"; }
app_count() { jget "$(body_of "$(bearer "$ZONE/spectrum/apps")")" 'len(j["result"])'; }
rule_count() { jget "$(body_of "$(bearer "$ZONE/firewall/access_rules/rules")")" 'len(j["result"])'; }
# sign_in TOKEN: prints the new session id.
sign_in() {
  dcurl -X POST -H 'Content-Type: application/json' --data "{\"token\":\"$1\"}" \
    "$API/dashboard/login" >/dev/null
  sed -n 's/^[Ss]et-[Cc]ookie: rampart_session=\([0-9a-f]*\);.*/\1/p' "$TDIR/headers" | tr -d '\r'
}
csrf_of() { jget "$(body_of "$(dcurl -H "Cookie: rampart_session=$1" "$API/dashboard/session")")" 'j["result"]["csrf_token"]'; }
who_of() { echo "dashboard session:$(printf %s "$1" | sha256sum | cut -c1-8)"; }
# audited METHOD PATH_SUFFIX STATUS WHO: an audit line of the edge log says so.
audited() {
  grep -F '"method":"'"$1"'"' "$EDGE_LOG" | grep -F "$2\"" | grep -F "\"status\":$3," |
    grep -qF "\"who\":\"$4\""
}
APP_BODY="{\"protocol\":\"tcp/7009\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}"

# ------------------------------------------------------------------ the session and its token
SID=$(sign_in "$TOKEN")
require "sign-in with the admin token gives a session" test "${#SID}" -eq 64
COOKIE="Cookie: rampart_session=$SID"
WHO=$(who_of "$SID")
out=$(dcurl -H "$COOKIE" "$API/dashboard/session")
assert_eq "GET /dashboard/session: 200" 200 "$(status_of "$out")"
assert_eq "... scope write, who names the session" "write $WHO" \
  "$(jget "$(body_of "$out")" 'j["result"]["scope"] + " " + j["result"]["who"]')"
assert_eq "... a 64-hex CSRF token, expires in 12 h, idle in <= 10 s" "64 True 43200 True" \
  "$(jget "$(body_of "$out")" '"%d %s %d %s" % (len(j["result"]["csrf_token"]), all(c in "0123456789abcdef" for c in j["result"]["csrf_token"]), j["result"]["expires_in"], 0 < j["result"]["idle_expires_in"] <= 10)')"
CSRF=$(csrf_of "$SID")
assert_eq "the sign-in of another session has another CSRF token" "different" \
  "$([[ $(csrf_of "$(sign_in "$TOKEN")") != "$CSRF" ]] && echo different)"

# ------------------------------------------------------------------ refused cookie writes
apps_before=$(app_count)
post_app() { dcurl -H "$COOKIE" -X POST -H 'Content-Type: application/json' "$@" --data "$APP_BODY" "$ZONE/spectrum/apps"; }
out=$(post_app)
assert_eq "cookie POST without CSRF token nor Origin: 403" "403 10403" "$(status_of "$out") $(code_of "$out")"
out=$(post_app -H "$ORIGIN" -H "$SAME")
assert_eq "cookie POST from our origin without the CSRF token: 403 10403" "403 10403" "$(status_of "$out") $(code_of "$out")"
out=$(post_app -H "$ORIGIN" -H "$SAME" -H "X-CSRF-Token: ${CSRF%?}0")
assert_eq "cookie POST with a wrong CSRF token: 403 10403" "403 10403" "$(status_of "$out") $(code_of "$out")"
out=$(post_app -H "Origin: http://evil.example" -H "X-CSRF-Token: $CSRF")
assert_eq "cookie POST with the token but a foreign Origin: 403 10403" "403 10403" "$(status_of "$out") $(code_of "$out")"
out=$(post_app -H "$ORIGIN" -H "Sec-Fetch-Site: cross-site" -H "X-CSRF-Token: $CSRF")
assert_eq "cookie POST with the token but Sec-Fetch-Site cross-site: 403 10403" "403 10403" "$(status_of "$out") $(code_of "$out")"
out=$(dcurl -H "$COOKIE" -H "$ORIGIN" -X DELETE "$ZONE/spectrum/apps/echo")
assert_eq "cookie DELETE without the CSRF token: 403" 403 "$(status_of "$out")"
assert_eq "nothing changed: the apps are the same" "$apps_before" "$(app_count)"
assert_eq "... and the file app is still there" 200 "$(status_of "$(bearer "$ZONE/spectrum/apps/echo")")"
check "the refusals are counted in /metrics" grep -q '^rampart_api_forbidden_writes_total [1-9]' \
  <<<"$(bearer "$API/metrics")"

# ------------------------------------------------------------------ accepted cookie writes, audited
# Refused writes do not keep a session alive: a read first, so that a slow box cannot let the
# idle timeout end it during the refusals above.
assert_eq "the session still reads after the refusals" 200 "$(status_of "$(dcurl -H "$COOKIE" "$ZONE/spectrum/apps")")"
out=$(post_app -H "$ORIGIN" -H "$SAME" -H "X-CSRF-Token: $CSRF")
assert_eq "cookie POST with the CSRF token from our origin: 200" 200 "$(status_of "$out")"
APP=$(jget "$(body_of "$out")" 'j["result"]["id"]')
assert_eq "... the app exists" 200 "$(status_of "$(bearer "$ZONE/spectrum/apps/$APP")")"
check "... audited with the session (POST apps, 200, $WHO)" audited POST /spectrum/apps 200 "$WHO"
out=$(dcurl -H "$COOKIE" -H "$ORIGIN" -H "X-CSRF-Token: $CSRF" -X PATCH -H 'Content-Type: application/json' \
  --data '{"proxy_protocol":"v1"}' "$ZONE/spectrum/apps/$APP")
assert_eq "cookie PATCH with the token (Origin only, as older browsers): 200" 200 "$(status_of "$out")"
check "... audited with the session" audited PATCH "/spectrum/apps/$APP" 200 "$WHO"
out=$(dcurl -H "$COOKIE" -H "$SAME" -H "X-CSRF-Token: $CSRF" -X POST -H 'Content-Type: application/json' \
  --data '{"mode":"block","configuration":{"target":"ip","value":"192.0.2.99"},"notes":"from the dashboard"}' \
  "$ZONE/firewall/access_rules/rules")
assert_eq "cookie POST of an access rule (Sec-Fetch-Site only): 200" 200 "$(status_of "$out")"
RULE=$(jget "$(body_of "$out")" 'j["result"]["id"]')
check "... audited with the session" audited POST /firewall/access_rules/rules 200 "$WHO"
out=$(dcurl -H "$COOKIE" -H "$ORIGIN" -H "$SAME" -H "X-CSRF-Token: $CSRF" -X DELETE "$ZONE/rampart/bans/192.0.2.55")
check "cookie DELETE of a ban is audited with the session (status $(status_of "$out"))" \
  audited DELETE /rampart/bans/192.0.2.55 "$(status_of "$out")" "$WHO"
out=$(dcurl -H "$COOKIE" -H "$ORIGIN" -H "$SAME" -H "X-CSRF-Token: $CSRF" -X DELETE "$ZONE/spectrum/apps/$APP")
assert_eq "cookie DELETE of the app with the token: 200" 200 "$(status_of "$out")"
check "... audited with the session" audited DELETE "/spectrum/apps/$APP" 200 "$WHO"
assert_eq "validation errors point at the field (source.pointer)" "11002 /origin_direct/0" \
  "$(jget "$(body_of "$(bearer -X POST --data '{"protocol":"tcp/7010","origin_direct":["tcp://1.2.3:7000"]}' "$ZONE/spectrum/apps")")" \
    'str(j["errors"][0]["code"]) + " " + j["errors"][0]["source"]["pointer"]')"

# ------------------------------------------------------------------ login CSRF
login_from() { dcurl -X POST -H 'Content-Type: application/json' "$@" --data "{\"token\":\"$TOKEN\"}" "$API/dashboard/login"; }
out=$(login_from -H "Sec-Fetch-Site: cross-site")
assert_eq "a cross-site sign-in (Sec-Fetch-Site): 403" "403 10403" "$(status_of "$out") $(code_of "$out")"
check "... sets no cookie" bash -c "! grep -qi '^set-cookie:' '$TDIR/headers'"
out=$(login_from -H "Origin: http://evil.example")
assert_eq "a sign-in posted from another Origin: 403" 403 "$(status_of "$out")"
out=$(dcurl -X POST -H "Origin: http://evil.example" --data-urlencode "token=$TOKEN" "$API/dashboard/login")
assert_eq "... also as a form" 403 "$(status_of "$out")"
out=$(login_from -H "$ORIGIN" -H "$SAME")
assert_eq "a sign-in from the dashboard's own page: 200" 200 "$(status_of "$out")"

# ------------------------------------------------------------------ read scope
rules_before=$(rule_count)
out=$(dcurl -H "Authorization: Bearer $VIEWER" "$ZONE/spectrum/apps")
assert_eq "read token: GET apps 200" 200 "$(status_of "$out")"
out=$(dcurl -H "Authorization: Bearer $VIEWER" -X POST --data "$APP_BODY" "$ZONE/spectrum/apps")
assert_eq "read token: POST app 403 9109" "403 9109" "$(status_of "$out") $(code_of "$out")"
out=$(dcurl -H "Authorization: Bearer $VIEWER" -X DELETE "$ZONE/firewall/access_rules/rules/$RULE")
assert_eq "read token: DELETE rule 403" 403 "$(status_of "$out")"
VSID=$(sign_in "$VIEWER")
VCOOKIE="Cookie: rampart_session=$VSID"
assert_eq "a session signed in with the read token has scope read" read \
  "$(jget "$(body_of "$(dcurl -H "$VCOOKIE" "$API/dashboard/session")")" 'j["result"]["scope"]')"
out=$(dcurl -H "$VCOOKIE" -H "$ORIGIN" -H "$SAME" -H "X-CSRF-Token: $(csrf_of "$VSID")" \
  -X DELETE "$ZONE/firewall/access_rules/rules/$RULE")
assert_eq "read session: DELETE rule with its CSRF token 403 9109" "403 9109" "$(status_of "$out") $(code_of "$out")"
assert_eq "read session: GET rules 200" 200 "$(status_of "$(dcurl -H "$VCOOKIE" "$ZONE/firewall/access_rules/rules")")"
assert_eq "nothing changed: the rules are the same" "$rules_before" "$(rule_count)"

# ------------------------------------------------------------------ rule hits
hits() { jget "$(body_of "$(bearer "$ZONE/rampart/access_rules/hits")")" \
  "' '.join('%s=%s' % (r['id'], r['refused']) for r in j['result'] if r['id'] in ('block-client', '$RULE'))"; }
assert_eq "rule hits before any refusal (every rule listed, 0)" "block-client=0 $RULE=0" "$(hits)"
check "the client outside the rule reaches the app" ip netns exec "$NS_C" timeout 10 \
  "${NETUTIL[@]}" echo-check --connect "$EDGE_IP:7000" --count 2
check "a TCP connection from the blocked client ($BLOCKED_IP) is refused" ip netns exec "$NS_C" \
  "${GU[@]}" refused --connect "$EDGE_IP:7000" --hex 68690a --bind "$BLOCKED_IP"
assert_eq "its rule counts it: refused 1" "block-client=1 $RULE=0" "$(hits)"
check "... and /metrics has rampart_access_rule_refused_total for it" \
  grep -q '^rampart_access_rule_refused_total{colo="TEST",rule="block-client"} 1$' <<<"$(bearer "$API/metrics")"
assert_eq "a read session may read the hits" 200 "$(status_of "$(dcurl -H "$VCOOKIE" "$ZONE/rampart/access_rules/hits")")"

# ------------------------------------------------------------------ idle timeout
ISID=$(sign_in "$TOKEN")
ICOOKIE="Cookie: rampart_session=$ISID"
sleep 6
assert_eq "6 s after sign-in the session still reads (idle timeout 10 s)" 200 \
  "$(status_of "$(dcurl -H "$ICOOKIE" "$ZONE/spectrum/apps")")"
sleep 6
assert_eq "12 s after sign-in, 6 s after its last request: still signed in (use keeps it alive)" 200 \
  "$(status_of "$(dcurl -H "$ICOOKIE" "$ZONE/spectrum/apps")")"
sleep 10.5
assert_eq "after 10.5 s without a request: 401 (the idle timeout ended it)" 401 \
  "$(status_of "$(dcurl -H "$ICOOKIE" "$ZONE/spectrum/apps")")"
assert_eq "... and /dashboard/session says so" 401 "$(status_of "$(dcurl -H "$ICOOKIE" "$API/dashboard/session")")"

# ------------------------------------------------------------------ sign-out everywhere
A=$(sign_in "$TOKEN")
B=$(sign_in "$TOKEN")
V=$(sign_in "$VIEWER")
A_CSRF=$(csrf_of "$A")
out=$(dcurl -H "Cookie: rampart_session=$A" -H "$ORIGIN" -X POST -H 'Content-Type: application/json' \
  --data '{"everywhere":true}' "$API/dashboard/logout")
assert_eq "sign-out everywhere without the CSRF token: 403" 403 "$(status_of "$out")"
assert_eq "... the other session still reads" 200 "$(status_of "$(dcurl -H "Cookie: rampart_session=$B" "$ZONE/spectrum/apps")")"
out=$(dcurl -H "Cookie: rampart_session=$V" -H "$ORIGIN" -H "X-CSRF-Token: $(csrf_of "$V")" -X POST \
  -H 'Content-Type: application/json' --data '{"everywhere":true}' "$API/dashboard/logout")
assert_eq "sign-out everywhere by a read session: 403 9109" "403 9109" "$(status_of "$out") $(code_of "$out")"
out=$(dcurl -H "Cookie: rampart_session=$A" -H "$ORIGIN" -H "$SAME" -H "X-CSRF-Token: $A_CSRF" -X POST \
  -H 'Content-Type: application/json' --data '{"everywhere":true}' "$API/dashboard/logout")
assert_eq "sign-out everywhere with the CSRF token: 200" 200 "$(status_of "$out")"
check "... it ended at least the three sessions" test "$(jget "$(body_of "$out")" 'j["result"]["sessions_ended"]')" -ge 3
for s in "$A" "$B" "$V"; do
  assert_eq "session $(who_of "$s") ended" 401 "$(status_of "$(dcurl -H "Cookie: rampart_session=$s" "$ZONE/spectrum/apps")")"
done
check "sign-out everywhere is audited with the session" audited POST /dashboard/logout 200 "$(who_of "$A")"
assert_eq "the bearer token is untouched" 200 "$(status_of "$(bearer "$ZONE/spectrum/apps")")"

# ------------------------------------------------------------------ a token change (SIGHUP)
C=$(sign_in "$TOKEN")
W=$(sign_in "$VIEWER")
sed -i "s/token: $VIEWER,/token: $VIEWER-new,/" "$TDIR/rampart.yaml"
require "reload with a new viewer token" edge_reload_applied
viewer_session_ended() { [[ $(status_of "$(dcurl -H "Cookie: rampart_session=$W" "$ZONE/spectrum/apps")") == 401 ]]; }
check "the session signed in with the old viewer token ends (within 5 s)" wait_until 5 viewer_session_ended
assert_eq "the admin token's session stays" 200 "$(status_of "$(dcurl -H "Cookie: rampart_session=$C" "$ZONE/spectrum/apps")")"
assert_eq "the old viewer token: 401" 401 "$(status_of "$(dcurl -H "Authorization: Bearer $VIEWER" "$ZONE/spectrum/apps")")"
assert_eq "the new viewer token reads" 200 "$(status_of "$(dcurl -H "Authorization: Bearer $VIEWER-new" "$ZONE/spectrum/apps")")"
check "the log says the sessions of the changed token ended" grep -q 'api.tokens changed: .*have ended (1)' "$EDGE_LOG"
assert_eq "the reload kept the rule's hits (same id)" "block-client=1 $RULE=0" "$(hits)"

check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
