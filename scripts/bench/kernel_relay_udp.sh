#!/usr/bin/env bash
# Quick micro-benchmark of the UDP kernel relay (docs/kernel-relay-udp.md, "Measurements"): UDP
# round trips (64-byte datagrams, FLOWS flows with one datagram in flight each) through the edge
# with kernel_relay off and on, over veth namespaces (client -- edge -- origin, ip_forward=0 in
# the edge) and on loopback (client, edge and origin in one namespace), plus the direct path
# (the edge namespace routing with ip_forward=1, no proxy). Prints round trips/s, RTT and the
# edge process's CPU per 1000 round trips (user space only: the tc program runs in softirq,
# counted in the system's si column, printed too).
#   RAMPART_BIN=build/rampart scripts/bench/kernel_relay_udp.sh [SECONDS] [FLOWS...]
set -euo pipefail
BIN=${RAMPART_BIN:-build/rampart}
SECS=${1:-5}
shift || true
FLOWS=("${@:-1 16}")
read -ra FLOWS <<<"${FLOWS[*]}"
T=$(mktemp -d /tmp/krbench.XXXXXX)
P=krb$$
gcc -O2 -o "$T/pp" "$(dirname "$0")/udp_pingpong.c"
cleanup() {
  for ns in ${P}c ${P}e ${P}o; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT
for ns in ${P}c ${P}e ${P}o; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add ${P}c0 netns ${P}c type veth peer name ${P}e0 netns ${P}e
ip link add ${P}e1 netns ${P}e type veth peer name ${P}o0 netns ${P}o
ip -n ${P}c addr add 10.99.1.2/24 dev ${P}c0
ip -n ${P}e addr add 10.99.1.1/24 dev ${P}e0
ip -n ${P}e addr add 10.99.2.1/24 dev ${P}e1
ip -n ${P}o addr add 10.99.2.2/24 dev ${P}o0
for d in "${P}c ${P}c0" "${P}e ${P}e0" "${P}e ${P}e1" "${P}o ${P}o0"; do
  read -r ns dev <<<"$d"
  ip -n "$ns" link set "$dev" up
done
ip -n ${P}c route add default via 10.99.1.1
ip -n ${P}o route add default via 10.99.2.1
ip netns exec ${P}e sysctl -qw net.ipv4.ip_forward=0
sleep 0.3
ip netns exec ${P}o "$T/pp" echo 10.99.2.2 9000 &
ip netns exec ${P}e "$T/pp" echo 127.0.0.1 9001 &

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
softirq() { awk '/^cpu / {print $8}' /proc/stat; }
run() { # label ns target port flows edge_pid
  local label=$1 ns=$2 target=$3 port=$4 flows=$5 pid=${6:-}
  local c0=0 c1=0 s0 s1 out
  [[ -n $pid ]] && c0=$(cpu_of "$pid")
  s0=$(softirq)
  out=$(ip netns exec "$ns" "$T/pp" ping "$target" "$port" "$flows" "$SECS")
  s1=$(softirq)
  [[ -n $pid ]] && c1=$(cpu_of "$pid")
  local rts=${out#round_trips_per_s=}
  rts=${rts%% *}
  local per_k
  per_k=$(python3 -c "import sys; r=float(sys.argv[1])*float(sys.argv[3]); print('%.1f' % ((int(sys.argv[2]) / 100.0) * 1000 / r * 1000) if r else 'n/a')" "$rts" "$((c1 - c0))" "$SECS")
  local si_k
  si_k=$(python3 -c "import sys; r=float(sys.argv[1])*float(sys.argv[3]); print('%.1f' % ((int(sys.argv[2]) / 100.0) * 1000 / r * 1000) if r else 'n/a')" "$rts" "$((s1 - s0))" "$SECS")
  printf '%-28s flows=%-3s %s edge_cpu_ms_per_1k=%s softirq_ms_per_1k=%s\n' "$label" "$flows" "$out" "$per_k" "$si_k"
}

edge() { # mode
  cat >"$T/rampart.yaml" <<YAML
edge:
  colo: BENCH
  listen: ["10.99.1.1", "127.0.0.1"]
  data_dir: $T/var-$1
  workers: 1
api:
  listen: 127.0.0.1:8799
  token: bench-token-0123456789
events: { enabled: false }
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: veth
    protocol: udp/7001
    edge_ips: { type: static, ips: ["10.99.1.1"] }
    origin_direct: ["udp://10.99.2.2:9000"]
    kernel_relay: $1
    load_balancing: { health_check: { enabled: false } }
  - id: lo
    protocol: udp/7002
    edge_ips: { type: static, ips: ["127.0.0.1"] }
    origin_direct: ["udp://127.0.0.1:9001"]
    kernel_relay: $1
    load_balancing: { health_check: { enabled: false } }
YAML
  ip netns exec ${P}e "$BIN" serve -c "$T/rampart.yaml" >"$T/edge-$1.log" 2>&1 &
  EDGE=$!
  for _ in $(seq 50); do
    ip netns exec ${P}e ss -Hlun | grep -q ':7002 ' && break
    sleep 0.1
  done
}

for f in "${FLOWS[@]}"; do
  ip netns exec ${P}e sysctl -qw net.ipv4.ip_forward=1
  run "direct (ip_forward=1)" ${P}c 10.99.2.2 9000 "$f"
  run "direct loopback" ${P}e 127.0.0.1 9001 "$f"
  ip netns exec ${P}e sysctl -qw net.ipv4.ip_forward=0
done
for mode in off on; do
  edge $mode
  for f in "${FLOWS[@]}"; do
    run "veth kernel_relay=$mode" ${P}c 10.99.1.1 7001 "$f" "$EDGE"
    run "loopback kernel_relay=$mode" ${P}e 127.0.0.1 7002 "$f" "$EDGE"
  done
  grep -h "kernel relay" "$T/edge-$mode.log" | head -2 || true
  kill "$EDGE"
  wait "$EDGE" 2>/dev/null || true
done
