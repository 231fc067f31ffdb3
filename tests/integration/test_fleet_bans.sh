#!/usr/bin/env bash
# Fleet store (issue #7, test 2): shared bans. A client that trips the autoban on edge 1 (junk
# instead of an SSH banner on a validate: ssh app) is refused by edges 2 and 3 within 1 s: edge 1
# writes /rampart/bans/<ip> on an etcd lease of the ban's duration and every edge applies it to
# all its workers (and its XDP map when attached). Another client is not affected. The ban ends
# everywhere after its duration.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
fleet_ns
trap 'rc=$?; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT

# Long enough that the checks made while the ban holds (several processes each, slow on a
# loaded machine) run well inside it.
BAN_S=8
etcd_cluster 1
require "etcd is healthy" etcd_healthy
rpt_spawn origin "$NS_F" "${NETUTIL[@]}" echo --listen 127.0.0.1:7000
require "origin listens" wait_port "$NS_F" tcp 7000
for n in 1 2 3; do
  fleet_config "$n" "  autoban: { violations: 2, window: 10s, duration: ${BAN_S}s }
  handshake_timeout: 2s
apps:
  - id: ssh
    protocol: tcp/9000
    validate: ssh
    origin_direct: [\"tcp://127.0.0.1:7000\"]"
  require "edge $n starts on etcd" fleet_edge "$n"
done
ALL=(--connect 127.0.0.11:9000 --connect 127.0.0.12:9000 --connect 127.0.0.13:9000)
require "the client gets through every edge" fuq until-echo --source 127.0.0.99 "${ALL[@]}" --timeout 5

fu junk --connect 127.0.0.11:9000 --source 127.0.0.99 --count 2 --gap 1.1
t_ban=$(date +%s.%N)
t=$(fu until-closed --source 127.0.0.99 --connect 127.0.0.12:9000 --connect 127.0.0.13:9000 --timeout 5 || true)
echo "  edges 2 and 3 refuse the banned client ${t}s after its last violation on edge 1"
check "... within 1 s" within_1s "$t"
check "edge 1 refuses it" fuq until-closed --source 127.0.0.99 --connect 127.0.0.11:9000 --timeout 1
check "edge 1 logged the ban and shared it" grep -q "fleet: ban of 127.0.0.99 shared" "$TDIR/edge1.log"
check "another client still gets through edges 2 and 3" fuq until-echo --source 127.0.0.98 \
  --connect 127.0.0.12:9000 --connect 127.0.0.13:9000 --timeout 1
check "the ban is in etcd on a lease" bash -c "ip netns exec $NS_F env ETCDCTL_API=3 etcdctl --endpoints $ETCD_ENDPOINTS get /rampart/bans/127.0.0.99 -w json | grep -q '\"lease\"'"
sleep 0.5
check "edge 2 still refuses it ($BAN_S s ban)" fuq until-closed --source 127.0.0.99 --connect 127.0.0.12:9000 --timeout 0.5
fu until-echo --source 127.0.0.99 "${ALL[@]}" --timeout $((BAN_S + 4)) >/dev/null || true
took=$(python3 -c "import time,sys; print(round(time.time() - float(sys.argv[1]), 1))" "$t_ban")
echo "  the client got through every edge again ${took}s after the ban"
check "the ban ended everywhere after its duration (${BAN_S} s, +1 s)" python3 -c \
  "import sys; t=float(sys.argv[1]); sys.exit(0 if $BAN_S - 1 <= t <= $BAN_S + 1 else 1)" "$took"
gone=""
for _ in $(seq 30); do
  [[ -z $(ip netns exec "$NS_F" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" get /rampart/bans/127.0.0.99 --print-value-only) ]] && { gone=ok; break; }
  sleep 0.2
done
assert_eq "the ban's key left etcd with its lease" "ok" "$gone"

# An operator lifts a ban through any edge's API: every edge lets the client in again.
fu junk --connect 127.0.0.11:9000 --source 127.0.0.97 --count 2 --gap 1.1
check "a second client is banned on every edge" fuq until-closed --source 127.0.0.97 "${ALL[@]}" --timeout 5
r=$(fapi 2 GET /rampart/bans)
check "GET .../rampart/bans on edge 2 lists it (the ban came from edge 1)" grep -q '"ip":"127.0.0.97"' <<<"$(body_of "$r")"
# The lift is timed from the DELETE's answer (etcd has the delete then): what is measured is
# the fleet's propagation, not the write's own latency, which is shown apart.
t0=$(date +%s.%N)
r=$(fapi 2 DELETE /rampart/bans/127.0.0.97)
assert_eq "DELETE .../rampart/bans/127.0.0.97 through edge 2 -> 200" 200 "$(status_of "$r")"
echo "  the DELETE answered in $(python3 -c "import time,sys; print(round(time.time() - float(sys.argv[1]), 2))" "$t0")s"
t=$(fu until-echo --source 127.0.0.97 "${ALL[@]}" --timeout 3 || true)
echo "  lifted on every edge ${t}s after the DELETE answered"
check "every edge lets it in again, within 1 s" within_1s "$t"
assert_eq "DELETE of a non-address -> 400" 400 "$(status_of "$(fapi 1 DELETE /rampart/bans/not-an-ip)")"

rpt_finish
