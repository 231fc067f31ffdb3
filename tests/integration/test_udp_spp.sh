#!/usr/bin/env bash
# integration: parallel
# UDP through the edge between namespaces: datagrams of 1472 and 9000 bytes (MTU 9000 on every
# veth) come back intact from an echo origin; Simple Proxy Protocol toward an SPP-speaking origin
# (magic 0x56EC, the client's real address as ::ffff:a.b.c.d, the edge address and both ports),
# the reply's header stripped before the client sees it, and replies naming another client (or
# carrying no/a broken header) dropped.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

CLIENT2_IP=10.77.1.3 # a second client address, the "other client" of spoofed replies
ip -n "$NS_C" addr add "$CLIENT2_IP/24" dev "${RPT_IF}c0"
for dev in "$NS_C ${RPT_IF}c0" "$NS_E ${RPT_IF}e0" "$NS_E ${RPT_IF}e1" "$NS_O ${RPT_IF}o0"; do
  read -r ns ifname <<<"$dev"
  ip -n "$ns" link set "$ifname" mtu 9000
done

# --- origins (python3): a plain UDP echo on :7001 and an SPP origin on :7002. Both write one JSON
# line per datagram to their log so the test can see what the origin received.
cat >"$TDIR/udp_origin.py" <<'PY'
import ipaddress, json, socket, struct, sys

mode, bind_ip, port, log_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((bind_ip, port))
log = open(log_path, "a", buffering=1)
while True:
    data, peer = s.recvfrom(65535)
    rec = {"from": peer[0], "from_port": peer[1], "len": len(data)}
    if mode == "echo":
        log.write(json.dumps(rec) + "\n")
        s.sendto(data, peer)
        continue
    # SPP: magic, client address (16), edge address (16), client port, edge port.
    if len(data) < 38 or data[:2] != b"\x56\xec":
        rec["error"] = "no SPP header"
        log.write(json.dumps(rec) + "\n")
        continue
    client = ipaddress.IPv6Address(data[2:18])
    edge = ipaddress.IPv6Address(data[18:34])
    cport, eport = struct.unpack("!HH", data[34:38])
    payload = data[38:]
    mapped = lambda a: f"::ffff:{a.ipv4_mapped}" if a.ipv4_mapped else str(a)
    rec.update(client=mapped(client), edge=mapped(edge), client_port=cport, edge_port=eport,
               payload=payload[:40].decode("ascii", "replace"))
    log.write(json.dumps(rec) + "\n")
    reply = data
    if payload.startswith(b"spoof-other-client "):
        # Name the other client (address and port given in the payload) instead of the sender.
        _, ip, p = payload.split(b" ")[:3]
        other = ipaddress.IPv6Address("::ffff:" + ip.decode()).packed
        reply = data[:2] + other + data[18:34] + struct.pack("!HH", int(p), eport) + payload
    elif payload.startswith(b"spoof-port"):
        reply = data[:34] + struct.pack("!HH", (cport + 1) % 65536, eport) + payload
    elif payload.startswith(b"no-header"):
        reply = payload
    elif payload.startswith(b"bad-magic"):
        reply = b"\x56\xed" + data[2:]
    s.sendto(reply, peer)
PY
rpt_spawn echo-origin "$NS_O" python3 "$TDIR/udp_origin.py" echo "$ORIGIN_IP" 7001 "$TDIR/echo.ndjson"
rpt_spawn spp-origin "$NS_O" python3 "$TDIR/udp_origin.py" spp "$ORIGIN_IP" 7002 "$TDIR/spp.ndjson"
require "echo origin bound on :7001" wait_port "$NS_O" udp 7001
require "SPP origin bound on :7002" wait_port "$NS_O" udp 7002

# Health checks are off: they probe with TCP, which these UDP-only origins do not answer (see
# tests/unit/edge/udp_edge_test.cc DefaultHealthCheckDoesNotTakeAWorkingUdpOriginDown).
app() { # id port proxy_protocol
  cat <<YAML
  - id: $1
    protocol: udp/$2
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["udp://$ORIGIN_IP:$2"]
    proxy_protocol: "$3"
    load_balancing: { health_check: { enabled: false } }
    timeouts: { udp_flow_idle: 30s }
YAML
}
{
  edge_config_head "$TDIR/var"
  echo "apps:"
  app udp-echo 7001 off
  app udp-spp 7002 simple
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge bound on udp :7001" wait_port "$NS_E" udp 7001
require "edge bound on udp :7002" wait_port "$NS_E" udp 7002

# --- the client (python3): subcommands print one JSON object.
cat >"$TDIR/udp_client.py" <<'PY'
import json, os, select, socket, sys, time

def sock(ip, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((ip, port))
    return s

def recv(s, timeout):
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return None, None
    return s.recvfrom(65535)

cmd = sys.argv[1]
if cmd == "sizes":  # sizes EDGE PORT CLIENT_IP N...: each size sent once, must come back intact
    edge, port, cip = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    s = sock(cip)
    out = {}
    for n in map(int, sys.argv[5:]):
        data = os.urandom(n)
        s.sendto(data, (edge, port))
        got, peer = recv(s, 3)
        out[str(n)] = ("intact" if got == data else
                       "no reply" if got is None else f"differs: got {len(got)} bytes")
        if peer is not None and peer != (edge, port):
            out[str(n)] += f" (from {peer})"
    print(json.dumps(out))
elif cmd == "exchange":  # exchange EDGE PORT CLIENT_IP CLIENT_PORT PAYLOAD WAIT_S
    edge, port, cip, cport, payload, wait = (sys.argv[2], int(sys.argv[3]), sys.argv[4],
                                             int(sys.argv[5]), sys.argv[6].encode(),
                                             float(sys.argv[7]))
    s = sock(cip, cport)
    s.sendto(payload, (edge, port))
    got, peer = recv(s, wait)
    print(json.dumps({"reply": None if got is None else got.decode("ascii", "replace"),
                      "from": None if peer is None else f"{peer[0]}:{peer[1]}"}))
elif cmd == "spoof":  # spoof EDGE PORT: client A asks the origin to answer naming client B
    edge, port, a_ip, a_port, b_ip, b_port = (sys.argv[2], int(sys.argv[3]), sys.argv[4],
                                              int(sys.argv[5]), sys.argv[6], int(sys.argv[7]))
    a, b = sock(a_ip, a_port), sock(b_ip, b_port)
    res = {}
    for p in ("hello from b", "ok"):  # B is a known flow, A too
        b.sendto(p.encode(), (edge, port))
        res.setdefault("b_setup", []).append(recv(b, 2)[0] is not None)
        a.sendto(p.encode(), (edge, port))
        res.setdefault("a_setup", []).append(recv(a, 2)[0] is not None)
    for bad in (f"spoof-other-client {b_ip} {b_port}", "spoof-port", "no-header", "bad-magic"):
        a.sendto(bad.encode(), (edge, port))
        got_a, _ = recv(a, 1.0)
        got_b, _ = recv(b, 0.2)
        res[bad.split(" ")[0]] = {"a": None if got_a is None else got_a.decode("ascii", "replace"),
                                  "b": None if got_b is None else got_b.decode("ascii", "replace")}
    a.sendto(b"after the spoofs", (edge, port))
    got, _ = recv(a, 2)
    res["after"] = None if got is None else got.decode()
    print(json.dumps(res))
PY
CLIENT=(ip netns exec "$NS_C" timeout 30 python3 "$TDIR/udp_client.py")
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v := v[k] for k in sys.argv[2:]]; print(v)' "$@"; }

# --- 1472 bytes (the largest single 1500-MTU frame) and 9000 bytes, echoed.
r=$("${CLIENT[@]}" sizes "$EDGE_IP" 7001 "$CLIENT_IP" 1472 9000 1 0 || echo '{}')
echo "sizes: $r"
for n in 1472 9000 1 0; do
  assert_eq "a $n-byte datagram comes back intact through the edge" intact "$(field "$r" "$n" 2>/dev/null || echo missing)"
done
lens=$(python3 -c 'import json,sys; print(sorted(json.loads(l)["len"] for l in open(sys.argv[1])))' "$TDIR/echo.ndjson")
assert_eq "the echo origin received exactly the datagrams, unchanged in size" "[0, 1, 1472, 9000]" "$lens"
src=$(python3 -c 'import json,sys; print(sorted({json.loads(l)["from"] for l in open(sys.argv[1])}))' "$TDIR/echo.ndjson")
assert_eq "the origin sees only the edge's address" "['$EDGE_EGRESS_IP']" "$src"

# --- SPP round trip from two client addresses.
for c in "$CLIENT_IP 40001" "$CLIENT2_IP 40002"; do
  read -r cip cport <<<"$c"
  r=$("${CLIENT[@]}" exchange "$EDGE_IP" 7002 "$cip" "$cport" "spp hello from $cip" 3 || echo '{}')
  echo "spp $cip: $r"
  assert_eq "SPP: $cip gets its own payload back without the header" "spp hello from $cip" "$(field "$r" reply)"
  assert_eq "SPP: the reply comes from the edge address and port" "$EDGE_IP:7002" "$(field "$r" from)"
  hdr=$(python3 - "$TDIR/spp.ndjson" "$cip" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("payload") == "spp hello from " + sys.argv[2]:
        print(r.get("error") or f'{r["client"]} {r["client_port"]} {r["edge"]} {r["edge_port"]} {r["from"]}')
PY
)
  assert_eq "SPP header at the origin: magic, ::ffff:client, client port, ::ffff:edge, edge port (from the egress)" \
    "::ffff:$cip $cport ::ffff:$EDGE_IP 7002 $EDGE_EGRESS_IP" "$hdr"
done
errs=$(grep -c '"error"' "$TDIR/spp.ndjson" || true)
assert_eq "every datagram the SPP origin received carried a valid SPP header" 0 "$errs"
r=$("${CLIENT[@]}" exchange "$EDGE_IP" 7002 "$CLIENT_IP" 40001 "$(head -c 8000 /dev/zero | tr '\0' 'j')" 3 || echo '{}')
assert_eq "SPP: an 8000-byte payload (plus the 38-byte header) makes the round trip" 8000 \
  "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1]).get("reply") or ""))' "$r")"

# --- replies that do not name the flow's client are dropped.
r=$("${CLIENT[@]}" spoof "$EDGE_IP" 7002 "$CLIENT_IP" 40011 "$CLIENT2_IP" 40012 || echo '{}')
echo "spoof: $r"
assert_eq "SPP: both clients' flows work before the spoofs" "[True, True] [True, True]" \
  "$(field "$r" a_setup) $(field "$r" b_setup)"
for kind in spoof-other-client spoof-port no-header bad-magic; do
  assert_eq "SPP: a reply with $kind reaches neither client" "None None" \
    "$(field "$r" "$kind" a 2>/dev/null || echo missing) $(field "$r" "$kind" b 2>/dev/null || echo missing)"
done
assert_eq "SPP: the flow still works after the dropped replies" "after the spoofs" "$(field "$r" after)"
n=$(grep -c 'spoof-other-client\|spoof-port\|no-header\|bad-magic' "$TDIR/spp.ndjson" || true)
assert_eq "the origin did receive (and answer) the 4 requests whose replies were dropped" 4 "$n"

check_event "connect event for the SPP app (udp, simple)" "$TDIR/var/events.ndjson" 5 \
  Event=connect Application=udp-spp ClientIP="$CLIENT2_IP" ClientProto=udp ProxyProtocol=simple
check "edge still running" edge_alive
rpt_finish
