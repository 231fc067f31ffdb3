#!/usr/bin/env bash
# Issue #10, "source tables that cannot be used against the edge": the three attacks on the
# guard's per-source table, each with legitimate clients alongside.
#
# (a) Table overflow: 150,000 spoofed UDP sources against a UDP app with per-source limits
#     (`game`), with protection.source_table_size 20,000 per worker (2 workers). The table is
#     shared by all apps: a client seen before and a fresh one, over TCP (`tcp`) and UDP (`dns`),
#     are served (>= 99%) during the flood and after it; the full table evicts idle entries
#     (rampart_guard_source_evictions_total) and refuses no one (no table_full drop).
# (b) Hash flooding: 40,000 addresses of one /64, computed to share one bucket of the old
#     unkeyed hash (helpers/collide.cc), sent to an app with ipv6_prefix 128 (`dns128`: each its
#     own entry). A legitimate client of the same /64 (so of the same worker and table) keeps a
#     round-trip p50 under P50_BOUND_MS and p99 under P99_BOUND_MS (before issue #10 every
#     lookup walked the 40,000-entry chain: 871 ms round trips), and the edge spends no more CPU
#     per spoofed datagram than on the ordinary sources of (a) (x CPU_RATIO_BOUND). Measured
#     p99: 2-5 ms on a quiet 2-core box; the bound leaves room for a box shared with other jobs,
#     where even the quiet baseline's p99 reaches 7 ms.
# The flooded apps' origin is a port where nothing listens (the datagrams end there), so that the
# legitimate clients' origin measures the edge, not a Python responder drowning in the flood.
# (c) /64 rotation: connections from ever new addresses of one /64 to an app with
#     per_ip.max_connections 4 are counted as one source (the 5th is refused), their violations
#     add up to an autoban of the /64 (GET .../rampart/bans shows fd77:99::/64, any address of it
#     is refused), a client of another /64 is served meanwhile, and DELETE of any address inside
#     lifts the ban.
# Figures are printed on FIGURES lines.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
rpt_spoof_setup
ulimit -n "$(ulimit -Hn)"
GU=(python3 "$RPT_HELPERS/guardutil.py")
SU=(python3 "$RPT_HELPERS/sourceutil.py")

TABLE_SIZE=20000            # protection.source_table_size, per worker
WORKERS=2
FLOOD_SOURCES=150000        # (a), spoofed from 10.80.0.0/14 (262,144 addresses)
FLOOD_RATE=25000
COLLIDING=40000             # (b)
COLLIDING_RATE=8000         # 5 s, during which the legitimate client makes 450 round trips
P50_BOUND_MS=${P50_BOUND_MS:-5}
P99_BOUND_MS=${P99_BOUND_MS:-50}
# UDP flows: enough that a legitimate flow waiting for its answer is not evicted by the flood's
# flows before the answer comes back (an LRU of 5,000 per worker turns over in ~0.4 s at the
# flood's rate), within the descriptor limit.
MAX_FLOWS=$(($(ulimit -Hn) / 2 < 10000 ? $(ulimit -Hn) / 2 : 10000))
CPU_RATIO_BOUND=${CPU_RATIO_BOUND:-3}
FRESH_TCP=10.77.1.71        # clients first seen during the flood
FRESH_UDP=10.77.1.72
COLLIDE_NET=fd77:99:0:1::   # (b): the /64 of the colliding keys; its legitimate client: ::2
ROTATE_NET=fd77:99::        # (c): the rotating /64
ip -n "$NS_C" addr add "$FRESH_TCP/24" dev "${RPT_IF}c0"
ip -n "$NS_C" addr add "$FRESH_UDP/24" dev "${RPT_IF}c0"
# Every address of both /64s is local to the client namespace (AnyIP); the edge routes
# fd77:99::/32 back to it (rpt_spoof_setup).
ip -n "$NS_C" -6 route add local "$COLLIDE_NET/64" dev lo
ip -n "$NS_C" -6 route add local "$ROTATE_NET/64" dev lo

rpt_spawn origin "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:7000" --log "$TDIR/origin.conns"
origin_pids=("$RPT_LAST_PID")
rpt_spawn dns "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:5300" --log "$TDIR/dns.log" --udp-dns
origin_pids+=("$RPT_LAST_PID")
require "origin listens" wait_port "$NS_O" tcp 7000
require "dns origin bound" wait_port "$NS_O" udp 5300

TOKEN=test-token-$RPT_ID
cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  workers: $WORKERS
  data_dir: $TDIR/var
  drain_timeout: 2s
  max_udp_flows: $MAX_FLOWS  # the flows of spoofed sources are evicted, not piled up (fds)
api:
  listen: 127.0.0.1:8788
  token: $TOKEN
protection:
  per_ip: { max_connections: 64, new_connections_per_second: 200, burst: 400,
            udp_packets_per_second: 500, udp_burst: 1000 }
  max_connections: 100000
  autoban: { violations: 3, window: 10s, duration: 60s }
  udp_reflection_ports: []
  source_table_size: $TABLE_SIZE
  ipv6_prefix: 64
apps:
  - id: dns
    protocol: udp/5300
    edge_ips: { type: static, ips: ["$EDGE_IP", "$EDGE_IP6"] }
    origin_direct: ["udp://$ORIGIN_IP:5300"]
  - id: game
    protocol: udp/5310
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["udp://$ORIGIN_IP:5399"]
  - id: dns128
    protocol: udp/5301
    edge_ips: { type: static, ips: ["$EDGE_IP6"] }
    origin_direct: ["udp://$ORIGIN_IP:5399"]
    protection: { ipv6_prefix: 128 }
  - id: tcp
    protocol: tcp/7000
    edge_ips: { type: static, ips: ["$EDGE_IP", "$EDGE_IP6"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
  - id: strict
    protocol: tcp/7001
    edge_ips: { type: static, ips: ["$EDGE_IP", "$EDGE_IP6"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    protection: { per_ip: { max_connections: 4 } }
YAML
check "rampart check accepts the config" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on tcp/7000" wait_port "$NS_E" tcp 7000
require "edge listens on tcp/7001" wait_port "$NS_E" tcp 7001
require "edge bound on udp/5300" wait_port "$NS_E" udp 5300
require "edge bound on udp/5301" wait_port "$NS_E" udp 5301
require "edge bound on udp/5310" wait_port "$NS_E" udp 5310
# The edge and the origins run on machines of their own in production; here they share 2 CPUs
# with the attacker's generator and whatever else the box runs. At nice -10 (every thread) the
# latencies below measure the edge's own work (what the keyed hash is about), not the
# scheduler's queue; the edge's CPU time is measured too, and does not depend on it.
for task in /proc/"$EDGE_PID"/task/*; do renice -n -10 -p "${task##*/}" >/dev/null; done
renice -n -10 -p "${origin_pids[@]}" >/dev/null
EV=$TDIR/var/events.ndjson
API=http://127.0.0.1:8788
BASE=$API/client/v4/zones/default

kv() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
api() { ip netns exec "$NS_E" curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
# metric NAME [LABEL=VALUE...]: the sum of the samples of NAME whose labels include all given.
metric() {
  local name=$1
  shift
  api "$API/metrics" | awk -v name="$name" -v want="$*" '
    BEGIN { n = split(want, w, " ") }
    $1 ~ "^" name "({|$)" {
      ok = 1
      for (i = 1; i <= n; i++) { split(w[i], p, "="); if (index($1, p[1] "=\"" p[2] "\"") == 0) ok = 0 }
      if (ok) s += $NF
    }
    END { printf "%d\n", s }'
}
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
# Legitimate clients, at nice -10 like test_guard_flood.sh (they share the 2 CPUs with the
# attacker's generator; a real client does not).
tcp_legit() { # tcp_legit BIND COUNT
  ip netns exec "$NS_C" timeout 60 nice -n -10 "${GU[@]}" legit --connect "$EDGE_IP:7000" \
    --count "$2" --rate 50 --bind "$1" --stats || echo "ok=0 connect_p99_ms=99999"
}
udp_legit() { # udp_legit BIND HOST:PORT COUNT [RATE]
  ip netns exec "$NS_C" timeout 60 nice -n -10 "${SU[@]}" udplegit --connect "$2" --count "$3" \
    --rate "${4:-50}" --bind "$1" || echo "ok=0 rtt_p99_ms=99999"
}
pct_ok() { awk -v ok="$1" -v n="$2" 'BEGIN { exit !(ok * 100 >= n * 99) }'; }

# ---------------------------------------------------------------- (a) table overflow
# Seen before: one round trip each, so they have table entries when the flood starts.
check "TCP client seen before the flood is served" \
  test "$(kv ok <<<"$(tcp_legit "$CLIENT_IP" 5)")" -eq 5
check "UDP client seen before the flood is served" \
  test "$(kv ok <<<"$(udp_legit "$CLIENT_IP" "$EDGE_IP:5300" 5)")" -eq 5

DURING=200 # 4 s of each legitimate client at 50/s, within the 5 s flood
"${SU[@]}" watch --pid "$EDGE_PID" --seconds 6 >"$TDIR/watch_a.out" &
watch_pid=$!
RPT_PIDS+=("$watch_pid")
ip netns exec "$NS_C" timeout 60 "$SPOOF" udp --dst "$EDGE_IP" --dport 5310 --src 10.80.0.0/14 \
  --count "$FLOOD_SOURCES" --rate "$FLOOD_RATE" --len 8 >"$TDIR/flood_a.out" 2>&1 &
flood_pid=$!
RPT_PIDS+=("$flood_pid")
tcp_legit "$CLIENT_IP" "$DURING" >"$TDIR/a_tcp_seen.out" &
p1=$!
tcp_legit "$FRESH_TCP" "$DURING" >"$TDIR/a_tcp_fresh.out" &
p2=$!
udp_legit "$CLIENT_IP" "$EDGE_IP:5300" "$DURING" >"$TDIR/a_udp_seen.out" &
p3=$!
udp_legit "$FRESH_UDP" "$EDGE_IP:5300" "$DURING" >"$TDIR/a_udp_fresh.out" &
p4=$!
wait "$p1" "$p2" "$p3" "$p4" "$flood_pid" || true
wait "$watch_pid" || true
echo "FIGURES (a) flood: $(cat "$TDIR/flood_a.out"); edge: $(cat "$TDIR/watch_a.out")"
for c in tcp_seen tcp_fresh udp_seen udp_fresh; do
  out=$(cat "$TDIR/a_$c.out")
  echo "FIGURES (a) during, $c: $out"
  check "(a) during the flood, $c served >= 99% ($(kv ok <<<"$out")/$DURING)" \
    pct_ok "$(kv ok <<<"$out")" "$DURING"
done
AFTER=50
ip -n "$NS_C" addr add 10.77.1.73/24 dev "${RPT_IF}c0" # fresh clients after the flood
ip -n "$NS_C" addr add 10.77.1.74/24 dev "${RPT_IF}c0"
after_check() { # after_check NAME OUTPUT
  echo "FIGURES (a) after, $1: $2"
  check "(a) after the flood, $1 served >= 99% ($(kv ok <<<"$2")/$AFTER)" pct_ok "$(kv ok <<<"$2")" "$AFTER"
}
after_check tcp_seen "$(tcp_legit "$CLIENT_IP" "$AFTER")"
after_check tcp_fresh "$(tcp_legit 10.77.1.73 "$AFTER")"
after_check udp_seen "$(udp_legit "$CLIENT_IP" "$EDGE_IP:5300" "$AFTER")"
after_check udp_fresh "$(udp_legit 10.77.1.74 "$EDGE_IP:5300" "$AFTER")"
evicted=$(metric rampart_guard_source_evictions_total kind=idle)
table_full=$(metric rampart_guard_drops_total reason=table_full)
sources=$(metric rampart_guard_sources)
capacity=$(metric rampart_guard_source_table_capacity)
echo "FIGURES (a) evictions=$evicted table_full=$table_full sources=$sources capacity=$capacity" \
  "datagrams_in=$(metric rampart_datagrams_ingress_total app=game) udp_flows_evicted=$(metric rampart_udp_flows_evicted_total)"
assert_eq "(a) table capacity on /metrics = $WORKERS x $TABLE_SIZE" $((WORKERS * TABLE_SIZE)) "$capacity"
check "(a) the full table evicted idle sources ($evicted >= 90000 of ~$((FLOOD_SOURCES - WORKERS * TABLE_SIZE)))" \
  at_least "$evicted" 90000
assert_eq "(a) no source refused because the table was full (table_full drops)" 0 "$table_full"
check "(a) entries in use <= capacity ($sources <= $capacity)" at_least "$capacity" "$sources"
legit_filtered=$(grep -c "\"Event\":\"clientFiltered\"" "$EV" || true)
assert_eq "(a) no TCP client was refused (clientFiltered events)" 0 "$legit_filtered"
cpu_a=$(kv cpu_s <"$TDIR/watch_a.out")

# ---------------------------------------------------------------- (b) colliding IPv6 keys
c++ -O2 -std=c++20 -o "$TDIR/collide" "$RPT_HELPERS/collide.cc"
"$TDIR/collide" --prefix "$COLLIDE_NET" --app dns128 --count "$COLLIDING" >"$TDIR/colliding.txt" \
  2>"$TDIR/collide.err"
echo "FIGURES (b) $(cat "$TDIR/collide.err")"
assert_eq "(b) $COLLIDING distinct colliding addresses" "$COLLIDING" "$(sort -u "$TDIR/colliding.txt" | wc -l)"
# A client of the flooded /64: same worker (steering by /64), same table (shared by the apps).
LEGIT6=${COLLIDE_NET}2
quiet=$(udp_legit "$LEGIT6" "[$EDGE_IP6]:5300" 100)
echo "FIGURES (b) quiet: $quiet"
"${SU[@]}" watch --pid "$EDGE_PID" --seconds 5.5 >"$TDIR/watch_b.out" &
watch_pid=$!
RPT_PIDS+=("$watch_pid")
ip netns exec "$NS_C" timeout 60 "$SPOOF" udp --dst "$EDGE_IP6" --dport 5301 \
  --sources "$TDIR/colliding.txt" --count "$COLLIDING" --rate "$COLLIDING_RATE" --len 8 \
  >"$TDIR/flood_b.out" 2>&1 &
flood_pid=$!
RPT_PIDS+=("$flood_pid")
during=$(udp_legit "$LEGIT6" "[$EDGE_IP6]:5300" 450 100)
wait "$flood_pid" || true
wait "$watch_pid" || true
echo "FIGURES (b) flood: $(cat "$TDIR/flood_b.out"); edge: $(cat "$TDIR/watch_b.out")"
echo "FIGURES (b) during: $during"
check "(b) legitimate client served >= 99% ($(kv ok <<<"$during")/450)" pct_ok "$(kv ok <<<"$during")" 450
check "(b) legitimate round-trip p50 $(kv rtt_p50_ms <<<"$during") ms < $P50_BOUND_MS ms" \
  below "$(kv rtt_p50_ms <<<"$during")" "$P50_BOUND_MS"
check "(b) legitimate round-trip p99 $(kv rtt_p99_ms <<<"$during") ms < $P99_BOUND_MS ms" \
  below "$(kv rtt_p99_ms <<<"$during")" "$P99_BOUND_MS"
cpu_b=$(kv cpu_s <"$TDIR/watch_b.out")
# Edge CPU per 1,000 spoofed datagrams, colliding keys vs the ordinary sources of (a).
per_a=$(awk -v c="$cpu_a" -v n="$FLOOD_SOURCES" 'BEGIN { printf "%.4f", c * 1000 / n }')
per_b=$(awk -v c="$cpu_b" -v n="$COLLIDING" 'BEGIN { printf "%.4f", c * 1000 / n }')
echo "FIGURES (b) edge CPU: ${cpu_b} s for $COLLIDING colliding datagrams ($per_b s per 1000) vs" \
  "${cpu_a} s for $FLOOD_SOURCES ordinary ones ($per_a s per 1000)"
check "(b) colliding keys cost at most ${CPU_RATIO_BOUND}x the CPU of ordinary sources ($per_b vs $per_a s per 1000)" \
  awk -v b="$per_b" -v a="$per_a" -v r="$CPU_RATIO_BOUND" 'BEGIN { exit !(b <= r * (a > 0.001 ? a : 0.001)) }'

# ---------------------------------------------------------------- (c) /64 rotation
# 4 held connections from 4 addresses, then 5 more addresses 1.1 s apart (autoban counts one
# violation per second: 3 of them ban).
rot=$(ip netns exec "$NS_C" timeout 30 "${SU[@]}" rotate --connect "[$EDGE_IP6]:7001" \
  --prefix "$ROTATE_NET/64" --hold 4 --attempts 5 --spacing 1.1 --out "$TDIR/rotate.txt")
echo "FIGURES (c) $rot"
check "(c) 4 connections from 4 addresses of the /64 are served (held_ok=$(kv held_ok <<<"$rot"))" \
  test "$(kv held_ok <<<"$rot")" = 4
check "(c) every further address of the /64 is refused: one source (served=$(kv served <<<"$rot"))" \
  test "$(kv served <<<"$rot")" = 0
first_refused=$(awk '$1 == "refused" { print $2; exit }' "$TDIR/rotate.txt")
last_refused=$(awk '$1 == "refused" { a = $2 } END { print a }' "$TDIR/rotate.txt")
check_event "(c) the first extra address is refused by the connection limit" "$EV" 5 \
  Event=clientFiltered ClientIP="$first_refused" ClientMatchedIpFirewall=CONN_LIMIT
check_event "(c) the last one is refused by the ban of its /64" "$EV" 5 \
  Event=clientFiltered ClientIP="$last_refused" ClientMatchedIpFirewall=BANNED
check "(c) the edge logged the ban of fd77:99::/64" grep -q "guard: banned fd77:99::/64" "$EDGE_LOG"
bans=$(api "$BASE/rampart/bans")
echo "FIGURES (c) bans: $bans"
check "(c) GET .../rampart/bans shows the prefix" grep -q '"ip":"fd77:99::/64"' <<<"$bans"
fresh6=$(ip netns exec "$NS_C" timeout 30 "${SU[@]}" rotate --connect "[$EDGE_IP6]:7001" --prefix "$ROTATE_NET/64" \
  --hold 0 --attempts 1 --out "$TDIR/rotate2.txt")
check "(c) a brand-new address of the banned /64 is refused ($fresh6)" test "$(kv refused <<<"$fresh6")" = 1
# The client's own address (fd77:1::2, another /64), 10 connections held at once: served.
other=$(ip netns exec "$NS_C" timeout 30 "${SU[@]}" rotate --connect "[$EDGE_IP6]:7001" \
  --prefix "$CLIENT_IP6/128" --hold 4 --attempts 0 --out "$TDIR/other.txt")
check "(c) a client of another /64 is served meanwhile ($other)" test "$(kv held_ok <<<"$other")" = 4
lifted=$(api -X DELETE "$BASE/rampart/bans/fd77:99::beef:1")
echo "FIGURES (c) DELETE .../rampart/bans/fd77:99::beef:1: $lifted"
check "(c) DELETE of an address inside lifts the /64's ban" grep -q '"ip":"fd77:99::/64"' <<<"$lifted"
check "(c) no ban left" grep -q '"result":\[\]' <<<"$(api "$BASE/rampart/bans")"
after=$(ip netns exec "$NS_C" timeout 30 "${SU[@]}" rotate --connect "[$EDGE_IP6]:7001" --prefix "$ROTATE_NET/64" \
  --hold 1 --attempts 0 --out "$TDIR/rotate3.txt")
check "(c) the /64 is served again after the DELETE ($after)" test "$(kv held_ok <<<"$after")" = 1

check "edge still alive" edge_alive
echo "FIGURES peak fds (a) $(kv fds_peak <"$TDIR/watch_a.out") (b) $(kv fds_peak <"$TDIR/watch_b.out")" \
  "of limit $(ip netns exec "$NS_E" bash -c "ulimit -n"); peak RSS (a) $(kv rss_peak_kib <"$TDIR/watch_a.out") KiB" \
  "(b) $(kv rss_peak_kib <"$TDIR/watch_b.out") KiB"
stop_edge
rpt_finish
