#!/usr/bin/env bash
# A port monitor is not an attacker (issue #10). Against an ssh app with `validate: ssh` and
# autoban `violations: 5`: a monitor probes every second from the client address (15 `nc -z`
# connect-and-close, then 3 connect-and-reset), as Nagios check_tcp or a load balancer would.
# Its address is never banned, the events are disconnects (200 for a FIN, 499 for a reset), not
# clientFiltered, rampart_probes_total counts them, and OpenSSH from the same address logs in
# afterwards. A client sending junk from another address is still refused and banned after 5
# violations.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
GU=(python3 "$RPT_HELPERS/guardutil.py")
JUNK_IP=10.77.1.3 # a second client address, for the junk sender
ip -n "$NS_C" addr add "$JUNK_IP/24" dev "${RPT_IF}c0"

API_PORT=8788 # edge_config_head's API
TOKEN=test-token-$RPT_ID
start_sshd "$NS_O" "$ORIGIN_IP"
require "sshd listens" wait_port "$NS_O" tcp 22

{
  edge_config_head "$TDIR/var"
  cat <<YAML
  autoban: { violations: 5, window: 60s, duration: 10m }
  handshake_timeout: 5s
apps:
  - id: ssh
    protocol: tcp/22
    origin_direct: ["tcp://$ORIGIN_IP:22"]
    validate: ssh
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :22" wait_port "$NS_E" tcp 22
EV=$TDIR/var/events.ndjson
metric() { # NAME_AND_LABELS: the value of one /metrics sample (0 when absent)
  ip netns exec "$NS_E" curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/metrics" |
    awk -v m="$1" 'index($0, m) == 1 { v = $NF } END { print v + 0 }'
}
count_events() { # KEY=VALUE...: events matching all
  python3 - "$EV" "$@" <<'PY'
import json, sys
want = [a.split("=", 1) for a in sys.argv[2:]]
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    n += all(str(e.get(k)) == v for k, v in want)
print(n)
PY
}

# --- the monitor: one probe a second, as check_tcp would (connect, close without sending)
ok=0
for i in $(seq 15); do
  start=$(date +%s.%N)
  if ip netns exec "$NS_C" nc -z -w 2 "$EDGE_IP" 22; then ok=$((ok + 1)); fi
  sleep "$(python3 -c "import sys; print(max(0, 1 - ($(date +%s.%N) - $start)))")"
done
assert_eq "the monitor's 15 nc -z probes all connected" 15 "$ok"
# ... and three that reset instead of closing (a load balancer's RST-after-SYN-ACK check).
for i in 1 2 3; do
  ip netns exec "$NS_C" python3 -c '
import socket, struct, sys
s = socket.create_connection((sys.argv[1], 22), timeout=2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$EDGE_IP"
  sleep 1
done

wait_for_metric() { # SAMPLE VALUE
  for _ in $(seq 60); do
    [[ $(metric "$1") == "$2" ]] && return 0
    sleep 0.05
  done
  return 1
}
check "rampart_probes_total{kind=fin} = 15" wait_for_metric 'rampart_probes_total{colo="TEST",app="ssh",kind="fin"}' 15
check "rampart_probes_total{kind=rst} = 3" wait_for_metric 'rampart_probes_total{colo="TEST",app="ssh",kind="rst"}' 3
check_event "a probe is a disconnect with status 200" "$EV" 3 Event=disconnect Status=200 ClientIP="$CLIENT_IP" ClientBytes=0
check_event "a reset probe is a disconnect with status 499" "$EV" 3 Event=disconnect Status=499 ClientIP="$CLIENT_IP"
assert_eq "15 disconnect 200 events from the monitor" 15 "$(count_events Event=disconnect Status=200 ClientIP="$CLIENT_IP")"
assert_eq "3 disconnect 499 events from the monitor" 3 "$(count_events Event=disconnect Status=499 ClientIP="$CLIENT_IP")"
assert_eq "no clientFiltered event for the monitor" 0 "$(count_events Event=clientFiltered ClientIP="$CLIENT_IP")"
assert_eq "nobody was banned" 0 "$(metric rampart_guard_bans_total)"
assert_eq "no validate drop" 0 "$(metric 'rampart_guard_drops_total{colo="TEST",app="ssh",reason="validate"}')"

SSH=(ssh -i "$TDIR/id" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o ConnectTimeout=5 -o LogLevel=ERROR)
check "OpenSSH logs in from the monitor's address afterwards" \
  ip netns exec "$NS_C" timeout 15 "${SSH[@]}" "root@$EDGE_IP" true

# --- junk is still a violation: 5 of them (one counts per second) ban the sender
JUNK=474554202f20485454502f312e300d0a0d0a # "GET / HTTP/1.0\r\n\r\n"
for i in $(seq 6); do
  ip netns exec "$NS_C" "${GU[@]}" refused --connect "$EDGE_IP:22" --bind "$JUNK_IP" --hex "$JUNK" >/dev/null 2>&1 || true
  sleep 1.05
done
check_event "junk is clientFiltered 403 VALIDATE" "$EV" 3 Event=clientFiltered Status=403 ClientIP="$JUNK_IP" ClientMatchedIpFirewall=VALIDATE
check_event "the junk sender is banned after 5 violations" "$EV" 3 Event=clientFiltered ClientIP="$JUNK_IP" ClientMatchedIpFirewall=BANNED
assert_eq "one ban (the junk sender's)" 1 "$(metric rampart_guard_bans_total)"
check "the monitor's address still logs in" ip netns exec "$NS_C" timeout 15 "${SSH[@]}" "root@$EDGE_IP" true

stop_edge
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
