#!/usr/bin/env bash
# XDP fast path (protection.xdp, docs/xdp.md) under a bounded SYN flood from a spoofing attacker
# while four legitimate clients make 200 connections (50 each, paced over 4 s):
#   (a) a flood from one spoofed address (hping3 -a): with XDP in native mode on the edge's
#       client-facing veth, the per-source SYN bucket drops it before the socket layer: the edge
#       namespace's TcpInSegs grows by < 10% of the flood beyond what the legitimate load alone
#       causes; >= 99% of the legitimate connections succeed;
#   (b) a flood from random spoofed addresses (--rand-source): every address sends about one SYN,
#       so no per-source rule can catch it; SYN cookies (set in the edge namespace only) keep the
#       accept queue usable and >= 99% of the legitimate connections succeed; what XDP did is
#       printed;
#   both again with XDP off, for comparison (printed, and the legitimate clients must still
#   succeed); then an autoban ban made by the userspace guard is dropped by XDP (the ban hook).
# Also: generic mode attaches, and a missing interface is one log line and a working edge.
# Socket-layer figure: nstat TcpInSegs (segments handed to TCP, after XDP, before any socket);
# TcpExtSyncookiesSent, TcpExtListenOverflows/ListenDrops and IpInReceives are printed with it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
command -v hping3 >/dev/null || { echo "SKIP: hping3 missing (make deps)"; exit 1; }
GU=(python3 "$RPT_HELPERS/guardutil.py")
XU=(python3 "$RPT_HELPERS/xdputil.py")
IFACE=${RPT_IF}e0
FLOOD=20000
SPOOF=198.51.100.77
LEGIT=(10.77.1.2 10.77.1.3 10.77.1.4 10.77.1.5)
ATTACKER=10.77.1.66
for host in 3 4 5 66; do ip -n "$NS_C" addr add "10.77.1.$host/24" dev "${RPT_IF}c0"; done
# Replies to spoofed sources leave toward the client namespace, which drops them (it forwards
# nothing): the edge holds half-open connections, as it would on the internet.
ip -n "$NS_E" route add default via "$CLIENT_IP"
ip netns exec "$NS_E" sysctl -qw net.ipv4.tcp_syncookies=1

rpt_spawn origin "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:7000" --log "$TDIR/origin.conns"
require "origin listens" wait_port "$NS_O" tcp 7000

# write_config XDP_MODE [PER_IP_LIMITS] [AUTOBAN]
write_config() {
  local mode=$1
  local per_ip=${2:-"{ max_connections: 0, new_connections_per_second: 50, burst: 100, udp_packets_per_second: 0 }"}
  local autoban=${3:-"{ violations: 0 }"}
  cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 1s
api:
  listen: 127.0.0.1:8788
  token: test-token-$RPT_ID
protection:
  per_ip: $per_ip
  max_connections: 0
  autoban: $autoban
  xdp: { interface: $IFACE, mode: $mode }
${EXTRA_YAML:-}
apps:
  - id: app
    protocol: tcp/7000
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    ip_firewall: true
YAML
}

COUNTERS=(TcpInSegs IpInReceives TcpExtSyncookiesSent TcpExtListenOverflows TcpExtListenDrops TcpPassiveOpens)
# snap FILE: the edge namespace's counters now.
snap() { ip netns exec "$NS_E" "${XU[@]}" nstat "${COUNTERS[@]}" >"$1"; }
# delta BEFORE AFTER NAME
delta() { echo $(($(awk -v n="$3" '$1 == n {print $2}' "$2") - $(awk -v n="$3" '$1 == n {print $2}' "$1"))); }

# legit_load: 4 clients x 50 paced connections (4 s); sets LEGIT_OK.
legit_load() {
  local pids=() i=0 ip
  for ip in "${LEGIT[@]}"; do
    ip netns exec "$NS_C" "${XU[@]}" legit --connect "$EDGE_IP:7000" --bind "$ip" --count 50 \
      --seconds 4 >"$TDIR/legit.$i" &
    pids+=($!)
    i=$((i + 1))
  done
  wait "${pids[@]}" || true
  LEGIT_OK=$(cat "$TDIR"/legit.* | awk '{s += $1} END {print s + 0}')
  rm -f "$TDIR"/legit.*
}

# start_phase MODE: (re)start the edge with protection.xdp.mode MODE.
start_phase() {
  write_config "$1" "${@:2}"
  : >"$TDIR/edge.log"
  start_edge "$NS_E" "$TDIR/rampart.yaml"
  require "edge listens (xdp $1)" wait_port "$NS_E" tcp 7000
}

# xdp_on_iface MODE: rampart_guard is attached to the edge's interface in MODE, as `ip -d link`
# names it on the link line: "xdp" (native) or "xdpgeneric".
# shellcheck disable=SC2317  # called through check
xdp_on_iface() {
  local out
  out=$(ip -n "$NS_E" -d link show dev "$IFACE")
  grep -q " $1 " <<<"$out" && grep -q "prog/xdp .*name rampart_guard" <<<"$out"
}

# wait_log TEXT [TIMEOUT_S]: until the edge log contains TEXT.
# shellcheck disable=SC2317  # called through check
wait_log() {
  local deadline=$((SECONDS + ${2:-5}))
  while ((SECONDS <= deadline)); do
    grep -qF "$1" "$EDGE_LOG" && return 0
    sleep 0.05
  done
  return 1
}

# xdp_summary: the edge's last "xdp: detached" line (counters of the phase), or "xdp off".
xdp_summary() { grep -o 'xdp: detached.*' "$EDGE_LOG" | tail -n 1 || echo "xdp off"; }

# flood_phase LABEL HPING_SOURCE_ARGS...: flood + legit load at once; sets SEEN_PCT (flood
# segments that reached TCP, % of the flood) and LEGIT_OK, prints the figures.
BASE_SEGS=0
flood_phase() {
  local label=$1
  shift
  snap "$TDIR/before"
  ip netns exec "$NS_C" timeout 30 hping3 -q -S -p 7000 -c "$FLOOD" -i u200 "$@" "$EDGE_IP" \
    >"$TDIR/hping.log" 2>&1 &
  local hp=$!
  sleep 0.3
  legit_load
  wait "$hp" || true
  sleep 0.5
  snap "$TDIR/after"
  local segs cookies
  segs=$(delta "$TDIR/before" "$TDIR/after" TcpInSegs)
  cookies=$(delta "$TDIR/before" "$TDIR/after" TcpExtSyncookiesSent)
  SEEN_PCT=$(awk -v s="$segs" -v b="$BASE_SEGS" -v f="$FLOOD" \
    'BEGIN {x = (s - b) * 100 / f; if (x < 0) x = 0; printf "%.1f", x}')
  echo "FIGURES $label: legit $LEGIT_OK/200 ok; edge nstat: TcpInSegs +$segs" \
    "(legit-only baseline $BASE_SEGS => flood at the socket layer ~$SEEN_PCT% of $FLOOD)," \
    "IpInReceives +$(delta "$TDIR/before" "$TDIR/after" IpInReceives)," \
    "SyncookiesSent +$cookies, ListenOverflows +$(delta "$TDIR/before" "$TDIR/after" TcpExtListenOverflows)," \
    "ListenDrops +$(delta "$TDIR/before" "$TDIR/after" TcpExtListenDrops)," \
    "PassiveOpens +$(delta "$TDIR/before" "$TDIR/after" TcpPassiveOpens)"
}

# 0. Generic mode attaches too; an interface that does not exist costs one log line, and the edge
# serves anyway (userspace guard only).
start_phase generic
check "generic mode: rampart_guard attached as xdpgeneric" xdp_on_iface xdpgeneric
check "generic mode: a client is relayed" ip netns exec "$NS_C" "${GU[@]}" send --connect "$EDGE_IP:7000" --hex 68690a --bind "$CLIENT_IP"
# A reload that adds a block rule reaches the kernel's LPM trie: the SYNs of 10.77.1.3 are dropped
# there (the connect times out), the other client is still relayed.
EXTRA_YAML='ip_access_rules: [{ mode: block, configuration: { target: ip_range, value: 10.77.1.3/32 } }]'
write_config generic
EXTRA_YAML=""
edge_reload
check "reload: xdp maps synced with the rule" wait_log "maps synced: 1 ports, 1 profiles, 1 ip access rules"
check "reload: blocked client gets no connection" bash -c "! ip netns exec '$NS_C' ${GU[*]} send --connect '$EDGE_IP:7000' --hex 68690a --bind 10.77.1.3"
check "reload: other client still relayed" ip netns exec "$NS_C" "${GU[@]}" send --connect "$EDGE_IP:7000" --hex 68690a --bind "$CLIENT_IP"
stop_edge 10
check "generic mode: xdp dropped the blocked client's SYNs (block_ip)" grep -Eq 'xdp: detached.*block_ip [1-9]' "$EDGE_LOG"
check "generic mode: detached at exit" bash -c "! ip -n '$NS_E' -d link show dev '$IFACE' | grep -q rampart_guard"
IFACE_REAL=$IFACE
IFACE=nosuch0
start_phase native
assert_eq "missing interface: exactly one xdp line" 1 "$(grep -c 'xdp:' "$EDGE_LOG" || true)"
check "missing interface: the line says why and that the guard runs in userspace" \
  grep -q "xdp: not attached to nosuch0 (native): no such interface; the guard runs in userspace only" "$EDGE_LOG"
check "missing interface: a client is relayed" ip netns exec "$NS_C" "${GU[@]}" send --connect "$EDGE_IP:7000" --hex 68690a --bind "$CLIENT_IP"
stop_edge 10
IFACE=$IFACE_REAL

# 1. The legitimate load alone (XDP off): how many TCP segments it costs the edge.
start_phase off
snap "$TDIR/before"
legit_load
sleep 0.5
snap "$TDIR/after"
BASE_SEGS=$(delta "$TDIR/before" "$TDIR/after" TcpInSegs)
echo "FIGURES baseline (no flood): legit $LEGIT_OK/200 ok, TcpInSegs +$BASE_SEGS"
check "baseline: legit clients succeed (>= 198/200)" test "$LEGIT_OK" -ge 198
stop_edge 10

# 2. XDP native, fixed spoofed source.
start_phase native
check "xdp attached to $IFACE in native mode" grep -q "xdp: attached to $IFACE (native)" "$EDGE_LOG"
check "no 'not enforced' warning for protection.xdp" bash -c "! grep -q 'protection.xdp is accepted' '$EDGE_LOG'"
check "rampart_guard runs in native (driver) mode on $IFACE" xdp_on_iface xdp
flood_phase "xdp native, spoofed source $SPOOF" -a "$SPOOF"
check "xdp on, fixed spoofed source: legit >= 99% (got $LEGIT_OK/200)" test "$LEGIT_OK" -ge 198
check "xdp on, fixed spoofed source: socket layer saw < 10% of the flood (~$SEEN_PCT%)" \
  awk -v p="$SEEN_PCT" 'BEGIN {exit !(p < 10)}'
stop_edge 10
echo "FIGURES xdp native, spoofed source: $(xdp_summary)"
check "xdp counted the SYN-rate drops" grep -Eq 'xdp: detached.*syn_rate [1-9][0-9]{3,}' "$EDGE_LOG"
check "detached on exit" bash -c "! ip -n '$NS_E' -d link show dev '$IFACE' | grep -q rampart_guard"

# 3. XDP native, random spoofed sources.
start_phase native
flood_phase "xdp native, --rand-source" --rand-source
check "xdp on, random sources: legit >= 99% (got $LEGIT_OK/200)" test "$LEGIT_OK" -ge 198
stop_edge 10
echo "FIGURES xdp native, --rand-source: $(xdp_summary)"

# 4. The same floods with XDP off.
start_phase off
flood_phase "xdp off, spoofed source $SPOOF" -a "$SPOOF"
check "xdp off, fixed spoofed source: legit >= 99% (got $LEGIT_OK/200)" test "$LEGIT_OK" -ge 198
flood_phase "xdp off, --rand-source" --rand-source
check "xdp off, random sources: legit >= 99% (got $LEGIT_OK/200)" test "$LEGIT_OK" -ge 198
stop_edge 10

# 5. The ban hook: the userspace guard bans an address that holds too many connections; from
# then on XDP drops its packets (counted as banned) and the other clients still get through.
start_phase native "{ max_connections: 2, new_connections_per_second: 0, udp_packets_per_second: 0 }" \
  "{ violations: 2, window: 10s, duration: 60s }"
ip netns exec "$NS_C" timeout 10 "${GU[@]}" flood --connect "$EDGE_IP:7000" --seconds 3 --bind "$ATTACKER" \
  >"$TDIR/flood.log" 2>&1 || true
check "the guard banned the attacker" grep -q "guard: banned $ATTACKER" "$EDGE_LOG"
check "banned attacker is refused" bash -c "! ip netns exec '$NS_C' ${GU[*]} send --connect '$EDGE_IP:7000' --hex 68690a --bind '$ATTACKER'"
check "other client still relayed" ip netns exec "$NS_C" "${GU[@]}" send --connect "$EDGE_IP:7000" --hex 68690a --bind "$CLIENT_IP"
stop_edge 10
echo "FIGURES ban hook: $(xdp_summary)"
check "xdp dropped the banned source's packets" grep -Eq 'xdp: detached.*banned [1-9]' "$EDGE_LOG"
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
