#!/usr/bin/env bash
# integration: parallel
# Origin lockdown (SPEC §1 `rampart lockdown`). The edge namespace forwards (ip_forward=1, IPv4 and
# IPv6), so the client CAN reach the origin directly; the rules printed by `rampart lockdown` and
# applied in the origin namespace must make a direct connection to the app port time out while
# the same service keeps working through the edge, and leave other ports alone.
#   nftables: applied with `nft -f -`, re-applied (idempotent), and generated from -c FILE too.
#   iptables: the sh script applied for real (twice), the --family ipv4/ipv6 output through
#             iptables-restore --test / ip6tables-restore --test.
#   ufw:      every line run with --dry-run inside the origin namespace (/etc/ufw backed up and
#             restored, since ufw keeps its state there).
# shellcheck disable=SC2317  # helpers below are invoked through check/require and the EXIT trap
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init

UFW_BACKUP=""
restore_ufw() {
  if [[ -n $UFW_BACKUP && -d $UFW_BACKUP/ufw ]]; then
    rm -rf /etc/ufw && cp -a "$UFW_BACKUP/ufw" /etc/ufw
  fi
}
cleanup() {
  local rc=$?
  set +e
  restore_ufw
  (exit "$rc") # rpt_cleanup reads the exit status from $?
  rpt_cleanup
}
trap cleanup EXIT

rpt_topology
APP_PORT=7000   # the app: locked down
FREE_PORT=7100  # not an app port: must stay reachable
CLIENT_IP6=fd77:1::2
EDGE_IP6=fd77:1::1
EDGE_EGRESS_IP6=fd77:2::1
ORIGIN_IP6=fd77:2::2
ip -n "$NS_C" addr add "$CLIENT_IP6/64" dev "${RPT_IF}c0" nodad
ip -n "$NS_E" addr add "$EDGE_IP6/64" dev "${RPT_IF}e0" nodad
ip -n "$NS_E" addr add "$EDGE_EGRESS_IP6/64" dev "${RPT_IF}e1" nodad
ip -n "$NS_O" addr add "$ORIGIN_IP6/64" dev "${RPT_IF}o0" nodad
ip -n "$NS_C" -6 route add default via "$EDGE_IP6"
ip -n "$NS_O" -6 route add default via "$EDGE_EGRESS_IP6"
ip netns exec "$NS_E" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$NS_E" sysctl -qw net.ipv6.conf.all.forwarding=1

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:$APP_PORT" \
  --listen "$ORIGIN_IP:$FREE_PORT"
# IPv6 echo on the app port (socat's PIPE echoes what it reads).
rpt_spawn echo6 "$NS_O" socat "TCP6-LISTEN:$APP_PORT,bind=[$ORIGIN_IP6],reuseaddr,fork" PIPE
require "echo origin listens on :$APP_PORT" wait_port "$NS_O" tcp "$APP_PORT"
require "echo origin listens on :$FREE_PORT" wait_port "$NS_O" tcp "$FREE_PORT"

{
  edge_config_head "$TDIR/var"
  cat <<YAML
apps:
  - id: locked
    protocol: tcp/$APP_PORT
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:$APP_PORT"]
YAML
} >"$TDIR/rampart.yaml"
# The edge's egress addresses (what lockdown allows) go into the config too, for the -c case.
sed -i "s|^  colo: TEST|  colo: TEST\n  egress_ips: [\"$EDGE_EGRESS_IP\", \"$EDGE_EGRESS_IP6\"]|" \
  "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :$APP_PORT" wait_port "$NS_E" tcp "$APP_PORT"

# connect_rc NS HOST PORT: exit status of a 2 s TCP connect (0 connected, 124 timed out).
connect_rc() {
  local ns=$1 host=$2 port=$3
  set +e
  ip netns exec "$ns" timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
  local rc=$?
  set -e
  echo "$rc"
}
echo_ok() { # NS HOST:PORT: one echo round trip
  ip netns exec "$1" timeout 10 "${NETUTIL[@]}" echo-check --connect "$2" --count 1 --timeout 3 \
    >/dev/null 2>&1
}
via_edge_ok() { echo_ok "$NS_C" "$EDGE_IP:$APP_PORT"; }
direct_ok() { echo_ok "$NS_C" "$ORIGIN_IP:$APP_PORT"; }

# The locked-down state, whichever firewall made it.
check_locked() {
  local how=$1
  assert_eq "$how: direct client -> origin:$APP_PORT times out" 124 \
    "$(connect_rc "$NS_C" "$ORIGIN_IP" "$APP_PORT")"
  assert_eq "$how: direct client -> [origin]:$APP_PORT over IPv6 times out" 124 \
    "$(connect_rc "$NS_C" "$ORIGIN_IP6" "$APP_PORT")"
  check "$how: client -> edge -> origin:$APP_PORT still works" via_edge_ok
  check "$how: non-app port $FREE_PORT is untouched (direct echo works)" \
    echo_ok "$NS_C" "$ORIGIN_IP:$FREE_PORT"
  check "$how: the edge's IPv6 egress address may connect to [origin]:$APP_PORT" \
    echo_ok "$NS_E" "[$ORIGIN_IP6]:$APP_PORT"
  check "$how: the origin host itself still reaches its own port" \
    echo_ok "$NS_O" "$ORIGIN_IP:$APP_PORT"
}
check_open() {
  local how=$1
  check "$how: direct client -> origin:$APP_PORT connects (the topology routes)" direct_ok
  check "$how: direct IPv6 client -> [origin]:$APP_PORT connects" \
    echo_ok "$NS_C" "[$ORIGIN_IP6]:$APP_PORT"
}

check_open "before lockdown"
require "client -> edge -> origin works before lockdown" via_edge_ok

# ---------------------------------------------------------------- nftables
LOCKDOWN=("$RAMPART_BIN" lockdown)
"${LOCKDOWN[@]}" --format nftables --edge-ip "$EDGE_EGRESS_IP/32" --edge-ip "$EDGE_EGRESS_IP6" \
  --port "$APP_PORT" >"$TDIR/lockdown.nft"
require "nftables rules apply with nft -f -" \
  ip netns exec "$NS_O" nft -f - <"$TDIR/lockdown.nft"
check_locked "nftables"
drops=$(ip netns exec "$NS_O" nft list table inet rampart_lockdown |
  sed -n 's/.*counter packets \([0-9]*\) .*drop.*/\1/p' | head -n 1)
if [[ -n $drops ]] && ((drops > 0)); then pass "nftables drop counter counted $drops SYNs"; else
  fail "nftables drop counter is '${drops:-missing}'"
fi
require "re-applying the same ruleset succeeds" \
  ip netns exec "$NS_O" nft -f - <"$TDIR/lockdown.nft"
assert_eq "re-applying leaves one lockdown table" 1 \
  "$(ip netns exec "$NS_O" nft list tables | grep -c 'inet rampart_lockdown')"
assert_eq "re-applying leaves one drop rule per protocol" 1 \
  "$(ip netns exec "$NS_O" nft list table inet rampart_lockdown | grep -c 'drop')"
check_locked "nftables re-applied"

# From the config: egress_ips and the origin ports of its apps.
"${LOCKDOWN[@]}" -c "$TDIR/rampart.yaml" >"$TDIR/lockdown-config.nft"
check "-c FILE: ports come from the apps' origin_direct" \
  grep -q "elements = { $APP_PORT }" "$TDIR/lockdown-config.nft"
check "-c FILE: addresses come from edge.egress_ips" \
  grep -q "elements = { $EDGE_EGRESS_IP6 }" "$TDIR/lockdown-config.nft"
require "-c FILE rules replace the table atomically" \
  ip netns exec "$NS_O" nft -f - <"$TDIR/lockdown-config.nft"
check_locked "nftables from -c"

ip netns exec "$NS_O" nft delete table inet rampart_lockdown
check_open "after nft delete table"

# ---------------------------------------------------------------- iptables
"${LOCKDOWN[@]}" --format iptables --edge-ip "$EDGE_EGRESS_IP" --edge-ip "$EDGE_EGRESS_IP6/128" \
  --port "$APP_PORT" >"$TDIR/lockdown.sh"
"${LOCKDOWN[@]}" --format iptables --family ipv4 --edge-ip "$EDGE_EGRESS_IP" \
  --edge-ip "$EDGE_EGRESS_IP6" --port "$APP_PORT" --port 8000-8010 --proto both >"$TDIR/v4.rules"
"${LOCKDOWN[@]}" --format iptables --family ipv6 --edge-ip "$EDGE_EGRESS_IP" \
  --edge-ip "$EDGE_EGRESS_IP6" --port "$APP_PORT" --port 8000-8010 --proto both >"$TDIR/v6.rules"
check "iptables-restore --test accepts the IPv4 rules" \
  ip netns exec "$NS_O" iptables-restore --test --noflush "$TDIR/v4.rules"
check "ip6tables-restore --test accepts the IPv6 rules" \
  ip netns exec "$NS_O" ip6tables-restore --test --noflush "$TDIR/v6.rules"
check "the sh script parses" sh -n "$TDIR/lockdown.sh"
require "iptables script applies" ip netns exec "$NS_O" sh "$TDIR/lockdown.sh"
check_locked "iptables"
require "iptables script re-applies" ip netns exec "$NS_O" sh "$TDIR/lockdown.sh"
assert_eq "re-applying keeps one INPUT jump (IPv4)" 1 \
  "$(ip netns exec "$NS_O" iptables -S INPUT | grep -c 'RAMPART-LOCKDOWN')"
assert_eq "re-applying keeps one INPUT jump (IPv6)" 1 \
  "$(ip netns exec "$NS_O" ip6tables -S INPUT | grep -c 'RAMPART-LOCKDOWN')"
assert_eq "re-applying keeps one DROP rule (IPv4)" 1 \
  "$(ip netns exec "$NS_O" iptables -S RAMPART-LOCKDOWN | grep -c 'DROP')"
check_locked "iptables re-applied"
for t in iptables ip6tables; do
  ip netns exec "$NS_O" $t -D INPUT -j RAMPART-LOCKDOWN
  ip netns exec "$NS_O" $t -F RAMPART-LOCKDOWN
  ip netns exec "$NS_O" $t -X RAMPART-LOCKDOWN
done
check_open "after removing the iptables chain"

# ---------------------------------------------------------------- ufw (syntax only)
if command -v ufw >/dev/null; then
  UFW_BACKUP=$TDIR/ufw-backup
  mkdir -p "$UFW_BACKUP" && cp -a /etc/ufw "$UFW_BACKUP/ufw"
  "${LOCKDOWN[@]}" --format ufw --edge-ip "$EDGE_EGRESS_IP" --edge-ip 2001:db8::/64 \
    --port 22 --port 8000-8010 --port udp/27015 >"$TDIR/lockdown.ufw" 2>"$TDIR/ufw.err"
  n=0
  bad=0
  while read -r line; do
    n=$((n + 1))
    # ufw --dry-run prints the resulting rules instead of applying them.
    # shellcheck disable=SC2086  # the line is a ufw command line, split on purpose
    if ! out=$(eval "ip netns exec $NS_O ufw --dry-run ${line#ufw }" 2>&1); then
      fail "ufw --dry-run refused: $line: $(tail -n 1 <<<"$out")"
      bad=$((bad + 1))
    fi
  done < <(grep '^ufw ' "$TDIR/lockdown.ufw")
  assert_eq "ufw output has 2 addresses x 3 ports allows + 3 denies" 9 "$n"
  assert_eq "ufw --dry-run accepts every line" 0 "$bad"
  last_allow=$(grep -n '^ufw allow' "$TDIR/lockdown.ufw" | tail -n 1 | cut -d: -f1)
  first_deny=$(grep -n '^ufw deny' "$TDIR/lockdown.ufw" | head -n 1 | cut -d: -f1)
  check "ufw allow lines come before the deny lines" test "$last_allow" -lt "$first_deny"
  check "ufw output warns that port 22 is locked down" grep -q '^# WARNING: tcp port 22' \
    "$TDIR/lockdown.ufw"
  check "port 22 warning on stderr too" grep -q 'warning: tcp port 22' "$TDIR/ufw.err"
  check "the ufw script parses" sh -n "$TDIR/lockdown.ufw"
  restore_ufw
  check "/etc/ufw is as before" diff -r "$UFW_BACKUP/ufw" /etc/ufw
else
  echo "SKIP: ufw is not installed (scripts/deps.sh installs it); ufw syntax not checked"
fi

# ---------------------------------------------------------------- errors
# expect_exit DESCRIPTION CODE STDERR_PREFIX ARGS...
expect_exit() {
  local what=$1 want=$2 prefix=$3
  shift 3
  set +e
  "$RAMPART_BIN" lockdown "$@" >"$TDIR/err.out" 2>"$TDIR/err.err"
  local rc=$?
  set -e
  assert_eq "$what: exit $want" "$want" "$rc"
  if [[ -n $prefix ]]; then
    check "$what: message starts with '$prefix'" grep -q "^$prefix" "$TDIR/err.err"
  fi
  check "$what: nothing on stdout" test ! -s "$TDIR/err.out"
}
expect_exit "bad port" 1 "--port: " --edge-ip 192.0.2.1 --port 70000
expect_exit "bad range" 1 "--port: " --edge-ip 192.0.2.1 --port 2000-1000
expect_exit "bad CIDR" 1 "--edge-ip: " --edge-ip 192.0.2.1/40 --port 22
expect_exit "CIDR with host bits" 1 "--edge-ip: " --edge-ip 192.0.2.1/24 --port 22
expect_exit "everyone is not an edge" 1 "--edge-ip: " --edge-ip 0.0.0.0/0 --port 22
expect_exit "no addresses" 1 "--edge-ip: " --port 22
expect_exit "no ports" 1 "--port: " --edge-ip 192.0.2.1
printf 'edge:\n  colo: T\napi:\n  token: x\napps: []\n' >"$TDIR/empty.yaml"
expect_exit "config without egress_ips" 1 "edge.egress_ips: " -c "$TDIR/empty.yaml" --port 22
expect_exit "unknown flag" 2 "" --edge-ip 192.0.2.1 --port 22 --bogus
expect_exit "unknown format" 2 "--format: " --format pf --edge-ip 192.0.2.1 --port 22
expect_exit "missing value" 2 "" --edge-ip
expect_exit "--family without iptables" 2 "--family: " --family ipv4 --edge-ip 192.0.2.1 --port 1

check "edge still running" edge_alive
rpt_finish
