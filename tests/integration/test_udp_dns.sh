#!/usr/bin/env bash
# integration: parallel
# DNS over UDP through the edge: `dig` in the client namespace asks the edge (app udp/53), the edge
# relays to dnsmasq in the origin namespace, the answer comes back; then 10,000 queries from 100
# client source ports (100 flows) lose less than 0.1%.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

ANSWER=10.77.9.9
mkdir -p "$TDIR/dnsmasq"
cat >"$TDIR/dnsmasq/dnsmasq.conf" <<CFG
no-daemon
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$ORIGIN_IP
except-interface=lo
port=53
user=root
group=root
pid-file=
cache-size=1000
address=/test.example/$ANSWER
CFG
rpt_spawn dnsmasq "$NS_O" dnsmasq --conf-file="$TDIR/dnsmasq/dnsmasq.conf"
require "dnsmasq bound on udp :53" wait_port "$NS_O" udp 53
require "dnsmasq answers in the origin namespace" bash -c \
  "ip netns exec $NS_O dig +short +time=2 +tries=1 @$ORIGIN_IP probe.test.example A | grep -qx $ANSWER"

{
  edge_config_head "$TDIR/var"
  cat <<YAML
apps:
  - id: dns
    protocol: udp/53
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["udp://$ORIGIN_IP:53"]
    proxy_protocol: "off"
    timeouts: { udp_flow_idle: 30s }
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge bound on udp :53" wait_port "$NS_E" udp 53

out=$(ip netns exec "$NS_C" timeout 10 dig +time=2 +tries=1 @"$EDGE_IP" -p 53 www.test.example A 2>&1 || true)
echo "$out" | sed -n '/HEADER/p;/ANSWER SECTION/,/^$/p;/SERVER/p'
assert_eq "dig through the edge gets the origin's answer" "$ANSWER" \
  "$(echo "$out" | awk '$1 == "www.test.example." && $4 == "A" {print $5}')"
check "dig: status NOERROR" grep -q 'status: NOERROR' <<<"$out"
check "dig: the answer comes from the edge address" grep -q "SERVER: $EDGE_IP#53" <<<"$out"
check_event "connect event for the dns flow (udp)" "$TDIR/var/events.ndjson" 5 \
  Event=connect Application=dns ClientIP="$CLIENT_IP" ClientProto=udp OriginIP="$ORIGIN_IP" OriginPort=53

# --- load: 100 sockets (100 source ports, so 100 flows), 100 queries each, one at a time per socket
# (DNS_INFLIGHT to change); each query has 2 s to be answered; the whole run is bounded by 60 s.
# With 4 in flight per socket, the first burst (400 datagrams at once) overflows the edge's
# listening socket (default SO_RCVBUF 212992: ~256 small datagrams) and ~1.5% are lost.
cat >"$TDIR/dnsload.py" <<'PY'
import json, os, random, selectors, socket, struct, sys, time

server, port, sockets, per_socket, answer, inflight = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
    socket.inet_aton(sys.argv[5]), int(sys.argv[6]))
TIMEOUT, DEADLINE = 2.0, time.monotonic() + 60

def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)  # A, IN

def good_answer(resp, qid):
    if len(resp) < 12:
        return False
    rid, flags, qd, an = struct.unpack("!HHHH", resp[:8])
    # QR set, rcode 0, one answer whose RDATA is the expected address (last 4 bytes: the only RR).
    return rid == qid and flags & 0x8000 and flags & 0xF == 0 and an >= 1 and resp[-4:] == answer

sel = selectors.DefaultSelector()
state = {}
for i in range(sockets):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.bind(("0.0.0.0", 0))
    st = {"sent": 0, "pending": {}, "ok": 0, "lost": 0, "bad": 0, "idx": i}
    state[s] = st
    sel.register(s, selectors.EVENT_READ)

def send_more(s, st, now):
    while len(st["pending"]) < inflight and st["sent"] < per_socket:
        qid = random.randrange(65536)
        while qid in st["pending"]:
            qid = random.randrange(65536)
        name = f"q{st['idx']}-{st['sent']}.test.example"
        try:
            s.sendto(query(qid, name), (server, port))
        except BlockingIOError:
            return
        st["pending"][qid] = now + TIMEOUT
        st["sent"] += 1

start = time.monotonic()
for s, st in state.items():
    send_more(s, st, start)
while time.monotonic() < DEADLINE:
    if all(st["sent"] == per_socket and not st["pending"] for st in state.values()):
        break
    for key, _ in sel.select(0.05):
        s, st = key.fileobj, state[key.fileobj]
        while True:
            try:
                resp = s.recv(4096)
            except BlockingIOError:
                break
            qid = struct.unpack("!H", resp[:2])[0] if len(resp) >= 2 else -1
            if qid in st["pending"]:
                del st["pending"][qid]
                if good_answer(resp, qid):
                    st["ok"] += 1
                else:
                    st["bad"] += 1
    now = time.monotonic()
    for s, st in state.items():
        for qid in [q for q, dl in st["pending"].items() if dl < now]:
            del st["pending"][qid]
            st["lost"] += 1
        send_more(s, st, now)
tot = {k: sum(st[k] for st in state.values()) for k in ("sent", "ok", "lost", "bad")}
tot["unfinished"] = sum(len(st["pending"]) for st in state.values())
tot["seconds"] = round(time.monotonic() - start, 2)
print(json.dumps(tot))
PY
r=$(ip netns exec "$NS_C" timeout 90 python3 "$TDIR/dnsload.py" "$EDGE_IP" 53 100 100 "$ANSWER" "${DNS_INFLIGHT:-1}" || echo '{}')
echo "load: $r"
get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], -1))' "$r" "$1"; }
assert_eq "load: 10000 queries sent" 10000 "$(get sent)"
ok=$(get ok)
echo "edge namespace: $(ip netns exec "$NS_E" nstat -az UdpRcvbufErrors UdpSndbufErrors | awk 'NR>1 {printf "%s %s  ", $1, $2}')"
check "load: at most 0.1% lost (answered $ok of 10000, lost $(get lost), unfinished $(get unfinished))" \
  test "$ok" -ge 9990
assert_eq "load: no wrong answers" 0 "$(get bad)"

# 100 flows for the load plus the dig one; nothing ended (udp_flow_idle 30s).
sleep 0.3
flows=$(python3 -c '
import json, sys
c = d = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("Application") != "dns": continue
    c += e["Event"] == "connect"; d += e["Event"] == "disconnect"
print(c, d)' "$TDIR/var/events.ndjson")
assert_eq "one flow per client source port: 101 connect events, 0 disconnects" "101 0" "$flows"
check "edge still running" edge_alive
rpt_finish
