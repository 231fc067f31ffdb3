#!/usr/bin/env bash
# under_attack: legitimate traffic through a proxy during a connection flood, Rampart vs HAProxy
# with equivalent per-source limits, same run, interleaved (rampart haproxy rampart haproxy ...).
#
#   bench/under_attack.sh [--reps N] [--seconds S] [--rate R] [--proxies rampart,haproxy]
#   RAMPART_BIN=/path/to/rampart bench/under_attack.sh
#
# Loopback only, one fresh origin and one fresh proxy per measurement:
#   origin   tools/under_attack.c origin: echo, reads the PROXY v1 line both proxies send, and
#            counts connections by client address (127.0.0.2 = attacker, 127.0.0.1 = legit)
#   quiet    the legitimate client alone for 5 s: R connections/s from 127.0.0.1, each connects,
#            sends 1 KiB, reads it back, closes (open loop: connection i starts at i/R)
#   flood    an attacker at 127.0.0.2 opens connections as fast as it can for S + 0.5 s (128
#            connects in flight, established ones send 16 bytes and are held), while the same
#            legitimate client runs for S seconds starting 0.25 s in
# Per-source limits, the same for both (the legitimate client at R = 100/s is under them):
#   at most 20 open connections and 200 new connections per second per client address.
#   HAProxy:  stick-table type ip size 100k expire 30s store conn_cur,conn_rate(1s)
#             tcp-request connection track-sc0 src
#             tcp-request connection reject if { sc_conn_cur(0) gt 20 } || { sc_conn_rate(0) gt 200 }
#   Rampart:  protection.per_ip { max_connections: 20, new_connections_per_second: 200, burst: 200 }
#             with its default autoban (5 violations in 10 s ban the source for 10 min). HAProxy's
#             conn_rate counts rejected attempts too, so a source that keeps flooding stays over
#             200/s and is refused for as long as it floods: the same effect as the ban.
#   Both: 2 threads/workers, PROXY v1 to the origin, everything else default (Rampart keeps its
#   event log on: one NDJSON event per refused connection; HAProxy has no log configured).
# Reported per proxy (median over reps, and the spread min..max): legitimate success rate and
# goodput (successful connections/s, echoed KiB/s), legitimate p99 connect time (connect() to
# established) and round trip (connect() to the last echoed byte), quiet and under the flood,
# attacker connections that reached the origin (total, most at once), flood attempts, proxy CPU
# during the flood phase (% of one core, all threads) and per attacker attempt, proxy peak RSS
# (VmHWM). The attacker is a closed loop (a refused slot reconnects at once), so the faster a
# proxy refuses, the more attempts it gets: compare CPU per attempt, not CPU alone.
# Tools are built with gcc -O2 into a temp dir; every process is tracked by PID and stopped by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RAMPART_BIN=${RAMPART_BIN:-$ROOT/build/rampart}
REPS=3
SECONDS_FLOOD=10
RATE=100
QUIET_S=5
PROXIES=rampart,haproxy
while (($#)); do
  case $1 in
    --reps) REPS=$2; shift 2 ;;
    --seconds) SECONDS_FLOOD=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --proxies) PROXIES=$2; shift 2 ;;
    -h | --help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -ra PROXY_LIST <<<"$PROXIES"

log() { printf '[under_attack %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WORK=$(mktemp -d /tmp/under_attack.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.2
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n ${UA_KEEP:-} ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"

gcc -O2 -Wall -Wextra -o "$WORK/under_attack" "$ROOT/bench/tools/under_attack.c" || die "building the tools failed"
UA=$WORK/under_attack
HZ=$(getconf CLK_TCK)

port_in_use() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
PORT=""
for p in $(seq 19400 10 19800); do
  if ! port_in_use "$p" && ! port_in_use $((p + 1)) && ! port_in_use $((p + 2)); then PORT=$p; break; fi
done
[[ -n $PORT ]] || die "no free port triple in 19400-19800"
ORIGIN_PORT=$((PORT + 1))
API_PORT=$((PORT + 2))

# spawn NAME CMD...: background, output to $WORK/NAME.log; sets SPAWNED.
spawn() {
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  SPAWNED=$!
  PIDS+=("$SPAWNED")
}
stop() { # stop PID: TERM, wait up to 3 s, KILL
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
wait_listen() { # wait_listen PORT PID
  for _ in $(seq 100); do
    port_in_use "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat"; }
kv() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

start_rampart() {
  [[ -x $RAMPART_BIN ]] || die "no rampart binary at $RAMPART_BIN (make build, or set RAMPART_BIN)"
  rm -rf "${WORK:?}/var"
  cat >"$WORK/rampart.yaml" <<CFG
edge:
  colo: BENCH
  listen: ["127.0.0.1"]
  egress_ips: ["127.0.0.1"]
  data_dir: $WORK/var
  workers: 2
api:
  listen: 127.0.0.1:$API_PORT
  token: bench-token-0123456789
protection:
  per_ip: { max_connections: 20, new_connections_per_second: 200, burst: 200,
            udp_packets_per_second: 0 }
  autoban: { violations: 5, window: 10s, duration: 10m }
apps:
  - id: bench
    protocol: tcp/$PORT
    edge_ips: { type: static, ips: ["127.0.0.1"] }
    origin_direct: ["tcp://127.0.0.1:$ORIGIN_PORT"]
    proxy_protocol: v1
CFG
  spawn rampart "$RAMPART_BIN" serve -c "$WORK/rampart.yaml"
}

start_haproxy() {
  cat >"$WORK/haproxy.cfg" <<CFG
global
    nbthread 2

defaults
    mode tcp
    timeout connect 5s
    timeout client  120s
    timeout server  120s

frontend fe
    bind 127.0.0.1:$PORT
    stick-table type ip size 100k expire 30s store conn_cur,conn_rate(1s)
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc_conn_cur(0) gt 20 } || { sc_conn_rate(0) gt 200 }
    default_backend be

backend be
    server origin 127.0.0.1:$ORIGIN_PORT send-proxy
CFG
  spawn haproxy haproxy -db -f "$WORK/haproxy.cfg"
}

proxy_version() {
  case $1 in
    rampart) "$RAMPART_BIN" version 2>/dev/null | head -1 ;;
    haproxy) haproxy -v 2>/dev/null | head -1 | cut -d' ' -f1-3 ;;
  esac
}

RAW=$WORK/raw.txt
: >"$RAW"
# measure REP PROXY: one fresh origin + proxy, the quiet phase, then the flood phase.
measure() {
  local rep=$1 proxy=$2 origin_pid proxy_pid quiet flood legit cpu0 cpu1 t0 t1 hwm counts
  spawn origin "$UA" origin -p "$ORIGIN_PORT"
  origin_pid=$SPAWNED
  wait_listen "$ORIGIN_PORT" "$origin_pid" || die "origin did not start: $(cat "$WORK/origin.log")"
  "start_$proxy"
  proxy_pid=$SPAWNED
  wait_listen "$PORT" "$proxy_pid" || die "$proxy did not start: $(tail -5 "$WORK/$proxy.log")"
  sleep 0.3
  quiet=$(timeout 30 "$UA" legit -p "$PORT" -b 127.0.0.1 -r "$RATE" -d "$QUIET_S")
  cpu0=$(cpu_ticks "$proxy_pid")
  t0=$(date +%s.%N)
  timeout 60 "$UA" flood -p "$PORT" -b 127.0.0.2 -c 128 -d "$(awk -v s="$SECONDS_FLOOD" 'BEGIN { print s + 0.5 }')" \
    >"$WORK/flood.out" 2>&1 &
  local flood_pid=$!
  PIDS+=("$flood_pid")
  sleep 0.25
  legit=$(timeout 60 "$UA" legit -p "$PORT" -b 127.0.0.1 -r "$RATE" -d "$SECONDS_FLOOD")
  wait "$flood_pid" || true
  t1=$(date +%s.%N)
  cpu1=$(cpu_ticks "$proxy_pid")
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$proxy_pid/status")
  flood=$(cat "$WORK/flood.out")
  stop "$proxy_pid"
  stop "$origin_pid"
  counts=$(cat "$WORK/origin.log")
  local cpu
  cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", (b - a) / hz / (t1 - t0) * 100 }')
  # One raw line per measurement: rep proxy key=value...
  echo "rep=$rep proxy=$proxy" \
    "success_pct=$(awk -v o="$(kv ok <<<"$legit")" -v n="$(kv attempts <<<"$legit")" 'BEGIN { printf "%.2f", 100 * o / n }')" \
    "ok_per_s=$(kv ok_per_s <<<"$legit") kib_per_s=$(awk -v b="$(kv bytes_per_s <<<"$legit")" 'BEGIN { printf "%.1f", b / 1024 }')" \
    "connect_p99_quiet_us=$(kv connect_p99_us <<<"$quiet") connect_p99_us=$(kv connect_p99_us <<<"$legit")" \
    "rtt_p99_quiet_us=$(kv rtt_p99_us <<<"$quiet") rtt_p99_us=$(kv rtt_p99_us <<<"$legit")" \
    "quiet_ok=$(kv ok <<<"$quiet")/$(kv attempts <<<"$quiet")" \
    "attacker_at_origin=$(kv attacker_conns <<<"$counts") attacker_max_open=$(kv attacker_max_open <<<"$counts")" \
    "flood_attempts=$(kv attempts <<<"$flood") proxy_cpu=$cpu" \
    "cpu_us_per_attempt=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" -v n="$(kv attempts <<<"$flood")" 'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / (n > 0 ? n : 1) }')" \
    "rss_peak_mib=$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "legit_errors=connect:$(kv err_connect <<<"$legit"),reset:$(kv err_reset <<<"$legit"),timeout:$(kv err_timeout <<<"$legit")" |
    tee -a "$RAW" >&2
}

log "proxies: $PROXIES; $REPS reps; legit $RATE conn/s (quiet ${QUIET_S} s, then ${SECONDS_FLOOD} s under the flood); ports $PORT (proxy) $ORIGIN_PORT (origin)"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq "$REPS"); do
  for proxy in "${PROXY_LIST[@]}"; do
    measure "$rep" "$proxy"
  done
done
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the table: metrics as rows, proxies as columns; median of the reps and min..max
metrics=(
  "success_pct|legit success under the flood|%|higher"
  "ok_per_s|legit goodput|conn/s|higher"
  "kib_per_s|legit goodput|KiB/s|higher"
  "connect_p99_quiet_us|legit p99 connect, quiet|us|lower"
  "connect_p99_us|legit p99 connect, flood|us|lower"
  "rtt_p99_quiet_us|legit p99 round trip, quiet|us|lower"
  "rtt_p99_us|legit p99 round trip, flood|us|lower"
  "attacker_at_origin|attacker connections at the origin|count|lower"
  "attacker_max_open|attacker connections open at once at the origin|count|lower"
  "flood_attempts|attacker connection attempts|count|-"
  "proxy_cpu|proxy CPU during the flood phase|%core|lower"
  "cpu_us_per_attempt|proxy CPU per attacker attempt|us|lower"
  "rss_peak_mib|proxy peak RSS (VmHWM)|MiB|lower"
)
median() { # median of the values of KEY for PROXY; "median (min..max)" when they differ
  grep " proxy=$2 " "$RAW" | tr ' ' '\n' | sed -n "s/^$1=//p" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      if (v[1] == v[NR]) printf "%g\n", m; else printf "%g (%g..%g)\n", m, v[1], v[NR] }'
}
header="| metric | unit | better |"
sep="|---|---|---|"
for proxy in "${PROXY_LIST[@]}"; do header+=" $proxy |"; sep+="---|"; done
echo
for proxy in "${PROXY_LIST[@]}"; do echo "- $proxy: $(proxy_version "$proxy")"; done
echo
echo "$header"
echo "$sep"
for m in "${metrics[@]}"; do
  IFS='|' read -r key name unit better <<<"$m"
  row="| $name | $unit | $better |"
  for proxy in "${PROXY_LIST[@]}"; do row+=" $(median "$key" "$proxy") |"; done
  echo "$row"
done
if [[ " ${PROXY_LIST[*]} " == *" rampart "* && " ${PROXY_LIST[*]} " == *" haproxy "* ]]; then
  med() { median "$1" "$2" | cut -d' ' -f1; }
  verdict=$(awk -v rs="$(med success_pct rampart)" -v hs="$(med success_pct haproxy)" \
    -v rg="$(med ok_per_s rampart)" -v hg="$(med ok_per_s haproxy)" \
    'BEGIN { print (rs >= hs && rg >= hg) ? "yes" : "no" }')
  echo
  echo "Rampart keeps >= HAProxy's legit success rate at >= its goodput (medians): $verdict"
fi
echo
echo "raw lines: one per measurement (rep proxy key=value...)"
sed 's/^/    /' "$RAW"
