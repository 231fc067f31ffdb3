#!/usr/bin/env bash
# The dashboard manages the edge (issue #15), in a real browser (tests/browser/manage.spec.mjs:
# playwright-core driving Debian's chromium) against a real edge: sign in, create an app through
# the form (an invalid origin first: the API's error is shown next to the field), connect through
# it from the client namespace and see the connection counted, edit its origin (the next
# connection reaches the new origin), add a block rule for the client (refused, and the rule's
# refused count rises), filter the rules, delete the rule (the client gets through again), delete
# the app (the confirmation names its open connection); lift an autoban; history ranges over
# rollups injected into the SQLite store (exact totals for 30 min, 24 h and 7 d); writes without
# the session's CSRF token (a cross-site and a same-site cross-origin form post from a page served
# by another origin, a fetch without the header) are refused and change nothing; a read-scope
# session sees no write control and cannot write; "sign out everywhere" ends the other sessions.
# Screenshots at 1280 px and at a phone's 390x844 are kept in $DASH_ARTIFACTS (default
# build/test-artifacts/dashboard).
# shellcheck disable=SC2317  # helpers below are invoked through check/require
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18796
ATTACK_PORT=18797
TOKEN="manage-token-$RPT_ID"
VIEWER_TOKEN="viewer-token-$RPT_ID"
API="http://127.0.0.1:$API_PORT"
BAN_IP=10.77.1.5
HIST_APP=hist-app
ARTIFACTS=${DASH_ARTIFACTS:-$RPT_ROOT/build/test-artifacts/dashboard}
BROWSER_DIR=$RPT_ROOT/tests/browser
mkdir -p "$ARTIFACTS"

require "node and Debian's chromium are installed (scripts/deps.sh)" \
  bash -c 'command -v node >/dev/null && test -x /usr/bin/chromium'
require "playwright-core is installed in tests/browser (scripts/deps.sh)" \
  test -f "$BROWSER_DIR/node_modules/playwright-core/package.json"

ip -n "$NS_C" addr add "$BAN_IP/24" dev "${RPT_IF}c0"

# Two origins that say who they are (a first line with their name), then echo.
cat >"$TDIR/banner.py" <<'PY'
import socket, sys, threading
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def serve(c):
    try:
        c.sendall((name + "\n").encode())
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
rpt_spawn origin-a "$NS_O" python3 "$TDIR/banner.py" "$ORIGIN_IP" 7001 origin-a
rpt_spawn origin-b "$NS_O" python3 "$TDIR/banner.py" "$ORIGIN_IP" 7002 origin-b
rpt_spawn ssh-origin "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7003"
require "origin a listens on :7001" wait_port "$NS_O" tcp 7001
require "origin b listens on :7002" wait_port "$NS_O" tcp 7002
require "the echo origin listens on :7003" wait_port "$NS_O" tcp 7003

# Autoban only for the "guarded" app (validate: ssh): two junk first-bytes from $BAN_IP ban it.
{
  edge_api_yaml "127.0.0.1:$API_PORT" "$TOKEN"
  cat <<YAML
  tokens:
    - { name: viewer, token: $VIEWER_TOKEN, scope: read }
protection:
  autoban: { violations: 0 }
apps:
  - id: guarded
    protocol: tcp/7300
    validate: ssh
    origin_direct: ["tcp://$ORIGIN_IP:7003"]
    protection: { autoban: { violations: 2, window: 10s, duration: 10m }, handshake_timeout: 2s }
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "API listens" wait_port "$NS_E" tcp "$API_PORT"
require "the guarded app listens on :7300" wait_port "$NS_E" tcp 7300

# ------------------------------------------------------------------ the page's files
# Every file the page names is compiled in and served; the page has nothing inline (the CSP
# forbids it: script-src 'self', style-src 'self').
index=$(ip netns exec "$NS_E" curl -sS "$API/dashboard")
mapfile -t assets < <(grep -o '/dashboard/assets/[A-Za-z0-9_.-]*' <<<"$index" | sort -u)
check "index.html names its scripts and styles (${#assets[@]} files)" test "${#assets[@]}" -ge 8
for a in "${assets[@]}"; do
  assert_eq "GET $a: 200" 200 "$(ip netns exec "$NS_E" curl -sS -o /dev/null -w '%{http_code}' "$API$a")"
done
no_inline() { ! grep -Eiq '<script>|<script [^>]*>[^<]|<style|[[:space:]]style=|[[:space:]]on[a-z]+=' <<<"$index"; }
check "index.html has no inline script, style or event handler" no_inline

# ------------------------------------------------------------------ an autoban to lift
check "two junk first-bytes from $BAN_IP to the ssh app" ip netns exec "$NS_C" \
  python3 "$RPT_HELPERS/fleetutil.py" junk --connect "$EDGE_IP:7300" --source "$BAN_IP" --count 2 --gap 1.1
banned() {
  ip netns exec "$NS_E" curl -sS -H "Authorization: Bearer $TOKEN" "$API/client/v4/zones/default/rampart/bans" |
    grep -q "\"ip\":\"$BAN_IP\""
}
require "$BAN_IP is banned" wait_until 5 banned

# ------------------------------------------------------------------ rollups of the past
# Rows for an app that had traffic before this edge started: 5 min, 3 h, 20 h, 30 h and 3 days ago
# (what the edge's flusher would have written then). Expected totals per range in the spec.
NOW_MIN=$(($(date +%s) / 60))
python3 - "$TDIR/var/analytics.db" "$NOW_MIN" "$HIST_APP" <<'PY'
import sqlite3, sys
db, now, app = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [  # minutes ago, event, count, bytes in, bytes out, status
    (5, "connect", 3, 0, 0, 0), (5, "disconnect", 3, 3000, 6000, 200),
    (180, "connect", 10, 0, 0, 0), (180, "disconnect", 8, 100000, 200000, 200),
    (180, "disconnect", 2, 0, 0, 522), (180, "originError", 2, 0, 0, 0),
    (1200, "connect", 20, 0, 0, 0), (1200, "disconnect", 17, 1000000, 2000000, 200),
    (1200, "disconnect", 3, 0, 0, 521), (1200, "clientFiltered", 4, 0, 0, 0),
    (1800, "connect", 100, 0, 0, 0), (1800, "disconnect", 100, 5000000, 5000000, 200),
    (4320, "connect", 1000, 0, 0, 0), (4320, "disconnect", 995, 7000000, 9000000, 200),
    (4320, "disconnect", 5, 0, 0, 499), (4320, "tlsError", 7, 0, 0, 0),
]
drops = [  # minutes ago, reason, count (guard_drops: Rampart's drops history)
    (180, "rate_limit", 6), (1200, "conn_limit", 2), (4320, "rate_limit", 50),
]
c = sqlite3.connect(db, timeout=10)
with c:
    for ago, ev, n, bi, be, st in rows:
        c.execute("INSERT INTO rollups (minute, app, event, ip_version, colo, count, bytes_ingress,"
                  " bytes_egress, duration_sum_ms, durations_count, status)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  (now - ago, app, ev, 4, "TEST", n, bi, be, 1000 * n if ev == "disconnect" else 0,
                   n if ev == "disconnect" else 0, st))
    for ago, reason, n in drops:
        c.execute("INSERT INTO guard_drops (minute, app, reason, colo, count) VALUES (?,?,?,?,?)",
                  (now - ago, app, reason, "TEST", n))
c.close()
PY
echo "  injected the rollups of $HIST_APP"

# ------------------------------------------------------------------ the other origin's page
# A page on another origin that posts a form to the API at once (enctype text/plain: its body is
# valid JSON, the classic way around "JSON only"); served on 127.0.0.1 (same site as the API,
# another origin: the SameSite=Strict cookie goes along) and reached as localhost (another site).
mkdir -p "$TDIR/attack"
cat >"$TDIR/attack/post.html" <<HTML
<!doctype html><meta charset=utf-8><title>not the dashboard</title>
<form method=post enctype=text/plain action="$API/client/v4/zones/default/spectrum/apps">
<input type=hidden name='{"id":"csrf-app","protocol":"tcp/7999","origin_direct":["tcp://$ORIGIN_IP:7001"],"x":"' value='"}'>
</form>
<script>document.forms[0].submit()</script>
HTML
rpt_spawn attacker "$NS_E" python3 -m http.server "$ATTACK_PORT" --bind 127.0.0.1 --directory "$TDIR/attack"
require "the other origin's page is served" wait_port "$NS_E" tcp "$ATTACK_PORT"

# ------------------------------------------------------------------ browser
rm -f "$ARTIFACTS"/manage-*.png
set +e
ip netns exec "$NS_E" env DASH_URL="$API" DASH_TOKEN="$TOKEN" DASH_VIEWER_TOKEN="$VIEWER_TOKEN" \
  DASH_NS_CLIENT="$NS_C" DASH_NETUTIL="$RPT_HELPERS/netutil.py" DASH_EDGE_IP="$EDGE_IP" \
  DASH_ORIGIN_IP="$ORIGIN_IP" DASH_CLIENT_IP="$CLIENT_IP" DASH_BAN_IP="$BAN_IP" DASH_HIST_APP="$HIST_APP" \
  DASH_ATTACK="http://127.0.0.1:$ATTACK_PORT/post.html" DASH_ATTACK_XSITE="http://localhost:$ATTACK_PORT/post.html" \
  DASH_SHOTS="$ARTIFACTS" HOME="$TDIR" timeout 150 node "$BROWSER_DIR/manage.spec.mjs" \
  >"$TDIR/browser.log" 2>&1
browser_rc=$?
set -e
sed 's/^/    browser | /' "$TDIR/browser.log"
assert_eq "browser test (apps, rules, bans, history, CSRF, scopes, sign-out everywhere)" 0 "$browser_rc"
for shot in overview-1280 app-form-1280 rules-1280 history-1280 overview-390 history-390 rules-390 app-form-390; do
  check "screenshot manage-$shot.png saved" test -s "$ARTIFACTS/manage-$shot.png"
done

# ------------------------------------------------------------------ after the browser
# audited METHOD PATH: the edge log has an audit line of that write, answered 200, by a session
# (a PATH ending in / matches any path under it).
audited() {
  local path="\"path\":\"/client/v4/zones/default/$2"
  [[ $2 == */ ]] || path+='"'
  grep -F 'audit {' "$EDGE_LOG" | grep -F "\"method\":\"$1\"" | grep -F "$path" |
    grep -F '"status":200' | grep -F '"who":"dashboard session:' >/dev/null  # not -q: no SIGPIPE upstream
}
check "audit: the app created by a dashboard session" audited POST spectrum/apps
check "audit: the app edited by a dashboard session" audited PUT spectrum/apps/web-app
check "audit: the app deleted by a dashboard session" audited DELETE spectrum/apps/web-app
check "audit: the rule added by a dashboard session" audited POST firewall/access_rules/rules
check "audit: the ban lifted by a dashboard session" audited DELETE "rampart/bans/$BAN_IP"
check "audit: the rule deleted by a dashboard session" audited DELETE firewall/access_rules/rules/
check "no audit line of an app csrf-app (the forged posts changed nothing)" \
  bash -c "! grep -F 'audit {' '$EDGE_LOG' | grep -q 'csrf-app'"
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
