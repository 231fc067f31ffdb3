#!/usr/bin/env bash
# Issue #4, floods 1 and 3 (and 7, memory, for both).
#
# 1. Connection flood: an attacker address opens (and holds) connections as fast as it can for
#    11 s while a legitimate client makes 1,000 connections paced at 100/s (a realistic client,
#    below the per-source limits, which apply to it too: no whitelist). First the same 1,000
#    paced connections without the flood give the quiet baseline. Checks: >= 99.5% of the
#    legitimate connections succeed under the flood; their p99 connect time stays under 3x the
#    quiet p99 (the quiet p99 is floored at 1 ms: a loopback-like 0.1 ms baseline would make the
#    bound 0.3 ms, below the scheduling noise of a 2-core box, i.e. meaningless); the guard never
#    refused the legitimate client; the origin (which learns client addresses from PROXY v1)
#    never holds more attacker connections at once than per_ip.max_connections and receives no
#    more in total than the new-connection bucket allows (burst + rate x seconds).
# 3. UDP flood at a DNS app from one source, and from reflection source ports (NTP 123,
#    chargen 19) at the same time: legitimate dig queries succeed (>= 99%), the origin receives no
#    datagram from a reflection port, and the flood is cut to its per-source datagram rate.
# 7. The edge's VmRSS is sampled during each flood; the peak must stay under RSS_BOUND_MIB
#    (docs/guard.md, "Memory under attack").
# Figures are printed on FIGURES lines.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
ulimit -n "$(ulimit -Hn)" # the flood holds up to 500 sockets
GU=(python3 "$RPT_HELPERS/guardutil.py")
ATTACKER=10.77.1.66  # the TCP flood; banned by the end of it (for all apps)
UDP_ATTACKER=10.77.1.67  # the UDP flood: a fresh address, so that its rate limit is what is tested
ip -n "$NS_C" addr add "$ATTACKER/24" dev "${RPT_IF}c0"
ip -n "$NS_C" addr add "$UDP_ATTACKER/24" dev "${RPT_IF}c0"

LIMIT=20        # per_ip.max_connections
RATE=200        # per_ip.new_connections_per_second
BURST=400       # per_ip.burst
LEGIT_RATE=100  # the legitimate client's pace, half the per-source rate
FLOOD_S=11      # covers the 10 s of the legitimate client (it starts 0.5 s in)
P99_FLOOR_MS=1  # floor of the quiet p99 (see above)
RSS_BOUND_MIB=${RSS_BOUND_MIB:-64}

rpt_spawn origin "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:7000" --log "$TDIR/origin.conns"
rpt_spawn dns "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:53" --log "$TDIR/dns.log" --udp-dns
require "origin listens" wait_port "$NS_O" tcp 7000
require "dns origin bound" wait_port "$NS_O" udp 53

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
  per_ip: { max_connections: $LIMIT, new_connections_per_second: $RATE, burst: $BURST,
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
EV=$TDIR/var/events.ndjson

kv() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
# legit COUNT: paced legitimate connections from the client address; prints stats. At nice -10,
# in the quiet run and under the flood alike: on this 2-core box the attacker's generator and the
# legitimate client share the CPUs, and a real client does not share a machine with its attacker.
# Mostly asleep (100 connections/s), the client takes little CPU from the flood or the edge, but
# gets it promptly when woken, so its connect times measure the edge, not the generator's CPU use.
legit() {
  ip netns exec "$NS_C" timeout 60 nice -n -10 "${GU[@]}" legit --connect "$EDGE_IP:7000" --count "$1" \
    --rate "$LEGIT_RATE" --bind "$CLIENT_IP" --stats || echo "ok=0 connect_p99_ms=99999"
}
rss_watch() { # rss_watch SECONDS OUT: sample the edge's VmRSS in the background
  "${GU[@]}" rss --pid "$EDGE_PID" --seconds "$1" >"$2" 2>&1 &
  RSS_PID=$!
  RPT_PIDS+=("$RSS_PID")
}
edge_nstat() {
  ip netns exec "$NS_E" nstat -asz TcpExtListenOverflows TcpExtListenDrops TcpExtSyncookiesSent \
    TcpExtTCPReqQFullDrop | awk 'NR > 1 { printf "%s=%s ", $1, $2 }'
}

# --- 1a. quiet baseline: the same paced client, no flood
quiet=$(legit 1000)
echo "FIGURES quiet:  $quiet"
q_ok=$(kv ok <<<"$quiet")
q_p99=$(kv connect_p99_ms <<<"$quiet")
check "quiet baseline: every legitimate connection succeeds ($q_ok/1000)" test "${q_ok:-0}" -ge 1000

# --- 1b. the connection flood (bounded: FLOOD_S seconds, timeout), the legitimate client alongside
rss_watch $((FLOOD_S + 1)) "$TDIR/rss_tcp.out"
ip netns exec "$NS_C" timeout 30 "${GU[@]}" flood --connect "$EDGE_IP:7000" --seconds "$FLOOD_S" \
  --bind "$ATTACKER" >"$TDIR/flood.out" 2>&1 &
flood_pid=$!
RPT_PIDS+=("$flood_pid")
sleep 0.5
flood=$(legit 1000)
wait "$flood_pid" || true
wait "$RSS_PID" || true # it ends one second after the flood
echo "FIGURES flood:  $flood ($(cat "$TDIR/flood.out"))"
f_ok=$(kv ok <<<"$flood")
f_p99=$(kv connect_p99_ms <<<"$flood")
check "under the flood: >= 99.5% of 1000 legitimate connections succeed ($f_ok)" test "${f_ok:-0}" -ge 995
bound=$(awk -v q="$q_p99" -v f="$P99_FLOOR_MS" 'BEGIN { printf "%.3f", 3 * (q > f ? q : f) }')
check "p99 connect time under the flood ${f_p99} ms < 3 x max(quiet p99 ${q_p99} ms, ${P99_FLOOR_MS} ms) = $bound ms" \
  awk -v f="$f_p99" -v b="$bound" 'BEGIN { exit !(f < b) }'
legit_filtered=$(grep -c "\"Event\":\"clientFiltered\".*\"ClientIP\":\"$CLIENT_IP\"" "$EV" || true)
assert_eq "the guard never refused the legitimate client" 0 "$legit_filtered"
echo "FIGURES edge nstat after the TCP flood: $(edge_nstat)"

# The origin's log: open/close per connection with the client address (PROXY v1).
max_open=$(awk -v a="$ATTACKER" '$2 == a { if ($1 == "open") n++; else n--; if (n > m) m = n } END { print m + 0 }' "$TDIR/origin.conns")
total=$(awk -v a="$ATTACKER" '$1 == "open" && $2 == a' "$TDIR/origin.conns" | wc -l)
allowed=$((BURST + RATE * FLOOD_S))
echo "FIGURES attacker at the origin: $total connections, at most $max_open at once"
check "origin never held more than $LIMIT attacker connections at once ($max_open)" test "$max_open" -le "$LIMIT"
check "origin got no more attacker connections than burst + rate x ${FLOOD_S} s = $allowed ($total)" \
  test "$total" -le "$allowed"
check_event "attacker refused (clientFiltered 403)" "$EV" 5 \
  Event=clientFiltered Status=403 ClientIP="$ATTACKER"
check "the edge logged a ban of the attacker" grep -q "guard: banned $ATTACKER" "$EDGE_LOG"
rss_tcp=$(kv rss_peak_kib <"$TDIR/rss_tcp.out")
echo "FIGURES edge RSS during the TCP flood: $(cat "$TDIR/rss_tcp.out")"
check "edge RSS peak during the TCP flood $((rss_tcp / 1024)) MiB < $RSS_BOUND_MIB MiB" \
  test "${rss_tcp:-0}" -gt 0 -a "${rss_tcp:-0}" -lt $((RSS_BOUND_MIB * 1024))

# --- 3. UDP: a flood from one source, and from reflection ports, dig alongside
rss_watch 7 "$TDIR/rss_udp.out"
ufl=()
ip netns exec "$NS_C" timeout 20 "${GU[@]}" udpflood --connect "$EDGE_IP:53" --seconds 5 --bind "$UDP_ATTACKER" >"$TDIR/uflood.out" 2>&1 &
ufl+=("$!")
ip netns exec "$NS_C" timeout 20 "${GU[@]}" udpflood --connect "$EDGE_IP:53" --seconds 5 --bind "$CLIENT_IP" --sport 123 --payload REFLECT >"$TDIR/refl123.out" 2>&1 &
ufl+=("$!")
ip netns exec "$NS_C" timeout 20 "${GU[@]}" udpflood --connect "$EDGE_IP:53" --seconds 5 --bind "$CLIENT_IP" --sport 19 --payload REFLECT >"$TDIR/refl19.out" 2>&1 &
ufl+=("$!")
RPT_PIDS+=("${ufl[@]}")
good=0
for i in $(seq 100); do
  if ip netns exec "$NS_C" timeout 3 dig +tries=1 +time=1 -b "$CLIENT_IP" "@$EDGE_IP" "q$i.example" A 2>/dev/null | grep -q 'status: NOERROR'; then
    good=$((good + 1))
  fi
done
wait "${ufl[@]}" || true
echo "FIGURES udp: $(cat "$TDIR/uflood.out") from one source; reflection: $(cat "$TDIR/refl123.out") from :123, $(cat "$TDIR/refl19.out") from :19"
echo "FIGURES dig queries answered: $good / 100"
check "legitimate dig: >= 99% answered ($good)" test "$good" -ge 99
sleep 0.5
# The origin logs the first bytes of every datagram in hex: 5245464c454354 = "REFLECT",
# 464c4f4f44 = "FLOOD".
refl=$(grep -c "dgram 5245464c454354" "$TDIR/dns.log" || true)
assert_eq "origin received no datagram from a reflection port" 0 "$refl"
flood_in=$(grep -c "dgram 464c4f4f44" "$TDIR/dns.log" || true)
echo "FIGURES flood datagrams that reached the origin: $flood_in"
# At most udp_burst 1000 + 500/s over the 5 s flood, plus 1 s for the start and end of three
# processes. In practice the burst passes, then 500/s until the third over-rate second bans the
# source (autoban, ~2 s in): 1,500-1,900 arrived in test runs. Some must arrive: this source is
# fresh (the TCP flood's attacker is banned for all apps), so this is the datagram bucket at work.
check "the flood was cut to its datagram rate: 100 <= $flood_in <= 1000 + 500/s x 6 s" \
  test "$flood_in" -ge 100 -a "$flood_in" -le 4000
check "the UDP flood's source was banned too (over-rate datagrams are violations)" \
  grep -q "guard: banned $UDP_ATTACKER" "$EDGE_LOG"
wait "$RSS_PID" || true
rss_udp=$(kv rss_peak_kib <"$TDIR/rss_udp.out")
echo "FIGURES edge RSS during the UDP flood: $(cat "$TDIR/rss_udp.out")"
check "edge RSS peak during the UDP flood $((${rss_udp:-0} / 1024)) MiB < $RSS_BOUND_MIB MiB" \
  test "${rss_udp:-0}" -gt 0 -a "${rss_udp:-0}" -lt $((RSS_BOUND_MIB * 1024))
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
