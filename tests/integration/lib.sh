#!/usr/bin/env bash
# Shared helpers for the namespace integration tests. Source it from a test:
#   source "$(dirname "$0")/lib.sh"; rpt_init; rpt_topology; ...; rpt_finish
#
# Topology (TESTBED.md), names unique per test process:
#   $NS_C (client, 10.77.1.2) -- $NS_E (edge, 10.77.1.1 | 10.77.2.1) -- $NS_O (origin, 10.77.2.2)
# ip_forward is 0 in the edge namespace, so the client can reach the origin only through the edge.
# Everything a test starts goes through rpt_spawn / start_edge, and rpt_cleanup (an EXIT trap set
# by rpt_init) kills those PIDs, anything else left in the namespaces, deletes the namespaces and
# the temp dir.
set -euo pipefail

RPT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RPT_ROOT=$(cd "$RPT_LIB_DIR/../.." && pwd)
RPT_HELPERS=$RPT_LIB_DIR/helpers
RAMPART_BIN=${RAMPART_BIN:-$RPT_ROOT/build/rampart}
NETUTIL=(python3 "$RPT_HELPERS/netutil.py")

CLIENT_IP=10.77.1.2
EDGE_IP=10.77.1.1
EDGE_EGRESS_IP=10.77.2.1
ORIGIN_IP=10.77.2.2

RPT_FAILS=0
RPT_PASSES=0
RPT_PIDS=()
RPT_NAMESPACES=()
EDGE_PID=""
EDGE_LOG=""
EDGE_RC="" # set by stop_edge
export EDGE_RC
TDIR=""

rpt_log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

# ---------------------------------------------------------------- setup / teardown

rpt_init() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: integration tests need root (network namespaces)" >&2
    exit 1
  fi
  local id=$$
  RPT_ID=rpt$id
  # Interface names are at most 15 characters: r + pid (<= 7 digits) + 2-3 = 11 at most.
  RPT_IF=r$id
  NS_C=${RPT_ID}c
  NS_E=${RPT_ID}e
  NS_O=${RPT_ID}o
  TDIR=$(mktemp -d "/tmp/${RPT_ID}.XXXXXX")
  chmod 755 "$TDIR"
  trap rpt_cleanup EXIT
  trap 'exit 130' INT TERM
}

# shellcheck disable=SC2317  # invoked from the EXIT trap
rpt_cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  if ((rc != 0 || RPT_FAILS != 0)) && [[ -n $EDGE_LOG && -s $EDGE_LOG ]]; then
    echo "---- last lines of the edge log ($EDGE_LOG)" >&2
    tail -n 30 "$EDGE_LOG" >&2
  fi
  local pid
  for pid in "${RPT_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for _ in $(seq 30); do
    local alive=0
    for pid in "${RPT_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${RPT_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  # Anything else still running inside our namespaces (forked children, daemons).
  local ns
  for ns in "${RPT_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null
    done
  done
  wait 2>/dev/null
  for ns in "${RPT_NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null
  done
  if [[ -n $TDIR && -d $TDIR ]]; then
    if [[ -n ${RPT_KEEP_TMP:-} ]]; then
      echo "kept $TDIR" >&2
    else
      rm -rf "$TDIR"
    fi
  fi
  exit "$rc"
}

rpt_topology() {
  local ns
  for ns in "$NS_C" "$NS_E" "$NS_O"; do
    ip netns add "$ns"
    RPT_NAMESPACES+=("$ns")
    # run.sh passes RPT_NS_FILE so that it can still clean up if this test is killed (timeout -k).
    if [[ -n ${RPT_NS_FILE:-} ]]; then echo "$ns" >>"$RPT_NS_FILE"; fi
  done
  ip link add "${RPT_IF}c0" netns "$NS_C" type veth peer name "${RPT_IF}e0" netns "$NS_E"
  ip link add "${RPT_IF}e1" netns "$NS_E" type veth peer name "${RPT_IF}o0" netns "$NS_O"
  ip -n "$NS_C" addr add "$CLIENT_IP/24" dev "${RPT_IF}c0"
  ip -n "$NS_E" addr add "$EDGE_IP/24" dev "${RPT_IF}e0"
  ip -n "$NS_E" addr add "$EDGE_EGRESS_IP/24" dev "${RPT_IF}e1"
  ip -n "$NS_O" addr add "$ORIGIN_IP/24" dev "${RPT_IF}o0"
  for ns in "$NS_C" "$NS_E" "$NS_O"; do ip -n "$ns" link set lo up; done
  ip -n "$NS_C" link set "${RPT_IF}c0" up
  ip -n "$NS_E" link set "${RPT_IF}e0" up
  ip -n "$NS_E" link set "${RPT_IF}e1" up
  ip -n "$NS_O" link set "${RPT_IF}o0" up
  ip -n "$NS_C" route add default via "$EDGE_IP"
  ip -n "$NS_O" route add default via "$EDGE_EGRESS_IP"
  ip netns exec "$NS_E" sysctl -qw net.ipv4.ip_forward=0
  # Wait for carrier on both links (a veth can be NO-CARRIER for a moment after `link set up`).
  for _ in $(seq 100); do
    if ip -n "$NS_C" link show "${RPT_IF}c0" | grep -q 'state UP' &&
      ip -n "$NS_O" link show "${RPT_IF}o0" | grep -q 'state UP'; then
      return 0
    fi
    sleep 0.02
  done
  echo "topology: links did not come up" >&2
  return 1
}

# edge_api_yaml API_LISTEN TOKEN [DATA_DIR [LISTEN_IP]]: the edge: block of a test config (colo
# TEST, drain 2s; DATA_DIR default $TDIR/var, LISTEN_IP default $EDGE_IP) and the api: block.
# More api keys may follow it, indented by two.
edge_api_yaml() {
  local api=$1 token=$2 data_dir=${3:-$TDIR/var} listen=${4:-$EDGE_IP}
  cat <<YAML
edge:
  colo: TEST
  listen: ["$listen"]
  data_dir: $data_dir
  drain_timeout: 2s
api:
  listen: $api
  token: $token
YAML
}

# limits_off_yaml: protection: with the per-source limits and the edge-wide cap off (tests that
# measure relaying, not the guard). More protection keys may follow it, indented by two.
limits_off_yaml() {
  cat <<YAML
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
YAML
}

# edge_config_head DATA_DIR [LISTEN_IP]: both, with the API on 127.0.0.1:8788. Append `apps:`.
edge_config_head() {
  edge_api_yaml 127.0.0.1:8788 "test-token-$RPT_ID" "$1" "${2:-$EDGE_IP}"
  limits_off_yaml
}

# ---------------------------------------------------------------- API answers

# A curl answer printed as the body, then a line with the HTTP status (curl -w '\n%{http_code}'):
# body_of and status_of split it; jget JSON EXPR prints a Python expression over `j`, the parsed
# JSON (e.g. jget "$(body_of "$r")" 'j["result"]["id"]').
body_of() { sed '$d' <<<"$1"; }
status_of() { tail -n 1 <<<"$1"; }
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# ---------------------------------------------------------------- processes

# rpt_spawn NAME NS CMD...: start CMD in namespace NS, stdout+stderr to $TDIR/NAME.log.
# Sets RPT_LAST_PID; the PID is killed by the cleanup trap.
rpt_spawn() {
  local name=$1 ns=$2
  shift 2
  ip netns exec "$ns" "$@" >"$TDIR/$name.log" 2>&1 &
  RPT_LAST_PID=$!
  RPT_PIDS+=("$RPT_LAST_PID")
}

# rpt_stop PID: TERM a tracked process and wait up to 5 s for it.
rpt_stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start_edge NS CONFIG: run `rampart serve -c CONFIG` in NS; stderr (and stdout) to $EDGE_LOG.
start_edge() {
  local ns=$1 config=$2
  [[ -x $RAMPART_BIN ]] || { echo "start_edge: $RAMPART_BIN missing (make build)" >&2; return 1; }
  EDGE_LOG=$TDIR/edge.log
  ip netns exec "$ns" "$RAMPART_BIN" serve -c "$config" >>"$EDGE_LOG" 2>&1 &
  EDGE_PID=$!
  RPT_PIDS+=("$EDGE_PID")
}

# edge_alive: the edge process is still running.
edge_alive() { [[ -n $EDGE_PID ]] && kill -0 "$EDGE_PID" 2>/dev/null; }

edge_reload() { kill -HUP "$EDGE_PID"; }

# edge_log_count PATTERN: how many lines of $EDGE_LOG match PATTERN (grep -E).
edge_log_count() { grep -Ec -- "$1" "$EDGE_LOG" 2>/dev/null || true; }
# edge_log_more PATTERN N: $EDGE_LOG has more than N lines matching PATTERN.
edge_log_more() { (($(edge_log_count "$1") > $2)); }

# edge_reload_applied [TIMEOUT_S]: SIGHUP the edge, then wait for its readiness signal: the log
# line "configuration reloaded" that Edge::reload writes once the new snapshot is posted to every
# worker. Returns 1 if the edge refused the file ("reload of ... refused") or said nothing in time.
edge_reload_applied() {
  local done='configuration reloaded|reload of .* refused' refused='reload of .* refused'
  local before refused_before
  before=$(edge_log_count "$done")
  refused_before=$(edge_log_count "$refused")
  edge_reload
  wait_until "${1:-30}" edge_log_more "$done" "$before" || return 1
  ! edge_log_more "$refused" "$refused_before"
}

# stop_edge [TIMEOUT_S]: SIGTERM the edge and wait for it to drain and exit. Sets EDGE_RC to its
# exit status, or "timeout" if it had to be killed. (Not in a subshell: `wait` needs the parent.)
stop_edge() {
  local timeout=${1:-10}
  EDGE_RC="not running"
  kill -TERM "$EDGE_PID" 2>/dev/null || return 0
  local deadline=$((SECONDS + timeout))
  while kill -0 "$EDGE_PID" 2>/dev/null && ((SECONDS <= deadline)); do sleep 0.05; done
  if kill -0 "$EDGE_PID" 2>/dev/null; then
    kill -KILL "$EDGE_PID" 2>/dev/null || true
    wait "$EDGE_PID" 2>/dev/null || true
    EDGE_RC=timeout
    return 0
  fi
  EDGE_RC=0
  wait "$EDGE_PID" || EDGE_RC=$?
}

# start_sshd NS IP: OpenSSH on IP:22 in NS with a host key, a client key ($TDIR/id) allowed to log
# in as root, and its log on stderr (the spawn's log); callers wait for the port themselves.
start_sshd() {
  local ns=$1 ip=$2
  mkdir -p /run/sshd # privilege separation directory sshd insists on
  ssh-keygen -q -t ed25519 -N '' -f "$TDIR/hostkey" -C rpt-host
  ssh-keygen -q -t ed25519 -N '' -f "$TDIR/id" -C rpt-client
  cp "$TDIR/id.pub" "$TDIR/authorized_keys"
  chmod 600 "$TDIR/authorized_keys"
  cat >"$TDIR/sshd_config" <<CFG
Port 22
ListenAddress $ip
HostKey $TDIR/hostkey
PidFile $TDIR/sshd.pid
AuthorizedKeysFile $TDIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
LogLevel VERBOSE
CFG
  rpt_spawn sshd "$ns" /usr/sbin/sshd -D -e -f "$TDIR/sshd_config"
}

# start_tls_echo NAME NS IP PORT: a TLS echo server (socat, a self-signed EC certificate for CN
# NAME made here) listening on IP:PORT in NS; an origin for apps with tls: full.
start_tls_echo() {
  local name=$1 ns=$2 ip=$3 port=$4
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$name" \
    -keyout "$TDIR/$name.key" -out "$TDIR/$name.pem" >/dev/null 2>&1
  chmod 644 "$TDIR/$name.key" "$TDIR/$name.pem"
  rpt_spawn "$name" "$ns" socat \
    "OPENSSL-LISTEN:$port,bind=$ip,reuseaddr,fork,cert=$TDIR/$name.pem,key=$TDIR/$name.key,verify=0" PIPE
}

# tcp_echo_ok NS HOST PORT [TIMEOUT_S]: one line echoed back over TCP from NS, in bash alone (no
# interpreter to start: a cheap probe to repeat under wait_until on a busy machine).
# shellcheck disable=SC2016  # the script's $1.. are bash -c's arguments
tcp_echo_ok() {
  local ns=$1 host=$2 port=$3 timeout=${4:-3}
  ip netns exec "$ns" timeout "$((timeout + 2))" bash -c '
exec 3<>"/dev/tcp/$1/$2" || exit 1
msg="rampart-echo-$$-$RANDOM"
printf "%s\n" "$msg" >&3 || exit 1
IFS= read -r -t "$3" line <&3 || exit 1
[[ $line == "$msg" ]]' tcp_echo_ok "$host" "$port" "$timeout" 2>/dev/null
}

# tls_echo_ok NS HOST PORT [TIMEOUT_S]: one echo round trip over TLS from NS (the edge's
# certificate is not verified: apps without certificates present a self-signed one).
tls_echo_ok() {
  local ns=$1 host=$2 port=$3 timeout=${4:-3}
  ip netns exec "$ns" timeout 10 python3 -c '
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])) as raw:
    with ctx.wrap_socket(raw, server_hostname="rampart.test") as s:
        s.sendall(b"tls-echo\n")
        got = b""
        while len(got) < 9:
            chunk = s.recv(64)
            if not chunk:
                break
            got += chunk
sys.exit(0 if got == b"tls-echo\n" else 1)
' "$host" "$port" "$timeout" >/dev/null 2>&1
}

# ---------------------------------------------------------------- waiting
# A test waits for the condition it needs (a listener, an answer, a line in a log), never for a
# guessed time: wait_until polls any command until it succeeds or its deadline passes, and the
# wait_* helpers below are wait_until with a condition.

# wait_until TIMEOUT_S CMD [ARGS...]: run CMD every 50 ms until it exits 0 (returns 0) or
# TIMEOUT_S seconds pass (returns 1; CMD ran at least once). The deadline is generous on
# purpose: a busy machine slows the condition, never the test's verdict.
wait_until() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  while true; do
    "$@" && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# ss_flags PROTO: the `ss` flags that list TCP listeners or bound UDP sockets.
ss_flags() {
  case $1 in tcp) echo -Hltn ;; udp) echo -Hlun ;; *) echo "ss_flags: proto $1" >&2; return 2 ;; esac
}
# port_listening NS PROTO PORT: something listens (tcp) or is bound (udp) on PORT in NS now.
port_listening() {
  local flags
  flags=$(ss_flags "$2") || return 2
  [[ -n $(ip netns exec "$1" ss "$flags" "sport = :$3" 2>/dev/null) ]]
}
port_closed() { ! port_listening "$@"; }

# The default deadlines (30 s) only matter when the condition never comes: a passing test waits
# as long as the condition takes, and a machine busy with other work must not fail it.
# wait_port NS PROTO PORT [TIMEOUT_S]: until something listens (tcp) or is bound (udp) on PORT.
wait_port() {
  ss_flags "$2" >/dev/null || return 2
  wait_until "${4:-30}" port_listening "$1" "$2" "$3"
}

# wait_port_closed NS PROTO PORT [TIMEOUT_S]: until nothing listens on PORT.
wait_port_closed() {
  ss_flags "$2" >/dev/null || return 2
  wait_until "${4:-30}" port_closed "$1" "$2" "$3"
}

# wait_file FILE [TIMEOUT_S]: until FILE exists and is non-empty.
wait_file() { wait_until "${2:-30}" test -s "$1"; }

# wait_event FILE TIMEOUT_S KEY=VALUE...: poll an NDJSON event log until one object matches every
# KEY=VALUE (values compared as strings, so Status=521 matches 521 and "521"). Prints the match.
wait_event() {
  local file=$1 timeout=$2
  shift 2
  "${NETUTIL[@]}" wait-event --file "$file" --timeout "$timeout" "$@"
}

# ---------------------------------------------------------------- assertions

# check_event DESCRIPTION FILE TIMEOUT_S KEY=VALUE...: PASS when wait_event finds a match.
check_event() {
  local what=$1
  shift
  if wait_event "$@" >/dev/null; then pass "$what"; else fail "$what"; fi
}

pass() { RPT_PASSES=$((RPT_PASSES + 1)); echo "PASS: $*"; }
fail() { RPT_FAILS=$((RPT_FAILS + 1)); echo "FAIL: $*"; }

# check DESCRIPTION CMD...: PASS when CMD succeeds, FAIL otherwise (never exits).
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

assert_eq() {
  local what=$1 expected=$2 got=$3
  if [[ "$expected" == "$got" ]]; then
    pass "$what"
  else
    fail "$what: expected '$expected', got '$got'"
  fi
}

# require DESCRIPTION CMD...: like check, but a failure ends the test (later steps depend on it).
require() {
  local what=$1
  shift
  if "$@"; then
    pass "$what"
  else
    fail "$what (fatal)"
    rpt_finish
  fi
}

rpt_finish() {
  echo "$(basename "$0"): $RPT_PASSES checks passed, $RPT_FAILS failed"
  if ((RPT_FAILS > 0)); then exit 1; fi
  exit 0
}

# ---------------------------------------------------------------- attacks (spoofed sources)

# rpt_spoof_setup: after rpt_topology, prepares spoofed-source attacks from $NS_C toward the edge
# (TESTBED.md "Attacking the edge itself"): builds helpers/spoof.c into $TDIR/spoof, turns off
# rp_filter in the client and edge namespaces, gives both an IPv6 /64 on their veth
# (client $CLIENT_IP6, edge $EDGE_IP6) and routes the spoofed ranges 10.78.0.0/16 and
# fd77:99::/32 from the edge back into the client namespace, where replies simply vanish.
# Send with: ip netns exec "$NS_C" "$SPOOF" udp --dst $EDGE_IP --dport N --src 10.78.0.0/16 --count N
CLIENT_IP6=fd77:1::2
EDGE_IP6=fd77:1::1
rpt_spoof_setup() {
  SPOOF=$TDIR/spoof
  cc -O2 -Wall -o "$SPOOF" "$RPT_HELPERS/spoof.c"
  local ns
  for ns in "$NS_C" "$NS_E"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  ip netns exec "$NS_C" sysctl -qw "net.ipv4.conf.${RPT_IF}c0.rp_filter=0"
  ip netns exec "$NS_E" sysctl -qw "net.ipv4.conf.${RPT_IF}e0.rp_filter=0"
  ip -n "$NS_C" addr add "$CLIENT_IP6/64" dev "${RPT_IF}c0" nodad
  ip -n "$NS_E" addr add "$EDGE_IP6/64" dev "${RPT_IF}e0" nodad
  ip -n "$NS_E" route add 10.78.0.0/16 via "$CLIENT_IP"
  ip -n "$NS_E" -6 route add fd77:99::/32 via "$CLIENT_IP6"
  # Spoofed replies arriving in the client namespace: no ICMP errors back for each of them.
  ip netns exec "$NS_C" sysctl -qw net.ipv4.icmp_ratelimit=1000 net.ipv6.icmp.ratelimit=1000
  # Resolve the edge's link addresses first: a raw packet waiting for ARP/NDP is queued (a few
  # at most), so the first burst would lose most of its packets before reaching the edge.
  ip netns exec "$NS_C" python3 -c '
import socket, sys, time
for fam, ip in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    socket.socket(fam, socket.SOCK_DGRAM).sendto(b"", (ip, 9))
time.sleep(0.2)' "$EDGE_IP" "$EDGE_IP6"
}

# proc_fds PID / proc_rss_kb PID / proc_hwm_kb PID: descriptors open and resident memory of PID.
proc_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- kernel_relay (issue #14)
# A test run with RPT_KERNEL_RELAY=on|off|auto (a *_kernel_relay.sh wrapper) writes that value
# into its apps with kernel_relay_yaml and proves with kernel_relay_check that its plain-TCP
# connections really went through the kernel (the sockmap), so that a pass with `on` never
# silently tests the user-space relay again.
kernel_relay_yaml() { # INDENT: the app key line, or nothing when RPT_KERNEL_RELAY is unset
  [[ -n ${RPT_KERNEL_RELAY:-} ]] && printf '%*skernel_relay: %s\n' "${1:-4}" '' "$RPT_KERNEL_RELAY"
  return 0
}
# kernel_relay_metric NAME: the sum of every sample of NAME on the edge's /metrics.
kernel_relay_metric() {
  { ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer test-token-$RPT_ID" \
    "http://127.0.0.1:8788/metrics" || true; } |
    awk -v m="$1" '(index($0, m "{") == 1 || index($0, m " ") == 1) { s += $NF } END { print s + 0 }'
}
# kernel_relay_check MIN [state]: with RPT_KERNEL_RELAY=on, at least MIN connections were handed
# to the kernel and none fell back to user space. With `state`, connections one of whose sides
# had already closed at the hand-off (an origin that answers and closes at once) may have fallen
# back (rampart_kernel_relay_fallbacks_total{reason="socket_state"}, by design): MIN then counts
# both.
kernel_relay_check() {
  [[ ${RPT_KERNEL_RELAY:-} == on ]] || return 0
  local n all state=0
  n=$(kernel_relay_metric rampart_kernel_relay_connections_total)
  all=$(kernel_relay_metric rampart_kernel_relay_fallbacks_total)
  echo "kernel relay: $n connections handed to the kernel, $all fallbacks"
  { ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer test-token-$RPT_ID" \
    "http://127.0.0.1:8788/metrics" || true; } | grep '^rampart_kernel_relay_fallbacks_total' | grep -v ' 0$' || true
  if [[ ${2:-} == state ]]; then
    state=$({ ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer test-token-$RPT_ID" \
      "http://127.0.0.1:8788/metrics" || true; } |
      awk '/^rampart_kernel_relay_fallbacks_total\{.*reason="socket_state"/ { s += $NF } END { print s + 0 }')
  fi
  check "kernel_relay on: at least $1 connections relayed by the kernel (got $n + $state closed before)" \
    test "$((n + state))" -ge "$1"
  check "kernel_relay on: the kernel relayed some" test "$n" -ge 1
  assert_eq "kernel_relay on: no other fallback to user space" "$state" "$all"
}
