#!/usr/bin/env bash
# integration: parallel
# Issue #10 in a fleet: an autoban of an IPv6 client is a ban of its /64 (protection.ipv6_prefix)
# on every edge. Two edges on etcd; a client of fd77:99::/64 that fails the SSH validator twice on
# edge 1 is banned there as fd77:99::/64, edge 1 shares the ban under /rampart/bans/fd77:99::/64,
# and edge 2 then refuses a *different* address of that /64 while a client of another prefix
# still gets through. DELETE .../rampart/bans/<any address of the /64> on edge 2 lifts it on
# both edges.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
fleet_ns
trap 'rc=$?; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT
SU=(python3 "$RPT_HELPERS/sourceutil.py")
NET=fd77:99::/64   # the banned client's /64, every address of it local (AnyIP) for freebind
OTHER=fd77:5::99   # a client of another prefix
for a in fd77:5::11 fd77:5::12 "$OTHER"; do ip -n "$NS_F" addr add "$a/128" dev lo nodad; done
ip -n "$NS_F" -6 route add local "$NET" dev lo

etcd_cluster 1
require "etcd is healthy" etcd_healthy
rpt_spawn origin "$NS_F" "${NETUTIL[@]}" echo --listen 127.0.0.1:7000
require "origin listens" wait_port "$NS_F" tcp 7000
for n in 1 2; do
  fleet_config "$n" "  autoban: { violations: 2, window: 10s, duration: 60s }
  handshake_timeout: 2s
  ipv6_prefix: 64
apps:
  - id: ssh
    protocol: tcp/9000
    validate: ssh
    edge_ips: { type: static, ips: [\"fd77:5::1$n\"] }
    origin_direct: [\"tcp://127.0.0.1:7000\"]"
  require "edge $n starts on etcd" fleet_edge "$n"
done

# probe N PREFIX [PAYLOAD]: one connection to edge N from a fresh random address of PREFIX
# sending PAYLOAD (an SSH banner by default); prints served=1 or refused=1.
probe() {
  ip netns exec "$NS_F" timeout 10 "${SU[@]}" rotate --connect "[fd77:5::1$1]:9000" --prefix "$2" \
    --hold 0 --attempts 1 --payload "${3:-SSH-2.0-fleet}" --out /dev/null
}
# until_probe N PREFIX WANT TIMEOUT_S: polls probe until it prints WANT (served=1 / refused=1).
until_probe() {
  local deadline=$((SECONDS + $4))
  while ((SECONDS <= deadline)); do
    probe "$1" "$2" | grep -q "$3" && return 0
    sleep 0.1
  done
  return 1
}

check "edge 1 serves the /64" until_probe 1 "$NET" served=1 5
check "edge 2 serves the /64" until_probe 2 "$NET" served=1 5
# Two validator failures (junk instead of an SSH banner) from two addresses of the /64, 1.1 s
# apart (one violation per second counts): the /64 is banned.
ip netns exec "$NS_F" timeout 10 "${SU[@]}" rotate --connect "[fd77:5::11]:9000" --prefix "$NET" \
  --hold 0 --attempts 2 --spacing 1.1 --payload junk --out "$TDIR/junk.txt" >/dev/null
check "edge 1 logged the ban of the /64" grep -q "guard: banned fd77:99::/64" "$TDIR/edge1.log"
check "edge 2 refuses another address of the /64 (the fleet's ban)" until_probe 2 "$NET" refused=1 3
# logged FILE TEXT: polls (2 s) for a log line (the fleet's writer thread logs after etcd answers).
logged() {
  for _ in $(seq 20); do
    grep -qF "$2" "$1" && return 0
    sleep 0.1
  done
  return 1
}
check "edge 1 shared it under its prefix" logged "$TDIR/edge1.log" "fleet: ban of fd77:99::/64 shared"
key=$(etcdctl_f get /rampart/bans/fd77:99::/64 --print-value-only)
echo "  etcd /rampart/bans/fd77:99::/64 = $key"
check "etcd holds /rampart/bans/fd77:99::/64" grep -q '"ip":"fd77:99::/64"' <<<"$key"
check "a client of another prefix gets through edge 2" until_probe 2 "$OTHER/128" served=1 2
r=$(fapi 2 GET /rampart/bans)
check "GET .../rampart/bans on edge 2 lists fd77:99::/64" grep -q '"ip":"fd77:99::/64"' <<<"$(body_of "$r")"
r=$(fapi 2 DELETE /rampart/bans/fd77:99::dead:beef)
assert_eq "DELETE .../rampart/bans/fd77:99::dead:beef (inside the /64) on edge 2 -> 200" 200 \
  "$(status_of "$r")"
check "edge 1 serves the /64 again" until_probe 1 "$NET" served=1 3
check "edge 2 serves the /64 again" until_probe 2 "$NET" served=1 3
check "no ban left in etcd" test -z "$(etcdctl_f get /rampart/bans/fd77:99::/64 --print-value-only)"
rpt_finish
