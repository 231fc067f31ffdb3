#!/usr/bin/env bash
# Fleet store (issue #7, test 1): a three-member etcd cluster and three edges. An app created
# through edge 1 proxies on edges 2 and 3 within 1 s; an update through edge 2 and a delete through
# edge 3 are seen on every edge; two concurrent conflicting PUTs (through edges 1 and 2, both based
# on the same modified_on) give exactly one 200 and one 409 (code 10009), and every edge ends with
# the winner. Also: `rampart edges` lists the three edges.
# shellcheck disable=SC2317,SC2001
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
# The analytics fan-out needs HTTPS APIs and a fleet credential (docs/fleet.md).
FLEET_API_TLS=1
fleet_ns
trap 'rc=$?; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT

etcd_cluster 3
require "three-member etcd cluster is healthy" etcd_healthy

rpt_spawn origin-a "$NS_F" "${NETUTIL[@]}" echo --listen 127.0.0.1:7000
ORIGIN_A_PID=$RPT_LAST_PID
rpt_spawn origin-b "$NS_F" "${NETUTIL[@]}" echo --listen 127.0.0.1:7001
require "origins listen" wait_port "$NS_F" tcp 7001
for n in 1 2 3; do
  fleet_config "$n"
  require "edge $n starts on etcd" fleet_edge "$n"
done

# ---------------------------------------------------------------- create through edge 1
r=$(fapi 1 POST /spectrum/apps '{"protocol":"tcp/9000","dns":{"type":"CNAME","name":"fleet.example.com"},"origin_direct":["tcp://127.0.0.1:7000"]}')
t=$(fu until-echo --connect 127.0.0.12:9000 --connect 127.0.0.13:9000 --timeout 5 || true)
assert_eq "create through edge 1 -> 200" "200" "$(status_of "$r")"
APP=$(jget "$(body_of "$r")" 'j["result"]["id"]')
echo "  edges 2 and 3 relay the new app ${t}s after the POST returned"
check "... within 1 s" within_1s "$t"
check "edge 1 relays it too" fuq until-echo --connect 127.0.0.11:9000 --timeout 2
r=$(fapi 3 GET "/spectrum/apps/$APP")
assert_eq "edge 3's API shows the app with edge 1's timestamps" "200 $(jget "$(body_of "$(fapi 1 GET "/spectrum/apps/$APP")")" 'j["result"]["modified_on"]')" \
  "$(status_of "$r") $(jget "$(body_of "$r")" 'j["result"]["modified_on"]')"

# ---------------------------------------------------------------- update through edge 2
r=$(fapi 2 PATCH "/spectrum/apps/$APP" '{"origin_direct":["tcp://127.0.0.1:7001"]}')
assert_eq "PATCH through edge 2 -> 200" "200" "$(status_of "$r")"
origin_of() { jget "$(body_of "$(fapi "$1" GET "/spectrum/apps/$APP")")" 'j["result"]["origin_direct"][0]'; }
edges_see_new_origin() { [[ $(origin_of 1) == tcp://127.0.0.1:7001 && $(origin_of 3) == tcp://127.0.0.1:7001 ]]; }
wait_until 1 edges_see_new_origin || true # the bound of the assertion below
for n in 1 3; do
  r=$(fapi "$n" GET "/spectrum/apps/$APP")
  assert_eq "edge $n sees the new origin within 1 s" "tcp://127.0.0.1:7001" \
    "$(jget "$(body_of "$r")" 'j["result"]["origin_direct"][0]')"
done
rpt_stop "$ORIGIN_A_PID" # the old origin is gone: every edge must use the new one
check "every edge relays to the new origin" fuq until-echo --connect 127.0.0.11:9000 \
  --connect 127.0.0.12:9000 --connect 127.0.0.13:9000 --timeout 2

# ---------------------------------------------------------------- analytics across the fleet
# aggregate/current sums every live edge (each asked with scope=local); colo_name picks one.
sleep 1.2 # one sampler tick on every edge after the traffic above
egress() { jget "$(body_of "$(fapi "$1" GET "/spectrum/analytics/aggregate/current?appID=$APP$2")")" \
  'sum(r["bytesEgress"] for r in j["result"])'; }
per_edge=()
for n in 1 2 3; do per_edge+=("$(egress "$n" "&scope=local")"); done
fleet_sum=$(egress 1 "")
echo "aggregate/current bytesEgress: edges ${per_edge[*]}, fleet sum from edge 1: $fleet_sum"
check "aggregate/current on edge 1 is the sum over the three edges" \
  test "$fleet_sum" -gt 0 -a "$fleet_sum" -eq "$((per_edge[0] + per_edge[1] + per_edge[2]))"
assert_eq "aggregate/current?colo_name=E2 through edge 1 is edge 2's own" "${per_edge[1]}" \
  "$(egress 1 "&colo_name=E2")"
# events/summary and events/bytime merge every live edge's rollup rows (scope=local: one edge's).
# The connections above were made to all three edges; their events are in each edge's store.
EVQ="metrics=count,bytesEgress,durationAvg&dimensions=appID,coloName&since=-10"
ev_count() { jget "$(body_of "$(fapi "$1" GET "/spectrum/analytics/events/$2?$EVQ$3")")" \
  "sum(d['metrics'][0] if isinstance(d['metrics'][0], (int, float)) else sum(d['metrics'][0]) for d in j['result']['data'] if d['dimensions'][0] == '$APP')"; }
# Late disconnect events may still reach a store: compare once the per-edge counts are steady.
ev_steady() {
  local before after
  before=$(for n in 1 2 3; do ev_count "$n" summary "&scope=local"; done | xargs)
  ev_fleet=$(ev_count 2 summary "")
  ev_bytime=$(ev_count 3 bytime "&time_delta=minute")
  after=$(for n in 1 2 3; do ev_count "$n" summary "&scope=local"; done | xargs)
  read -r -a ev_local <<<"$after"
  [[ $before == "$after" ]]
}
wait_until 5 ev_steady || true
echo "events/summary count: edges ${ev_local[*]}, fleet from edge 2: $ev_fleet, bytime from edge 3: $ev_bytime"
check "events/summary on edge 2 sums the three edges (each had events)" \
  test "${ev_local[0]}" -gt 0 -a "${ev_local[1]}" -gt 0 -a "${ev_local[2]}" -gt 0 \
  -a "$ev_fleet" -eq "$((ev_local[0] + ev_local[1] + ev_local[2]))"
assert_eq "events/bytime on edge 3 sums the same events over its intervals" "$ev_fleet" "$ev_bytime"
r=$(fapi 1 GET "/spectrum/analytics/events/summary?$EVQ")
assert_eq "the fleet answer names the edges it covers (messages)" "3" \
  "$(jget "$(body_of "$r")" "[m['message'] for m in j['messages'] if m['message'].startswith('summed over')][0].split()[2]")"
assert_eq "one group per app and colo: the three colos" "E1 E2 E3" \
  "$(jget "$(body_of "$r")" "' '.join(sorted(d['dimensions'][1] for d in j['result']['data'] if d['dimensions'][0] == '$APP'))")"
# edge=NAME (a name of .../rampart/edges): one edge's numbers, asked through any edge.
edge_name() { jget "$(body_of "$(fapi 1 GET /rampart/edges)")" "[e['name'] for e in j['result'] if e['colo'] == '$1'][0]"; }
E1_NAME=$(edge_name E1)
E2_NAME=$(edge_name E2)
assert_eq "events/summary?edge=<edge 2> through edge 1 is edge 2's own" "${ev_local[1]}" \
  "$(ev_count 1 summary "&edge=$E2_NAME")"
assert_eq "events/bytime?edge=<edge 1> through edge 1 is its own" "${ev_local[0]}" \
  "$(ev_count 1 bytime "&time_delta=minute&edge=$E1_NAME")"
r=$(fapi 1 GET "/spectrum/analytics/events/bytime?$EVQ&edge=$E2_NAME")
check "... the answer names the one edge it covers" grep -qF "summed over 1 edges: [\\\"$E2_NAME\\\"]" <<<"$(body_of "$r")"
r=$(fapi 1 GET "/spectrum/analytics/events/summary?$EVQ&edge=E9-nowhere-1")
assert_eq "edge= naming no live edge: 404" 404 "$(status_of "$r")"
r=$(fapi 1 GET "/spectrum/analytics/events/summary?$EVQ&edge=$E2_NAME&scope=local")
assert_eq "edge= with scope=local: 400" 400 "$(status_of "$r")"
# An edge that does not answer in time (SIGSTOP: a stalled process, still in the registry) is
# named in `messages`, and the answer covers the others (after the fan-out's 3 s per peer).
kill -STOP "${EDGE_PIDS[3]}"
r=$(fapi 1 GET "/spectrum/analytics/events/summary?$EVQ")
kill -CONT "${EDGE_PIDS[3]}"
assert_eq "edge 3 stalled: events/summary still answers" 200 "$(status_of "$r")"
check "... naming edge 3 as left out, with the reason" \
  grep -qE 'left out: E3-[^ ]+ \([^)]+\)' <<<"$(body_of "$r")"
assert_eq "... with the sum of the edges that answered" "$((ev_local[0] + ev_local[1]))" \
  "$(jget "$(body_of "$r")" "sum(d['metrics'][0] for d in j['result']['data'] if d['dimensions'][0] == '$APP')")"
# Guard drops per minute (Rampart's drops/bytime) over the fleet: rows written into each edge's
# store as its flusher would have (edge n: 2n+1 rate_limit drops 5 minutes ago; edge 2 also 4
# block_ip), summed through any edge, one edge's with edge=NAME, scope=local this edge's.
NOW_MIN=$(($(date +%s) / 60))
for n in 1 2 3; do
  python3 - "$TDIR/edge$n/analytics.db" "$NOW_MIN" "$APP" "$n" <<'PY'
import sqlite3, sys
db, now, app, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
c = sqlite3.connect(db, timeout=10)
with c:
    c.execute("INSERT INTO guard_drops (minute, app, reason, colo, count) VALUES (?,?,?,?,?)",
              (now - 5, app, "rate_limit", "E%d" % n, 2 * n + 1))
    if n == 2:
        c.execute("INSERT INTO guard_drops (minute, app, reason, colo, count) VALUES (?,?,?,?,?)",
                  (now - 5, app, "block_ip", "E2", 4))
c.close()
PY
done
drops_of() { jget "$(body_of "$(fapi "$1" GET "/rampart/analytics/drops/bytime?since=-30&time_delta=dekaminute$2")")" \
  "' '.join('%s=%d' % (d['reason'], d['total']) for d in j['result']['data']) + ' total=%d' % j['result']['total']"; }
assert_eq "drops/bytime through edge 3 sums the fleet's drops" "block_ip=4 rate_limit=15 total=19" "$(drops_of 3 "")"
assert_eq "... edge=<edge 2> through edge 1: edge 2's own" "block_ip=4 rate_limit=5 total=9" "$(drops_of 1 "&edge=$E2_NAME")"
assert_eq "... scope=local on edge 1: its own" "rate_limit=3 total=3" "$(drops_of 1 "&scope=local")"
assert_eq "... app= filters the fleet sum too" "total=0" "$(drops_of 2 "&app=no-such-app" | sed 's/^ //')"
r=$(fapi 2 GET "/rampart/analytics/drops/bytime?since=-30&edge=E9-nowhere-1")
assert_eq "... edge= naming no live edge: 404" 404 "$(status_of "$r")"
r=$(fapi 1 GET "/rampart/analytics/drops/bytime?since=-30")
check "... the answer names the edges it covers" grep -qF "summed over 3 edges" <<<"$(body_of "$r")"
r=$(FAPI_TOKEN=$FLEET_PEER_TOKEN fapi 2 GET "/rampart/analytics/drops/bytime?scope=local&format=rows&since=-30")
assert_eq "the fleet credential reads drops/bytime?scope=local&format=rows" \
  "200 [[$((NOW_MIN - 5)), '$APP', 'block_ip', 4], [$((NOW_MIN - 5)), '$APP', 'rate_limit', 5]]" \
  "$(status_of "$r") $(jget "$(body_of "$r")" 'sorted(j["result"]["rows"], key=lambda r: r[2])')"
# The fleet credential reads the fan-out's endpoints only; it changes nothing, reads nothing else.
r=$(FAPI_TOKEN=$FLEET_PEER_TOKEN fapi 2 GET "/spectrum/analytics/aggregate/current?scope=local")
assert_eq "the fleet credential reads aggregate/current?scope=local" 200 "$(status_of "$r")"
r=$(FAPI_TOKEN=$FLEET_PEER_TOKEN fapi 2 GET "/spectrum/analytics/events/summary?scope=local&format=rows")
assert_eq "... and events/summary?scope=local&format=rows" 200 "$(status_of "$r")"
r=$(FAPI_TOKEN=$FLEET_PEER_TOKEN fapi 2 GET "/spectrum/analytics/events/summary")
assert_eq "... but not the fleet answer (without scope=local: 401)" 401 "$(status_of "$r")"
r=$(FAPI_TOKEN=$FLEET_PEER_TOKEN fapi 2 GET /spectrum/apps)
assert_eq "... and nothing else (GET apps with it: 401)" 401 "$(status_of "$r")"
r=$(FAPI_TOKEN=$FLEET_PEER_TOKEN fapi 2 DELETE "/spectrum/apps/$APP")
assert_eq "... nor writes (DELETE with it: 401)" 401 "$(status_of "$r")"
# The dashboard of edge 1 shows the fleet: its edges and the app summed over them.
BROWSER_DIR=$RPT_ROOT/tests/browser
# The screenshot is kept with the other dashboard artifacts.
FLEET_SHOTS=${DASH_ARTIFACTS:-$RPT_ROOT/build/test-artifacts/dashboard}
mkdir -p "$FLEET_SHOTS"
rm -f "$FLEET_SHOTS"/fleet-dashboard*.png
if command -v node >/dev/null && [[ -x /usr/bin/chromium && -f $BROWSER_DIR/node_modules/playwright-core/package.json ]]; then
  set +e
  ip netns exec "$NS_F" env DASH_URL=https://127.0.0.1:18801 DASH_TOKEN="$FLEET_TOKEN" DASH_APP="$APP" \
    DASH_EDGES=3 DASH_BYTES="$fleet_sum" DASH_DROPS=19 DASH_SHOT="$FLEET_SHOTS/fleet-dashboard.png" HOME="$TDIR" \
    timeout 90 node "$BROWSER_DIR/fleet.spec.mjs" >"$TDIR/browser.log" 2>&1
  browser_rc=$?
  set -e
  sed 's/^/    browser | /' "$TDIR/browser.log"
  assert_eq "dashboard on edge 1: Fleet card with 3 edges and the app's fleet-wide bytes" 0 "$browser_rc"
  check "screenshot fleet-dashboard.png saved" test -s "$FLEET_SHOTS/fleet-dashboard.png"
else
  check "node, chromium and playwright-core are installed (scripts/deps.sh)" false
fi

# ---------------------------------------------------------------- delete through edge 3
r=$(fapi 3 DELETE "/spectrum/apps/$APP")
assert_eq "DELETE through edge 3 -> 200" "200" "$(status_of "$r")"
t=$(fu until-closed --connect 127.0.0.11:9000 --connect 127.0.0.12:9000 --timeout 5 || true)
echo "  edges 1 and 2 stopped listening ${t}s after the DELETE"
check "... within 1 s" within_1s "$t"
for n in 1 2; do
  r=$(fapi "$n" GET "/spectrum/apps/$APP")
  assert_eq "edge $n: GET the deleted app -> 404" "404" "$(status_of "$r")"
done

# ---------------------------------------------------------------- conflicting writes
r=$(fapi 1 POST /spectrum/apps '{"id":"contested","protocol":"tcp/9100","dns":{"type":"CNAME","name":"v0.example.com"},"origin_direct":["tcp://127.0.0.1:7001"]}')
assert_eq "create the contested app -> 200" "200" "$(status_of "$r")"
edge2_has_contested() { [[ $(status_of "$(fapi 2 GET /spectrum/apps/contested)") == 200 ]]; }
wait_until 30 edge2_has_contested || true
MOD=$(jget "$(body_of "$(fapi 2 GET /spectrum/apps/contested)")" 'j["result"]["modified_on"]')
body() { echo '{"id":"contested","protocol":"tcp/9100","dns":{"type":"CNAME","name":"'"$1"'.example.com"},"origin_direct":["tcp://127.0.0.1:7001"],"modified_on":"'"$MOD"'"}'; }
fapi 1 PUT /spectrum/apps/contested "$(body one)" >"$TDIR/put1" &
p1=$!
fapi 2 PUT /spectrum/apps/contested "$(body two)" >"$TDIR/put2" &
p2=$!
wait "$p1" "$p2"
s1=$(status_of "$(cat "$TDIR/put1")")
s2=$(status_of "$(cat "$TDIR/put2")")
assert_eq "concurrent PUTs through edges 1 and 2: one 200, one 409" "200 409" "$(printf '%s\n' "$s1" "$s2" | sort | xargs)"
if [[ $s1 == 200 ]]; then winner=one loser=$TDIR/put2; else winner=two loser=$TDIR/put1; fi
assert_eq "the 409 carries the envelope with code 10009" "False 10009" \
  "$(jget "$(body_of "$(cat "$loser")")" 'str(j["success"]) + " " + str(j["errors"][0]["code"])')"
contested_names() { for n in 1 2 3; do jget "$(body_of "$(fapi "$n" GET /spectrum/apps/contested)")" 'j["result"]["dns"]["name"]'; done; }
# every_edge_has NAME: all three edges serve the contested app with dns.name NAME.
every_edge_has() { [[ $(contested_names | sort -u | xargs) == "$1" ]]; }
wait_until 30 every_edge_has "$winner.example.com" || true
for n in 1 2 3; do
  assert_eq "edge $n ends with the winner's write" "$winner.example.com" \
    "$(jget "$(body_of "$(fapi "$n" GET /spectrum/apps/contested)")" 'j["result"]["dns"]["name"]')"
done
# Without modified_on the race is caught by etcd's compare-and-swap: never two silent successes
# that leave the edges disagreeing.
for round in 1 2 3; do
  fapi 1 PUT /spectrum/apps/contested '{"protocol":"tcp/9100","dns":{"type":"CNAME","name":"a'$round'.example.com"},"origin_direct":["tcp://127.0.0.1:7001"]}' >"$TDIR/put1" &
  p1=$!
  fapi 3 PUT /spectrum/apps/contested '{"protocol":"tcp/9100","dns":{"type":"CNAME","name":"b'$round'.example.com"},"origin_direct":["tcp://127.0.0.1:7001"]}' >"$TDIR/put3" &
  p3=$!
  wait "$p1" "$p3"
done
edges_agree() { [[ $(contested_names | sort -u | wc -l) == 1 ]]; }
wait_until 30 edges_agree || true
names=$(contested_names | sort -u | wc -l)
assert_eq "after racing PUTs without modified_on every edge agrees" "1" "$names"
stored=$(etcdctl_f get /rampart/apps/default/contested --print-value-only | python3 -c 'import json,sys; print(json.load(sys.stdin)["dns"]["name"])')
assert_eq "... with what etcd holds" "$stored" "$(jget "$(body_of "$(fapi 2 GET /spectrum/apps/contested)")" 'j["result"]["dns"]["name"]')"

# ---------------------------------------------------------------- registry
out=$(ip netns exec "$NS_F" env SSL_CERT_FILE="$FLEET_CA" "$RAMPART_BIN" edges --api https://127.0.0.1:18801 --token "$FLEET_TOKEN")
sed 's/^/  | /' <<<"$out"
assert_eq "rampart edges lists the three edges" "E1 E2 E3" "$(awk 'NR > 1 {print $2}' <<<"$out" | sort | xargs)"

rpt_finish
