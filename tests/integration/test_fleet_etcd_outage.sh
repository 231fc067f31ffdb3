#!/usr/bin/env bash
# Fleet store (issue #7, test 3): etcd stopped for 10 s while traffic flows through two edges: no
# connection fails, API writes answer 503 with the envelope (code 10503) and reads still work;
# when etcd returns, a write through either edge reaches the other within 1 s. Then the watch gap:
# edge 2 is paused (SIGSTOP) while etcd restarts (its watch connection dies) and an app is written
# with etcdctl directly; resumed (SIGCONT), edge 2 re-establishes the watch from its last revision
# and relays that app: nothing is missed.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
fleet_ns
trap 'rc=$?; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT

fleet_steady 1 2

# ---------------------------------------------------------------- etcd down for 10 s
rpt_spawn traffic "$NS_F" timeout 60 "${FLEETUTIL[@]}" loop --connect 127.0.0.11:9000 \
  --connect 127.0.0.12:9000 --seconds 13 --interval 0.05
TRAFFIC_PID=$RPT_LAST_PID
sleep 1
etcd_stop m1
t_down=$SECONDS
r=$(fapi 1 POST /spectrum/apps '{"id":"during","protocol":"tcp/9001","origin_direct":["tcp://127.0.0.1:7000"]}')
assert_eq "POST through edge 1 while etcd is down -> 503, code 10503" "503 10503 False" \
  "$(status_of "$r") $(jget "$(body_of "$r")" 'str(j["errors"][0]["code"]) + " " + str(j["success"])')"
r=$(fapi 2 PATCH /spectrum/apps/steady '{"ip_firewall":false}')
assert_eq "PATCH through edge 2 while etcd is down -> 503" "503" "$(status_of "$r")"
r=$(fapi 2 DELETE /spectrum/apps/steady)
assert_eq "DELETE through edge 2 while etcd is down -> 503" "503" "$(status_of "$r")"
r=$(fapi 2 GET /spectrum/apps/steady)
assert_eq "reads still answer from the last known configuration" "200" "$(status_of "$r")"
sleep $((10 - (SECONDS - t_down)))
etcd_start m1
require "etcd is back" etcd_healthy
wait "$TRAFFIC_PID" && traffic_rc=0 || traffic_rc=$?
echo "  traffic: $(tail -n 1 "$TDIR/traffic.log")"
assert_eq "no connection failed through either edge during the outage" "0" "$traffic_rc"

# ---------------------------------------------------------------- writes resume, reach everyone
for from in 1 2; do
  to=$((3 - from))
  port=$((9100 + from))
  body='{"id":"after'$from'","protocol":"tcp/'$port'","origin_direct":["tcp://127.0.0.1:7000"]}'
  status=""
  for _ in $(seq 50); do # the edge's write succeeds once etcd has a leader again
    status=$(status_of "$(fapi "$from" POST /spectrum/apps "$body")")
    [[ $status == 503 ]] || break
    sleep 0.1
  done
  assert_eq "write through edge $from after etcd returned -> 200" "200" "$status"
  t=$(fu until-echo --connect "127.0.0.1$to:$port" --timeout 5 || true)
  echo "  edge $to relays edge $from's new app ${t}s after the write"
  check "... within 1 s" within_1s "$t"
done

# ---------------------------------------------------------------- the watch gap
kill -STOP "${EDGE_PIDS[2]}"
etcd_stop m1
etcd_start m1
require "etcd is back (edge 2 paused)" etcd_healthy
GAP='{"id":"gap","protocol":"tcp/9200","origin_direct":["tcp://127.0.0.1:7000"],"created_on":"2026-01-01T00:00:00Z","modified_on":"2026-01-01T00:00:00Z"}'
etcdctl_f put /rampart/apps/default/gap "$GAP" >/dev/null
check "edge 1 relays the app written with etcdctl" fuq until-echo --connect 127.0.0.11:9200 --timeout 3
kill -CONT "${EDGE_PIDS[2]}"
t=$(fu until-echo --connect 127.0.0.12:9200 --timeout 10 || true)
echo "  edge 2 relays it ${t}s after SIGCONT"
check "edge 2, paused through the write and etcd's restart, did not miss it" \
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 3.0 else 1)" "$t"
r=$(fapi 2 GET /spectrum/apps/gap)
assert_eq "edge 2's API shows it with the stored timestamps" "200 2026-01-01T00:00:00Z" \
  "$(status_of "$r") $(jget "$(body_of "$r")" 'j["result"]["modified_on"]')"
check "edge 2 logged the lost watch and came back" grep -q "watching etcd from revision" "$TDIR/edge2.log"

rpt_finish
