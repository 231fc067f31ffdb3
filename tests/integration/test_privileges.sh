#!/usr/bin/env bash
# integration: parallel
# Privilege drop (SPEC §7, docs/operations.md): an edge started as root with edge.user: nobody
# and edge.group: nogroup runs as 65534:65534 once its listeners are open. Kept capabilities,
# stated exactly (credentials are per thread): the main thread (/proc/PID/status) has
# CapEff = CapPrm = CapInh = CapAmb = CapBnd = 0x400 (CAP_NET_BIND_SERVICE) and NoNewPrivs 1;
# the edge's applier thread
# (rampart-apply, which opens listeners for later apps) has the same; every other thread has
# CapEff = CapPrm = CapAmb = 0. An app on port 22 serves, an app added through the API on port
# 81 (below 1024, after the drop) serves, the data_dir files belong to nobody, and an unknown
# user is a config error. An upgrade after the drop keeps the XDP program and the UDP kernel relay
# attached (handed over: no capability needed) and the new process, as nobody, drives their maps.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18795
TOKEN="priv-token-$RPT_ID"
BASE="http://127.0.0.1:$API_PORT/client/v4/zones/default"
KEPT=0000000000000400

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
require "echo origin listens on :7000" wait_port "$NS_O" tcp 7000

write_config() { # user
  cat <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 1s
  user: $1
  group: nogroup
  pid_file: $TDIR/rampart.pid
api:
  listen: 127.0.0.1:$API_PORT
  token: $TOKEN
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
  xdp: { mode: generic, interface: ${RPT_IF}e0 }
apps:
  - id: ssh
    protocol: tcp/22
    ip_firewall: true
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
  - id: game # kernel_relay auto: the UDP kernel relay loads at start
    protocol: udp/5300
    origin_direct: ["udp://$ORIGIN_IP:7001"]
YAML
}
# kernel_paths: the rampart_kernel_path_up samples, "path=value" sorted, from /metrics.
kernel_paths() {
  ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/metrics" |
    sed -n 's/^rampart_kernel_path_up{.*path="\([a-z_]*\)"} \([0-9]\)$/\1=\2/p' | sort | xargs
}

# --- an unknown user is a config error naming the field
write_config no-such-user-rpt >"$TDIR/bad.yaml"
set +e
out=$("$RAMPART_BIN" check -c "$TDIR/bad.yaml" 2>&1)
rc=$?
set -e
assert_eq "rampart check: unknown edge.user exits 1" 1 "$rc"
check "... and names edge.user" grep -q '^edge.user: no user "no-such-user-rpt"' <<<"$out"

write_config nobody >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge serves :22 (opened as root)" wait_until 20 tcp_echo_ok "$NS_C" "$EDGE_IP" 22
require "the edge logs the drop" wait_until 10 grep -q "privileges: running as nobody" "$EDGE_LOG"
# XDP and the UDP kernel relay were attached before the drop (as root).
assert_eq "/metrics: the kernel paths the config asks for are up" \
  "kernel_relay_udp=1 xdp=1" "$(kernel_paths)"

status() { awk -v k="$2:" '$1 == k { print $2 }' "$1"; }
st=/proc/$EDGE_PID/status
assert_eq "Uid (real, effective, saved, fs)" "65534 65534 65534 65534" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$st")"
assert_eq "Gid (real, effective, saved, fs)" "65534 65534 65534 65534" "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "$st")"
assert_eq "supplementary groups" "65534" "$(awk '$1 == "Groups:" { $1 = ""; print substr($0, 2) }' "$st")"
for k in CapEff CapPrm CapAmb CapBnd; do
  assert_eq "main thread $k = CAP_NET_BIND_SERVICE" "$KEPT" "$(status "$st" "$k")"
done
assert_eq "main thread CapInh" "$KEPT" "$(status "$st" CapInh)"
assert_eq "main thread NoNewPrivs" 1 "$(status "$st" NoNewPrivs)"

# Every thread: not root, and no capability but the kept one (the applier thread has it
# effective; workers, API and analytics threads have none).
with_cap=() bad=()
for t in /proc/"$EDGE_PID"/task/*; do
  name=$(cat "$t/comm")
  uid=$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "$t/status")
  eff=$(status "$t/status" CapEff)
  prm=$(status "$t/status" CapPrm)
  [[ $uid == 65534655346553465534 ]] || bad+=("$name uid $uid")
  if [[ $eff == "$KEPT" && $prm == "$KEPT" ]]; then
    with_cap+=("$name")
  elif [[ $eff != 0000000000000000 || $prm != 0000000000000000 ]]; then
    bad+=("$name eff $eff prm $prm")
  fi
done
echo "  threads with CAP_NET_BIND_SERVICE: ${with_cap[*]}"
assert_eq "no thread is root or has another capability" "" "${bad[*]-}"
check "the applier thread (opens later listeners) keeps it" grep -qw rampart-apply <<<"${with_cap[*]}"
assert_eq "exactly two threads keep it (main, rampart-apply)" 2 "${#with_cap[@]}"

# --- files written later belong to the user
check "data_dir belongs to nobody" test "$(stat -c %U:%G "$TDIR/var")" = nobody:nogroup
for f in rampart.db events.ndjson; do
  check "$f belongs to nobody" test "$(stat -c %U "$TDIR/var/$f")" = nobody
done
not_owned=$(find "$TDIR/var" ! -user nobody | tr '\n' ' ')
assert_eq "nothing in data_dir is left to root" "" "$not_owned"

# --- an app added through the API on port 81 binds after the drop and serves
r=$(ip netns exec "$NS_E" curl -sS -X POST -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" -w '\n%{http_code}' "$BASE/spectrum/apps" \
  --data-binary '{"protocol":"tcp/81","origin_direct":["tcp://'$ORIGIN_IP':7000"]}')
assert_eq "POST tcp/81 answers 200" 200 "$(tail -n1 <<<"$r")"
check "the app on port 81 serves" wait_until 10 tcp_echo_ok "$NS_C" "$EDGE_IP" 81
check "events written after the drop are the user's" test "$(stat -c %U "$TDIR/var/events.ndjson")" = nobody

# --- an upgrade after the drop: the new process (started by the old one as nobody, with the
# ambient CAP_NET_BIND_SERVICE) adopts the sockets, and keeps exactly the same credentials.
OLD_PID=$EDGE_PID
out=$(ip netns exec "$NS_E" "$RAMPART_BIN" upgrade --pid-file "$TDIR/rampart.pid" 2>&1) || true
echo "  $out"
NEW_PID=$(cat "$TDIR/rampart.pid")
RPT_PIDS+=("$NEW_PID")
check "upgrade after the drop: a new pid serves" test "$NEW_PID" != "$OLD_PID"
st=/proc/$NEW_PID/status
assert_eq "... as nobody" "65534 65534 65534 65534" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$st")"
for k in CapEff CapPrm CapAmb CapBnd; do
  assert_eq "... main thread $k = CAP_NET_BIND_SERVICE" "$KEPT" "$(status "$st" "$k")"
done
check "... :22 serves (adopted)" wait_until 10 tcp_echo_ok "$NS_C" "$EDGE_IP" 22
check "... :81 serves (adopted)" tcp_echo_ok "$NS_C" "$EDGE_IP" 81
# XDP and the UDP kernel relay are handed over with the sockets (docs/upgrade.md): the new
# process keeps the old one's programs attached, with their maps, and needs no capability for
# them (it could load neither: no CAP_BPF, no CAP_NET_ADMIN).
assert_eq "... /metrics: xdp and the UDP kernel relay kept up (kernel_path_up 1)" \
  "kernel_relay_udp=1 xdp=1" "$(kernel_paths)"
check "... the new process logs that it kept the XDP program" \
  grep -q "xdp: kept attached to ${RPT_IF}e0 (generic) across the upgrade" "$EDGE_LOG"
check "... and the UDP relay's" grep -q "kernel relay: UDP program kept attached to" "$EDGE_LOG"
check "the old process exits by itself" wait_until 10 bash -c "! kill -0 $OLD_PID 2>/dev/null"
# With the old process gone the program is still attached, and the new process (running as
# nobody) drives its maps: a block rule written through its API drops the client in the kernel.
xdp_block_drops() {
  ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/metrics" |
    sed -n 's/^rampart_xdp_drops_total{.*reason="block_ip"} \([0-9]*\)$/\1/p'
}
assert_eq "... both still up after the old process exited" "kernel_relay_udp=1 xdp=1" "$(kernel_paths)"
r=$(ip netns exec "$NS_E" curl -sS -X POST -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" -w '\n%{http_code}' "$BASE/firewall/access_rules/rules" \
  --data-binary '{"mode":"block","configuration":{"target":"ip","value":"'$CLIENT_IP'"}}')
assert_eq "POST a block rule for the client to the new process: 200" 200 "$(tail -n1 <<<"$r")"
client_refused() { ! tcp_echo_ok "$NS_C" "$EDGE_IP" 22 1; }
xdp_dropped() { [[ $(xdp_block_drops) -gt 0 ]]; }
check "... the client is refused" wait_until 10 client_refused
check "... by the XDP program (rampart_xdp_drops_total{reason=block_ip} > 0)" wait_until 10 xdp_dropped
rule_id=$(head -n -1 <<<"$r" | jq -r .result.id)
r=$(ip netns exec "$NS_E" curl -sS -X DELETE -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' \
  "$BASE/firewall/access_rules/rules/$rule_id")
assert_eq "DELETE the rule: 200" 200 "$(tail -n1 <<<"$r")"
check "... the client is served again (the kernel's trie updated through the adopted map)" \
  wait_until 10 tcp_echo_ok "$NS_C" "$EDGE_IP" 22
kill -TERM "$NEW_PID"
check "the new process stops on SIGTERM" wait_until 10 bash -c "! kill -0 $NEW_PID 2>/dev/null"

# --- without edge.user, as root: a warning
grep -v '^  user:\|^  group:' "$TDIR/rampart.yaml" >"$TDIR/root.yaml"
start_edge "$NS_E" "$TDIR/root.yaml"
require "edge as root serves :22" wait_until 20 tcp_echo_ok "$NS_C" "$EDGE_IP" 22
check "running as root without edge.user logs a warning" grep -q "running as root with every capability" "$EDGE_LOG"
stop_edge 10
rpt_finish
