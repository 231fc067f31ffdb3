#!/usr/bin/env bash
# Anycast with BIRD (issue #7): two edges announce the same /32 to a router over eBGP; the router
# installs both paths (ECMP); clients behind it reach whichever edge their flow hashes to.
#
#   client 10.77.1.2 -- router (BIRD, ECMP) --+-- edge1 (BIRD + rampart, 10.77.9.1 on lo) --+
#                        10.77.1.1            |   10.77.11.2 / egress 10.77.21.1            |-- origin
#                        10.77.11.1, .12.1    +-- edge2 (BIRD + rampart, 10.77.9.1 on lo) --+   .21.2, .22.2
#                                                 10.77.12.2 / egress 10.77.22.1
#
# Checks: the router learns 10.77.9.1/32 from both edges; clients reach both; SIGTERM on edge1
# withdraws its route while it is still draining (a held connection keeps it draining) and a
# loop of new connections over the failover keeps >= 99% success; an edge whose only origin
# becomes unreachable (nft drop in the origin namespace) withdraws its route, and announces it
# again when the origin is back.
# shellcheck source=SCRIPTDIR/lib.sh disable=SC2153,SC2317
source "$(dirname "$0")/lib.sh"
rpt_init

command -v bird >/dev/null || { echo "SKIP: bird (bird2) is not installed: make deps" >&2; exit 1; }

ANYCAST_IP=10.77.9.1
PORT=7000
ORIGIN_PORT=7000
ANYUTIL=(python3 "$RPT_HELPERS/anycastutil.py")
NS_R=${RPT_ID}r
NS_A=${RPT_ID}a # edge1
NS_B=${RPT_ID}b # edge2
E1_UP=10.77.11.2
E2_UP=10.77.12.2
E1_EGRESS=10.77.21.1
E2_EGRESS=10.77.22.1

# ---------------------------------------------------------------- topology

add_ns() {
  ip netns add "$1"
  RPT_NAMESPACES+=("$1")
  if [[ -n ${RPT_NS_FILE:-} ]]; then echo "$1" >>"$RPT_NS_FILE"; fi
  ip -n "$1" link set lo up
}

# link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair with one /24 address on each end.
link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$4" addr add "$6/24" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}

for ns in "$NS_C" "$NS_R" "$NS_A" "$NS_B" "$NS_O"; do add_ns "$ns"; done
link "$NS_C" "${RPT_IF}c" "$CLIENT_IP" "$NS_R" "${RPT_IF}rc" 10.77.1.1
link "$NS_R" "${RPT_IF}ra" 10.77.11.1 "$NS_A" "${RPT_IF}ar" "$E1_UP"
link "$NS_R" "${RPT_IF}rb" 10.77.12.1 "$NS_B" "${RPT_IF}br" "$E2_UP"
link "$NS_A" "${RPT_IF}ao" "$E1_EGRESS" "$NS_O" "${RPT_IF}oa" 10.77.21.2
link "$NS_B" "${RPT_IF}bo" "$E2_EGRESS" "$NS_O" "${RPT_IF}ob" 10.77.22.2
ip -n "$NS_C" route add default via 10.77.1.1
ip -n "$NS_A" route add default via 10.77.11.1
ip -n "$NS_B" route add default via 10.77.12.1
ip -n "$NS_A" addr add "$ANYCAST_IP/32" dev lo
ip -n "$NS_B" addr add "$ANYCAST_IP/32" dev lo
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
# Hash flows by ports too, so that one client's connections spread over both paths.
ip netns exec "$NS_R" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=0; done

# ---------------------------------------------------------------- BIRD

bird_timers='connect delay time 1; start delay time 1; connect retry time 2;'

cat >"$TDIR/bird-r.conf" <<CONF
router id 10.77.1.1;
log stderr all;
protocol device { scan time 2; }
protocol kernel {
  ipv4 { import none; export where source = RTS_BGP; };
  merge paths yes;   # ECMP: install equal BGP paths as one multipath route
}
protocol bgp edge1 {
  local 10.77.11.1 as 65000; neighbor $E1_UP as 65001;
  $bird_timers
  ipv4 { import all; export none; };
}
protocol bgp edge2 {
  local 10.77.12.1 as 65000; neighbor $E2_UP as 65001;
  $bird_timers
  ipv4 { import all; export none; };
}
CONF

# edge_bird_conf UPLINK_ADDR ROUTER_ADDR: the BIRD config an edge runs (docs/anycast.md).
edge_bird_conf() {
  cat <<CONF
router id $1;
log stderr all;
protocol device {}
# Enabled and disabled by rampart (edge.anycast); starts disabled so that nothing is announced
# before rampart has checked the edge.
protocol static rampart_anycast {
  disabled yes;
  ipv4;
  route $ANYCAST_IP/32 blackhole;
}
protocol bgp uplink {
  local $1 as 65001; neighbor $2 as 65000;
  $bird_timers
  ipv4 { import none; export where proto = "rampart_anycast"; };
}
CONF
}
edge_bird_conf "$E1_UP" 10.77.11.1 >"$TDIR/bird-a.conf"
edge_bird_conf "$E2_UP" 10.77.12.1 >"$TDIR/bird-b.conf"

for n in r a b; do
  ns_var="NS_${n^^}"
  rpt_spawn "bird-$n" "${!ns_var}" bird -f -c "$TDIR/bird-$n.conf" -s "$TDIR/bird-$n.ctl" \
    -P "$TDIR/bird-$n.pid"
done
wait_socket() {
  local f=$1 deadline=$((SECONDS + 10))
  while ((SECONDS <= deadline)); do
    [[ -S $f ]] && return 0
    sleep 0.05
  done
  return 1
}
for n in r a b; do require "BIRD ($n) control socket is up" wait_socket "$TDIR/bird-$n.ctl"; done

birdc_r() { birdc -s "$TDIR/bird-r.ctl" "$@"; }

# nexthops: the router's kernel nexthops for the anycast /32, e.g. "10.77.11.2 10.77.12.2".
nexthops() {
  ip -n "$NS_R" route show "$ANYCAST_IP/32" 2>/dev/null | grep -o 'via [0-9.]*' | awk '{print $2}' |
    sort | tr '\n' ' ' | sed 's/ $//'
}

# wait_nexthops EXPECTED TIMEOUT_S: until nexthops prints EXPECTED.
wait_nexthops() {
  local want=$1 deadline=$((SECONDS + $2))
  while ((SECONDS <= deadline)); do
    [[ $(nexthops) == "$want" ]] && return 0
    sleep 0.05
  done
  echo "router nexthops: '$(nexthops)', wanted '$want'" >&2
  return 1
}

ms_since() { python3 -c "import sys, time; print(int((time.time() - float(sys.argv[1])) * 1000))" "$1"; }

# ---------------------------------------------------------------- origin and edges

rpt_spawn origin "$NS_O" "${ANYUTIL[@]}" origin --port "$ORIGIN_PORT"
require "origin listens" wait_port "$NS_O" tcp "$ORIGIN_PORT"

# edge_config NAME ORIGIN: one edge's rampart config (anycast on, fast health checks); NAME's
# last letter picks the BIRD socket (bird-a.ctl, bird-b.ctl).
edge_config() {
  local name=$1 origin=$2
  cat <<YAML
edge:
  colo: ${name^^}
  listen: ["$ANYCAST_IP"]
  data_dir: $TDIR/$name
  drain_timeout: 6s
  anycast:
    addresses: ["$ANYCAST_IP"]
    bird_socket: $TDIR/bird-${name: -1}.ctl
    protocol: rampart_anycast
    check_interval: 250ms
    convergence_wait: ${ANYCAST_CONVERGENCE_WAIT:-2s}
api:
  listen: 127.0.0.1:8788
  token: test-token-$RPT_ID
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: anycast-echo
    protocol: tcp/$PORT
    origin_direct: ["tcp://$origin:$ORIGIN_PORT"]
    load_balancing:
      health_check: { interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
    timeouts: { connect: 2s }
YAML
}
edge_config edgea 10.77.21.2 >"$TDIR/edge1.yaml"
edge_config edgeb 10.77.22.2 >"$TDIR/edge2.yaml"
require "rampart check accepts the edge config" "$RAMPART_BIN" check -c "$TDIR/edge1.yaml"

# start_anycast_edge NAME NS CONFIG: rampart serve in NS, log $TDIR/NAME.log; sets LAST_EDGE_PID.
start_anycast_edge() {
  local name=$1 ns=$2 config=$3
  ip netns exec "$ns" "$RAMPART_BIN" serve -c "$config" >>"$TDIR/$name.log" 2>&1 &
  LAST_EDGE_PID=$!
  RPT_PIDS+=("$LAST_EDGE_PID")
}
t_start=$(date +%s.%N)
start_anycast_edge edge1 "$NS_A" "$TDIR/edge1.yaml"
E1_PID=$LAST_EDGE_PID
start_anycast_edge edge2 "$NS_B" "$TDIR/edge2.yaml"
E2_PID=$LAST_EDGE_PID
require "edge1 listens on the anycast address" wait_port "$NS_A" tcp "$PORT"
require "edge2 listens on the anycast address" wait_port "$NS_B" tcp "$PORT"

# ---------------------------------------------------------------- 1. ECMP from both edges

if wait_nexthops "$E1_UP $E2_UP" 25; then
  pass "router learned $ANYCAST_IP/32 from both edges (ECMP), $(ms_since "$t_start") ms after the edges started"
else
  fail "router learned $ANYCAST_IP/32 from both edges"
  birdc_r show protocols all || true
  tail -n 20 "$TDIR/edge1.log" "$TDIR/edge2.log" "$TDIR/bird-a.log" || true
  rpt_finish
fi
echo "--- router: birdc show route $ANYCAST_IP/32 all"
birdc_r show route "$ANYCAST_IP/32" all | sed 's/^/    /'
echo "--- router: ip route show $ANYCAST_IP/32"
ip -n "$NS_R" route show "$ANYCAST_IP/32" | sed 's/^/    /'
check "edge1 log: announced" grep -q "anycast: announced $ANYCAST_IP/32" "$TDIR/edge1.log"

res=$(ip netns exec "$NS_C" timeout 60 "${ANYUTIL[@]}" loop --connect "$ANYCAST_IP:$PORT" --rate 40 \
  --seconds 1.5)
echo "before failover: $res"
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1] or "{}"); print(eval(sys.argv[2], {}, d))' "$@"; }
assert_eq "clients reach the anycast address: every connection succeeds" "$(field "$res" total)" \
  "$(field "$res" ok)"
check "both edges serve clients (ECMP spreads flows)" test "$(field "$res" 'len(by_peer)')" = 2

# ---------------------------------------------------------------- 2. SIGTERM: withdraw, then drain

# A connection through edge1 that stays open keeps edge1 draining until drain_timeout.
ip netns exec "$NS_C" timeout 60 "${ANYUTIL[@]}" hold --connect "$ANYCAST_IP:$PORT" \
  --peer "$E1_EGRESS" --seconds 30 >"$TDIR/hold.out" 2>&1 &
HOLD_PID=$!
RPT_PIDS+=("$HOLD_PID")
wait_until 30 grep -q . "$TDIR/hold.out" || true
require "a long connection is held through edge1" grep -q held "$TDIR/hold.out"

# New connections over the whole failover: before, during and after edge1's exit.
ip netns exec "$NS_C" timeout 90 "${ANYUTIL[@]}" loop --connect "$ANYCAST_IP:$PORT" --rate 50 \
  --seconds 14 >"$TDIR/loop.out" 2>&1 &
LOOP_PID=$!
RPT_PIDS+=("$LOOP_PID")
sleep 2

t_term=$(date +%s.%N)
kill -TERM "$E1_PID"
if wait_nexthops "$E2_UP" 5; then
  withdraw_ms=$(ms_since "$t_term")
  pass "SIGTERM: edge1's route withdrawn from the router in $withdraw_ms ms"
else
  fail "SIGTERM: edge1's route withdrawn from the router"
fi
check "edge1 is still running (draining) when its route is gone" kill -0 "$E1_PID"
check "the held connection through edge1 is still open when the route is gone" \
  test "$(cat "$TDIR/hold.out")" = held
echo "--- router after SIGTERM: $(ip -n "$NS_R" route show "$ANYCAST_IP/32" | tr -s ' \n' ' ')"

rc=0
for _ in $(seq 200); do kill -0 "$E1_PID" 2>/dev/null || break; sleep 0.05; done
wait "$E1_PID" || rc=$?
assert_eq "edge1 exits 0 after draining" 0 "$rc"
check "edge1 log: withdrew on shutdown, before the drain" python3 - "$TDIR/edge1.log" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
def first(text):
    return next((i for i, l in enumerate(lines) if text in l), None)
w, d = first("anycast: withdrew 10.77.9.1/32 (shutting down)"), first("connections (up to")
sys.exit(0 if w is not None and d is not None and w < d else 1)
PY
check "the held connection was closed by edge1's drain timeout" grep -q closed "$TDIR/hold.out"

wait "$LOOP_PID" || true
res=$(cat "$TDIR/loop.out")
echo "failover: $res"
total=$(field "$res" total)
ok=$(field "$res" ok)
rate=$(field "$res" rate)
echo "failover success rate: $ok/$total = $rate%"
check "failover: >= 99% of new connections succeed ($ok/$total = $rate%)" \
  python3 -c "import sys; sys.exit(0 if $total > 0 and $ok * 100 >= 99 * $total else 1)"

# ---------------------------------------------------------------- 3. origin unreachable

start_anycast_edge edge1 "$NS_A" "$TDIR/edge1.yaml"
E1_PID=$LAST_EDGE_PID
check "edge1 restarted: both routes again" wait_nexthops "$E1_UP $E2_UP" 15

ip netns exec "$NS_O" nft -f - <<NFT
table inet rpt_anycast {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr $E2_EGRESS tcp dport $ORIGIN_PORT drop
  }
}
NFT
t_drop=$(date +%s.%N)
if wait_nexthops "$E1_UP" 15; then
  pass "edge2's only origin unreachable: its route is withdrawn after $(ms_since "$t_drop") ms"
else
  fail "edge2's only origin unreachable: its route is withdrawn"
fi
check "edge2 log: unhealthy because no origin is up" \
  grep -q "anycast: edge unhealthy: app anycast-echo: no origin is up" "$TDIR/edge2.log"
check "edge2 log: withdrew" grep -q "anycast: withdrew $ANYCAST_IP/32 (app anycast-echo" "$TDIR/edge2.log"
check "edge2 still runs" kill -0 "$E2_PID"
metrics=$(ip netns exec "$NS_B" curl -s -m 3 -H "Authorization: Bearer test-token-$RPT_ID" \
  http://127.0.0.1:8788/metrics || true)
check "edge2 /metrics: rampart_anycast_announced 0" grep -q '^rampart_anycast_announced 0$' <<<"$metrics"
res=$(ip netns exec "$NS_C" timeout 60 "${ANYUTIL[@]}" loop --connect "$ANYCAST_IP:$PORT" --rate 40 \
  --seconds 1)
echo "edge2 withdrawn: $res"
assert_eq "clients still served (by edge1) while edge2 is withdrawn" "$(field "$res" total)" \
  "$(field "$res" ok)"

ip netns exec "$NS_O" nft delete table inet rpt_anycast
t_back=$(date +%s.%N)
if wait_nexthops "$E1_UP $E2_UP" 20; then
  pass "origin reachable again: edge2 announces again after $(ms_since "$t_back") ms"
else
  fail "origin reachable again: edge2 announces again"
fi
metrics=$(ip netns exec "$NS_B" curl -s -m 3 -H "Authorization: Bearer test-token-$RPT_ID" \
  http://127.0.0.1:8788/metrics || true)
check "edge2 /metrics: rampart_anycast_announced 1" grep -q '^rampart_anycast_announced 1$' <<<"$metrics"

rpt_finish
