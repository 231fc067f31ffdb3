#!/usr/bin/env bash
# integration: parallel
# The Spectrum SSH walkthrough: a real OpenSSH server behind the edge. The command runs, and the
# origin sees the EDGE's address (10.77.2.1) as the peer, never the client's (10.77.1.2).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

# --- origin: sshd with its own host key, authorized_keys and config
start_sshd "$NS_O" "$ORIGIN_IP"
require "sshd listens on $ORIGIN_IP:22 in the origin namespace" wait_port "$NS_O" tcp 22

SSH=(ssh -i "$TDIR/id" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o ConnectTimeout=5 -o LogLevel=ERROR -p 22)

# --- the client cannot reach the origin directly (ip_forward=0 on the edge)
if ip netns exec "$NS_C" timeout 3 "${SSH[@]}" "root@$ORIGIN_IP" true 2>/dev/null; then
  fail "client reached the origin directly"
else
  pass "client cannot reach the origin directly"
fi

# --- edge
{
  edge_config_head "$TDIR/var"
  cat <<YAML
apps:
  - id: ssh
    protocol: tcp/22
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:22"]
    proxy_protocol: "off"
    timeouts: { connect: 2s, idle: 1h }
YAML
} >"$TDIR/rampart.yaml"
check "rampart check accepts the config" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on $EDGE_IP:22" wait_port "$NS_E" tcp 22

# --- the walkthrough
set +e
# shellcheck disable=SC2016  # $SSH_CONNECTION is expanded by the remote shell
out=$(ip netns exec "$NS_C" timeout 20 "${SSH[@]}" "root@$EDGE_IP" 'echo $SSH_CONNECTION' 2>"$TDIR/ssh.err")
rc=$?
set -e
assert_eq "ssh through the edge runs the command (exit status)" 0 "$rc"
[[ $rc -eq 0 ]] || sed 's/^/  ssh: /' "$TDIR/ssh.err"
read -r seen_ip seen_port server_ip server_port <<<"$out" || true
echo "SSH_CONNECTION=$out"
assert_eq "origin sees the edge's egress address" "$EDGE_EGRESS_IP" "${seen_ip:-}"
if [[ ${seen_ip:-} == "$CLIENT_IP" ]]; then fail "origin saw the client's address"; fi
assert_eq "origin-side server address" "$ORIGIN_IP 22" "${server_ip:-} ${server_port:-}"
[[ -n ${seen_port:-} ]] || fail "SSH_CONNECTION has no source port"

# --- a second session with data both ways (scp-like): 1 MiB through ssh, checked
head -c 1048576 /dev/urandom >"$TDIR/blob"
want=$(sha256sum <"$TDIR/blob" | cut -d' ' -f1)
got=$(ip netns exec "$NS_C" timeout 20 "${SSH[@]}" "root@$EDGE_IP" 'sha256sum' <"$TDIR/blob" | cut -d' ' -f1 || true)
assert_eq "1 MiB piped through ssh via the edge arrives intact" "$want" "$got"

# --- the event log names the client and the app
check_event "connect event for the client on app ssh" \
  "$TDIR/var/events.ndjson" 5 Event=connect ClientIP="$CLIENT_IP" Application=ssh
check_event "disconnect event with Status 200" \
  "$TDIR/var/events.ndjson" 5 Event=disconnect Status=200 Application=ssh
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0 on SIGTERM (drain_timeout 2s)" 0 "$EDGE_RC"
rpt_finish
