#!/usr/bin/env bash
# Fleet store (issue #7, test 5): the edge registry. Three edges register (colo, addresses,
# version, health) on etcd leases; `rampart edges` and GET .../rampart/edges list the live ones.
# kill -9 of an edge: it leaves the registry within its lease TTL (10 s); SIGTERM: at once (the
# lease is revoked). A single-box edge (SQLite) lists itself.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
fleet_ns
trap 'rc=$?; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT

etcd_cluster 1
require "etcd is healthy" etcd_healthy
for n in 1 2 3; do
  fleet_config "$n"
  require "edge $n starts on etcd" fleet_edge "$n"
done
colos() { # the colos `rampart edges` (through edge 1) lists
  ip netns exec "$NS_F" "$RAMPART_BIN" edges --api http://127.0.0.1:18801 --token "$FLEET_TOKEN" |
    awk 'NR > 1 {print $2}' | sort | xargs
}
assert_eq "rampart edges lists the three edges" "E1 E2 E3" "$(colos)"
r=$(fapi 2 GET /rampart/edges)
assert_eq "GET .../rampart/edges through edge 2: colo, addresses, version, health of each" \
  "200 E1:127.0.0.11:ok E2:127.0.0.12:ok E3:127.0.0.13:ok" \
  "$(status_of "$r") $(jget "$(body_of "$r")" '" ".join(e["colo"] + ":" + e["addresses"][0] + ":" + e["health"] for e in j["result"] if e["version"])')"
check "each record has a lease in etcd" bash -c "[[ \$(ip netns exec $NS_F env ETCDCTL_API=3 etcdctl --endpoints $ETCD_ENDPOINTS lease list | grep -c '^[0-9a-f]') -ge 3 ]]"

# ---------------------------------------------------------------- kill -9: the lease ends it
kill -KILL "${EDGE_PIDS[3]}"
t0=$(date +%s.%N)
gone=""
for _ in $(seq 150); do
  if [[ $(colos) == "E1 E2" ]]; then gone=$(python3 -c "import time,sys; print(round(time.time() - float(sys.argv[1]), 1))" "$t0"); break; fi
  sleep 0.1
done
echo "  edge 3 (kill -9) left the registry after ${gone:-?} s"
check "... within its lease TTL (10 s)" python3 -c "import sys; sys.exit(0 if sys.argv[1] and float(sys.argv[1]) <= 11 else 1)" "${gone:-}"

# ---------------------------------------------------------------- SIGTERM: revoked at once
kill -TERM "${EDGE_PIDS[2]}"
left=""
for _ in $(seq 30); do
  if [[ $(colos) == "E1" ]]; then left=ok; break; fi
  sleep 0.1
done
assert_eq "edge 2 (SIGTERM) left the registry within 3 s" "ok" "$left"

# ---------------------------------------------------------------- single box
mkdir -p "$TDIR/solo"
cat >"$TDIR/solo.yaml" <<YAML
edge: { colo: SOLO, listen: ["127.0.0.19"], data_dir: $TDIR/solo }
api: { listen: 127.0.0.1:18809, token: $FLEET_TOKEN }
YAML
rpt_spawn solo "$NS_F" "$RAMPART_BIN" serve -c "$TDIR/solo.yaml"
wait_until 30 ip netns exec "$NS_F" curl -sf http://127.0.0.1:18809/healthz >/dev/null || true
out=$(ip netns exec "$NS_F" "$RAMPART_BIN" edges --api http://127.0.0.1:18809 --token "$FLEET_TOKEN" -o json)
assert_eq "a SQLite edge lists itself" "SOLO sqlite True" \
  "$(jget "$out" '" ".join([j[0]["colo"], j[0]["store"], str(j[0]["self"])])')"

rpt_finish
