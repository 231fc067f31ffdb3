#!/usr/bin/env bash
# Connection flood: an attacker address opens and holds connections as fast as it can for 10 s
# while a legitimate client makes 1,000 sequential connections. >= 99.5% of the legitimate ones
# succeed, and the origin (which learns client addresses from PROXY v1) never holds more attacker
# connections at once than per_ip.max_connections allows. Then UDP: a flood at a DNS app from one
# source and from reflection ports; legitimate dig queries succeed (>= 99%) and the origin never
# receives a datagram that came from a reflection port.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
ulimit -n "$(ulimit -Hn)" # 2,000+ sockets on each side
GU=(python3 "$RPT_HELPERS/guardutil.py")
ATTACKER=10.77.1.66
ip -n "$NS_C" addr add "$ATTACKER/24" dev "${RPT_IF}c0"

rpt_spawn origin "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:7000" --log "$TDIR/origin.conns"
rpt_spawn dns "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:53" --log "$TDIR/dns.log" --udp-dns
require "origin listens" wait_port "$NS_O" tcp 7000
require "dns origin bound" wait_port "$NS_O" udp 53

LIMIT=20
cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 2s
api:
  listen: 127.0.0.1:8788
  token: test-token-$RPT_ID
protection:
  per_ip: { max_connections: $LIMIT, new_connections_per_second: 100, burst: 200,
            udp_packets_per_second: 500, udp_burst: 1000 }
  max_connections: 10000
  autoban: { violations: 3, window: 10s, duration: 60s }
  udp_reflection_ports: [19, 53, 123, 161, 389, 1900, 11211]
apps:
  - id: tcpapp
    protocol: tcp/7000
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    proxy_protocol: v1
  - id: dns
    protocol: udp/53
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["udp://$ORIGIN_IP:53"]
YAML
check "rampart check accepts the config" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on tcp/7000" wait_port "$NS_E" tcp 7000
require "edge bound on udp/53" wait_port "$NS_E" udp 53

# --- TCP connection flood (10 s, bounded) with a legitimate client alongside
ip netns exec "$NS_C" timeout 30 "${GU[@]}" flood --connect "$EDGE_IP:7000" --seconds 10 --bind "$ATTACKER" >"$TDIR/flood.out" 2>&1 &
flood_pid=$!
RPT_PIDS+=("$flood_pid")
sleep 0.5
ok=$(ip netns exec "$NS_C" timeout 100 "${GU[@]}" legit --connect "$EDGE_IP:7000" --count 1000 --bind "$CLIENT_IP" || echo 0)
wait "$flood_pid" || true
cat "$TDIR/flood.out"
echo "legitimate connections that succeeded: $ok / 1000"
check "legitimate client: >= 99.5% of 1000 connections succeed ($ok)" test "${ok:-0}" -ge 995
# The origin's log: open/close per connection with the client address (PROXY v1).
max_open=$(awk -v a="$ATTACKER" '$2 == a { if ($1 == "open") n++; else n--; if (n > m) m = n } END { print m + 0 }' "$TDIR/origin.conns")
total=$(awk -v a="$ATTACKER" '$1 == "open" && $2 == a' "$TDIR/origin.conns" | wc -l)
echo "attacker at the origin: $total connections, at most $max_open at once"
check "origin never held more than $LIMIT attacker connections at once ($max_open)" test "$max_open" -le "$LIMIT"
check_event "attacker refused with CONN_LIMIT or RATE_LIMIT or BANNED" "$TDIR/var/events.ndjson" 5 \
  Event=clientFiltered Status=403 ClientIP="$ATTACKER"
check "the edge logged a ban" grep -q "guard: banned $ATTACKER" "$EDGE_LOG"

# --- UDP: flood from one source port range and from reflection ports, dig alongside
ip netns exec "$NS_C" timeout 20 "${GU[@]}" udpflood --connect "$EDGE_IP:53" --seconds 5 --bind "$ATTACKER" >"$TDIR/uflood.out" 2>&1 &
p1=$!
ip netns exec "$NS_C" timeout 20 "${GU[@]}" udpflood --connect "$EDGE_IP:53" --seconds 5 --bind "$CLIENT_IP" --sport 123 --payload REFLECT >"$TDIR/refl123.out" 2>&1 &
p2=$!
ip netns exec "$NS_C" timeout 20 "${GU[@]}" udpflood --connect "$EDGE_IP:53" --seconds 5 --bind "$CLIENT_IP" --sport 19 --payload REFLECT >"$TDIR/refl19.out" 2>&1 &
p3=$!
RPT_PIDS+=("$p1" "$p2" "$p3")
good=0
for i in $(seq 100); do
  if ip netns exec "$NS_C" timeout 3 dig +tries=1 +time=1 -b "$CLIENT_IP" "@$EDGE_IP" "q$i.example" A 2>/dev/null | grep -q 'status: NOERROR'; then
    good=$((good + 1))
  fi
done
wait "$p1" "$p2" "$p3" || true
cat "$TDIR/uflood.out" "$TDIR/refl123.out" "$TDIR/refl19.out"
echo "dig queries answered: $good / 100"
check "legitimate dig: >= 99% answered ($good)" test "$good" -ge 99
sleep 0.5
refl=$(grep -c "dgram $(printf REFLECT | xxd -p)" "$TDIR/dns.log" || true)
assert_eq "origin received no datagram from a reflection port" 0 "$refl"
flood_in=$(grep -c "dgram $(printf FLOOD | xxd -p)" "$TDIR/dns.log" || true)
echo "flood datagrams that reached the origin: $flood_in"
check "the flood was rate limited at the edge (<= 1000 burst + 500/s * 5 s)" test "$flood_in" -le 3600
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
