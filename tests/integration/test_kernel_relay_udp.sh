#!/usr/bin/env bash
# integration: parallel
# Issue #14, UDP half: established UDP flows relayed by the kernel (tc, docs/kernel-relay-udp.md)
# between namespaces over veth, with ip_forward=0 in the edge namespace.
# 1. A flow moved to the kernel (kernel_relay: on) keeps every byte: datagrams of 0..1472 bytes
#    and 9000 bytes (MTU 9000 on every veth) come back intact, in both IPv4 and IPv6; the origin
#    sees the edge's egress address and the flow's port; /metrics count the moved flow and the
#    packets the program relayed, and the app's bytes and datagrams are exact; the flow's
#    disconnect event (after udp_flow_idle) carries the exact bytes.
# 2. Headers: an SPP app and a PROXY v2 app (proxy_protocol_udp: every) moved to the kernel: the
#    origins parse every datagram's header (the SPP parser of test_udp_spp.sh; PROXY v2 by its
#    spec) and find the client's address and port in each, byte for byte the header the
#    user-space path sent before the move; SPP replies come back with their header stripped;
#    a reply naming another client is dropped (left to user space, which counts it).
# 2b. kernel_relay: off keeps the flow in user space (nothing relayed by the program).
# 4. An access rule added through the API reaches an established kernel flow: within 2 s its
#    client's datagrams are refused (block_ip, counted) although the flow lives on in the flow
#    table; once the rule is deleted they pass again and the flow is moved back to the kernel
#    (a reload takes every kernel flow of a changed app back to user space until its next
#    datagram passes the new rules: rampart_kernel_relay_udp_flows_total{state="requeued"}).
# Throughout, the edge runs as nobody (edge.user): attached before the drop, the relay's maps are
# updated by the workers without capabilities.
# 3. The guard still holds: a source flooding through its established kernel flow is cut to its
#    per-source datagram rate by the program (counted as udp_rate_limit in the guard's drops),
#    then banned by the autoban (its violations come from the program's counters), after which
#    the program drops it as banned.
# shellcheck disable=SC2317  # helpers invoked through check/wait_until
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

C6=fd77:1::2
E6=fd77:1::1
EG6=fd77:2::1
O6=fd77:2::2
ip -n "$NS_C" addr add "$C6/64" dev "${RPT_IF}c0" nodad
ip -n "$NS_E" addr add "$E6/64" dev "${RPT_IF}e0" nodad
ip -n "$NS_E" addr add "$EG6/64" dev "${RPT_IF}e1" nodad
ip -n "$NS_O" addr add "$O6/64" dev "${RPT_IF}o0" nodad
ip -n "$NS_C" -6 route add default via "$E6"
ip -n "$NS_O" -6 route add default via "$EG6"
ip netns exec "$NS_E" sysctl -qw net.ipv6.conf.all.forwarding=0
for dev in "$NS_C ${RPT_IF}c0" "$NS_E ${RPT_IF}e0" "$NS_E ${RPT_IF}e1" "$NS_O ${RPT_IF}o0"; do
  read -r ns ifname <<<"$dev"
  ip -n "$ns" link set "$ifname" mtu 9000
done

# --- origin: UDP echo on both families; one JSON line per datagram (sender, length).
cat >"$TDIR/echo.py" <<'PY'
import json, socket, sys, threading
def serve(fam, ip, port, log):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((ip, port))
    while True:
        d, p = s.recvfrom(65535)
        log.write(json.dumps({"from": p[0], "port": p[1], "len": len(d), "to": port}) + "\n")
        s.sendto(d, p)
log = open(sys.argv[1], "a", buffering=1)
for port in map(int, sys.argv[4:]):
    threading.Thread(target=serve, args=(socket.AF_INET, sys.argv[2], port, log), daemon=True).start()
    threading.Thread(target=serve, args=(socket.AF_INET6, sys.argv[3], port, log), daemon=True).start()
threading.Event().wait()
PY
rpt_spawn origin "$NS_O" python3 "$TDIR/echo.py" "$TDIR/origin.ndjson" "$ORIGIN_IP" "$O6" 7001 7002 7003 7004 7007
# Header origins: SPP on :7005 (replies carry the request's header, as an SPP origin does), PROXY
# v2 on :7006 (replies are the payload alone). One JSON line per datagram: the header's bytes
# (hex) and what they say.
cat >"$TDIR/hdr_origin.py" <<'PY'
import ipaddress, json, socket, struct, sys, threading
ip, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
def mapped(b):
    a = ipaddress.IPv6Address(b)
    return f"::ffff:{a.ipv4_mapped}" if a.ipv4_mapped else str(a)
def spp(s):
    while True:
        data, peer = s.recvfrom(65535)
        rec = {"port": 7005, "from": peer[0], "len": len(data)}
        if len(data) < 38 or data[:2] != b"\x56\xec":
            rec["error"] = "no SPP header"
        else:
            cport, eport = struct.unpack("!HH", data[34:38])
            rec.update(hdr=data[:38].hex(), client=mapped(data[2:18]), client_port=cport,
                       edge=mapped(data[18:34]), edge_port=eport)
            if data[38:].startswith(b"spoof-port"):  # name another client port
                data = data[:34] + struct.pack("!HH", (cport + 1) % 65536, eport) + data[38:]
            s.sendto(data, peer)
        log.write(json.dumps(rec) + "\n")
def v2(s):
    while True:
        data, peer = s.recvfrom(65535)
        rec = {"port": 7006, "from": peer[0], "len": len(data)}
        if len(data) < 16 or data[:12] != SIG or data[12] != 0x21:
            rec["error"] = "no PROXY v2 header"
        else:
            fam, n = data[13], struct.unpack("!H", data[14:16])[0]
            body = data[16:16 + n]
            if fam == 0x12 and n >= 12:  # UDP over IPv4
                src, dst = socket.inet_ntop(socket.AF_INET, body[0:4]), socket.inet_ntop(socket.AF_INET, body[4:8])
                sp, dp = struct.unpack("!HH", body[8:12])
            elif fam == 0x22 and n >= 36:  # UDP over IPv6
                src, dst = socket.inet_ntop(socket.AF_INET6, body[0:16]), socket.inet_ntop(socket.AF_INET6, body[16:32])
                sp, dp = struct.unpack("!HH", body[32:36])
            else:
                src = dst = None
                sp = dp = 0
                rec["error"] = f"family {fam:#x} length {n}"
            rec.update(hdr=data[:16 + n].hex(), client=src, client_port=sp, edge=dst, edge_port=dp)
            s.sendto(data[16 + n:], peer)
        log.write(json.dumps(rec) + "\n")
for port, fn in ((7005, spp), (7006, v2)):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((ip, port))
    threading.Thread(target=fn, args=(s,), daemon=True).start()
threading.Event().wait()
PY
rpt_spawn hdr-origin "$NS_O" python3 "$TDIR/hdr_origin.py" "$ORIGIN_IP" "$TDIR/hdr.ndjson"
require "echo origin bound" wait_port "$NS_O" udp 7003

app() { # id port kernel_relay [protection yaml] [origin address]
  cat <<YAML
  - id: $1
    protocol: udp/$2
    edge_ips: { type: static, ips: ["$EDGE_IP", "$E6"] }
    origin_direct: ["udp://${5:-$ORIGIN_IP}:$2"]
    kernel_relay: $3
    load_balancing: { health_check: { enabled: false } }
    timeouts: { udp_flow_idle: 6s }
YAML
  if [[ -n ${4:-} ]]; then echo "    protection: $4"; fi
}
GUARDED='{ per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 200, udp_burst: 200 }, max_connections: 0, autoban: { violations: 2, window: 30s, duration: 60s } }'
{
  edge_config_head "$TDIR/var" "$EDGE_IP\", \"$E6"
  echo "apps:"
  app udp-kernel 7001 on
  app udp-kernel6 7004 on "" "[$O6]"
  app udp-user 7002 off
  app udp-guard 7003 on "$GUARDED"
  app udp-spp 7005 on
  echo '    proxy_protocol: simple'
  app udp-ppv2 7006 on
  echo '    proxy_protocol: v2'
  echo '    proxy_protocol_udp: every'
  app udp-fw 7007 on
  echo '    ip_firewall: true'
} >"$TDIR/rampart.yaml"
# The edge drops to nobody after start (edge.user): the relay is attached before the drop, and the
# workers add, read and delete map entries without any capability afterwards.
sed -i 's/^  colo: TEST$/  colo: TEST\n  user: nobody/' "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge bound on udp :7003" wait_port "$NS_E" udp 7003
check "the edge attached the kernel relay" wait_until 5 grep -q "kernel relay: UDP program attached" "$EDGE_LOG"
check "the edge dropped to nobody" wait_until 5 grep -q "privileges: running as nobody" "$EDGE_LOG"

# --- the client: one flow per call; prints a JSON object.
cat >"$TDIR/client.py" <<'PY'
import json, os, select, socket, sys, time
cmd, edge, port, cip, cport = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
fam = socket.AF_INET6 if ":" in edge else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((cip, cport))
def rt(data, wait=2.0):
    s.sendto(data, (edge, port))
    r, _, _ = select.select([s], [], [], wait)
    if not r:
        return None
    return s.recvfrom(65535)
out = {}
if cmd == "sizes":
    # Two round trips set the flow up (reply, then the client speaks again: confirmed, moved).
    out["setup"] = [rt(b"setup-%d" % i) is not None for i in range(2)]
    time.sleep(0.2)
    sent = bytes_sent = intact = 0
    sizes = list(range(0, 1473, 23)) + [1472, 9000, 1, 0] * 3
    for n in sizes:
        data = os.urandom(n)
        got = rt(data)
        sent += 1
        bytes_sent += n
        if got is not None and got[0] == data and got[1][:2] == (edge, port):
            intact += 1
    out.update(sent=sent, intact=intact, bytes=bytes_sent + sum(len(b"setup-%d" % i) for i in range(2)))
elif cmd == "flood":  # flood N_PER_S SECONDS: round trips first, then a paced flood, then probes
    rate, secs = int(sys.argv[6]), float(sys.argv[7])
    out["setup"] = [rt(b"setup-%d" % i) is not None for i in range(2)]
    s.setblocking(False)
    end, n, got = time.time() + secs, 0, 0
    while time.time() < end:
        t0 = time.time()
        for _ in range(rate // 100):
            try:
                s.sendto(b"f" * 100, (edge, port)); n += 1
            except BlockingIOError:
                pass
        while True:
            try:
                s.recvfrom(65535); got += 1
            except BlockingIOError:
                break
        time.sleep(max(0.0, 0.01 - (time.time() - t0)))
    time.sleep(0.5)
    while True:
        try:
            s.recvfrom(65535); got += 1
        except BlockingIOError:
            break
    out.update(sent=n, echoed=got)
elif cmd == "steady":  # steady SECONDS: a datagram every 50 ms; prints when each echo came back
    secs = float(sys.argv[6])
    out["setup"] = [rt(b"setup-%d" % i) is not None for i in range(2)]
    s.setblocking(False)
    t0, echoes, n = time.time(), [], 0
    while time.time() < t0 + secs:
        s.sendto(b"steady-%d" % n, (edge, port)); n += 1
        end = time.time() + 0.05
        while time.time() < end:
            r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
            if r:
                s.recvfrom(65535); echoes.append(time.time())
    out.update(sent=n, echoes=echoes)
elif cmd == "spoofport":  # a kernel flow, then a reply naming another port, then a normal one
    out["setup"] = [rt(b"setup-%d" % i) is not None for i in range(2)]
    time.sleep(0.2)
    got = rt(b"spoof-port", 1.0)
    out["spoofed"] = None if got is None else got[0].decode("ascii", "replace")
    got = rt(b"after")
    out["after"] = None if got is None else got[0].decode("ascii", "replace")
print(json.dumps(out))
PY
CLIENT=(ip netns exec "$NS_C" timeout 60 python3 "$TDIR/client.py")
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v := v[k] for k in sys.argv[2:]]; print(v)' "$@"; }
API=http://127.0.0.1:8788
fetch_metrics() {
  ip netns exec "$NS_E" curl -sS -o "$TDIR/metrics.txt" -w '%{http_code}' \
    -H "Authorization: Bearer test-token-$RPT_ID" "$API/metrics" | grep -q 200
}
metric() { # NAME LABEL=VALUE...: the one sample with exactly these labels (colo aside)
  python3 - "$TDIR/metrics.txt" "$@" <<'PY'
import re, sys
path, name, want = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
found = []
for line in open(path):
    m = line_re.match(line.rstrip("\n"))
    if not m or m.group(1) != name:
        continue
    labels = dict(label_re.findall(m.group(2) or ""))
    labels.pop("colo", None)
    if labels == want:
        found.append(m.group(3))
print(found[0] if len(found) == 1 else ("missing" if not found else "duplicate"))
PY
}

# --- 1. a kernel flow, IPv4 (app udp-kernel, :7001) and IPv6 (app udp-kernel6, :7004).
relayed_before=0
for fam in 4 6; do
  if [[ $fam == 4 ]]; then
    edge=$EDGE_IP cip=$CLIENT_IP egress=$EDGE_EGRESS_IP port=7001 id=udp-kernel
  else
    edge=$E6 cip=$C6 egress=$EG6 port=7004 id=udp-kernel6
  fi
  r=$("${CLIENT[@]}" sizes "$edge" $port "$cip" 4100$fam || echo '{}')
  echo "IPv$fam kernel flow: $r"
  assert_eq "IPv$fam: the flow's two setup round trips work" "[True, True]" "$(field "$r" setup)"
  assert_eq "IPv$fam: every datagram (0..1472 and 9000 bytes) comes back intact from the edge" \
    "$(field "$r" sent)" "$(field "$r" intact)"
  fetch_metrics || echo "metrics fetch failed"
  now_flows=$(metric rampart_kernel_relay_udp_flows)
  rpt_log "kernel flows now: $now_flows (moved $(metric rampart_kernel_relay_udp_flows_total state=moved), ended $(metric rampart_kernel_relay_udp_flows_total state=ended))"
  check "IPv$fam metrics: the flow is relayed by the kernel now ($now_flows)" test "$now_flows" -ge 1
  bytes=$(field "$r" bytes)
  dgrams=$(($(field "$r" sent) + 2))
  seen=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
recs = [r for r in recs if r["to"] == int(sys.argv[2])]
print(len(recs), sorted({r["from"] for r in recs}), len({r["port"] for r in recs}), sum(r["len"] for r in recs))' \
    "$TDIR/origin.ndjson" $port)
  assert_eq "IPv$fam: the origin got every datagram once, from the egress address and one port, every byte" \
    "$dgrams ['$egress'] 1 $bytes" "$seen"
  # The counters are synced once a second.
  settled() {
    fetch_metrics && [[ $(metric rampart_bytes_ingress_total app="$id") == "$bytes" ]] &&
      [[ $(metric rampart_bytes_egress_total app="$id") == "$bytes" ]]
  }
  check "IPv$fam metrics: the app's bytes both ways are exact ($bytes)" wait_until 5 settled
  assert_eq "IPv$fam metrics: datagrams from the client exact" "$dgrams" "$(metric rampart_datagrams_ingress_total app="$id")"
  assert_eq "IPv$fam metrics: datagrams to the client exact" "$dgrams" "$(metric rampart_datagrams_egress_total app="$id")"
  relayed=$(metric rampart_kernel_relay_udp_packets_total result=relayed)
  # The setup (setup-0, its reply, setup-1 that confirms and moves the flow) went through user
  # space, and so did the 9000-byte datagrams (3 each way): with the UDP and IP headers they
  # exceed the MTU, and the program leaves IP fragments to the stack.
  assert_eq "IPv$fam metrics: the program relayed every other datagram both ways" \
    $((2 * dgrams - 3 - 6)) $((relayed - relayed_before))
  relayed_before=$relayed
done
assert_eq "metrics: two flows moved to the kernel" 2 "$(metric rampart_kernel_relay_udp_flows_total state=moved)"
assert_eq "metrics: no helper failed" 0 "$(metric rampart_kernel_relay_udp_packets_total result=failed)"
check_event "IPv4 kernel flow: its disconnect event after udp_flow_idle" "$TDIR/var/events.ndjson" 20 \
  Event=disconnect Application=udp-kernel ClientIP="$CLIENT_IP" ClientPort=41004
check_event "IPv6 kernel flow: its disconnect event after udp_flow_idle" "$TDIR/var/events.ndjson" 20 \
  Event=disconnect Application=udp-kernel6 ClientPort=41006
ev_bytes=$(python3 - "$TDIR/var/events.ndjson" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("Event") == "disconnect" and e.get("Application", "").startswith("udp-kernel"):
        out.append("%s %s %s" % (e["Application"], e["ClientBytes"], e["OriginBytes"]))
print(" ".join(sorted(out)))
PY
)
assert_eq "disconnect events carry the exact bytes both ways" \
  "udp-kernel $bytes $bytes udp-kernel6 $bytes $bytes" "$ev_bytes"
fetch_metrics
assert_eq "metrics: the expired flows left the kernel" 0 "$(metric rampart_kernel_relay_udp_flows)"
assert_eq "metrics: two kernel flows ended" 2 "$(metric rampart_kernel_relay_udp_flows_total state=ended)"

# --- 2. headers added (and SPP stripped) by the program.
require "header origins bound" wait_port "$NS_O" udp 7006
moved_before=$(metric rampart_kernel_relay_udp_flows_total state=moved)
for port in 7005 7006; do
  r=$("${CLIENT[@]}" sizes "$EDGE_IP" $port "$CLIENT_IP" 4500${port: -1} || echo '{}')
  echo "header app :$port: $r"
  assert_eq ":$port: every datagram comes back intact (SPP reply header stripped)" \
    "$(field "$r" sent)" "$(field "$r" intact)"
  hdrs=$(python3 - "$TDIR/hdr.ndjson" $port <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
recs = [r for r in recs if r["port"] == int(sys.argv[2])]
errors = [r["error"] for r in recs if "error" in r]
said = sorted({f'{r["client"]} {r["client_port"]} {r["edge"]} {r["edge_port"]}' for r in recs if "error" not in r})
print(len(recs), len(errors), len({r.get("hdr") for r in recs}), said)
PY
)
  if [[ $port == 7005 ]]; then want="['::ffff:$CLIENT_IP 4500${port: -1} ::ffff:$EDGE_IP $port']"; else want="['$CLIENT_IP 4500${port: -1} $EDGE_IP $port']"; fi
  assert_eq ":$port: the origin parsed every datagram's header, one header byte for byte (user space and kernel alike), naming the client" \
    "$(($(field "$r" sent) + 2)) 0 1 $want" "$hdrs"
done
spp_settled() {
  fetch_metrics && [[ $(metric rampart_bytes_ingress_total app=udp-spp) == 79273 ]] &&
    [[ $(metric rampart_bytes_egress_total app=udp-spp) == 79273 ]]
}
check "SPP metrics: the client's bytes both ways, exact (headers not counted to the client)" wait_until 5 spp_settled
assert_eq "metrics: both header flows moved to the kernel" $((moved_before + 2)) "$(metric rampart_kernel_relay_udp_flows_total state=moved)"
assert_eq "metrics: no helper failed" 0 "$(metric rampart_kernel_relay_udp_packets_total result=failed)"
mismatch_before=$(metric rampart_udp_drops_total reason=spp_mismatch)
r=$("${CLIENT[@]}" spoofport "$EDGE_IP" 7005 "$CLIENT_IP" 45015 || echo '{}')
echo "SPP spoofed reply on a kernel flow: $r"
assert_eq "SPP: a reply naming another client port reaches no one; the flow goes on" \
  '{"setup": [true, true], "spoofed": null, "after": "after"}' "$r"
fetch_metrics
assert_eq "SPP: the program left the mismatching reply to user space, which counted it" \
  $((mismatch_before + 1)) "$(metric rampart_udp_drops_total reason=spp_mismatch)"

# --- 2b. kernel_relay: off stays in user space.
before=$(metric rampart_kernel_relay_udp_packets_total result=relayed)
moved_before=$(metric rampart_kernel_relay_udp_flows_total state=moved)
r=$("${CLIENT[@]}" sizes "$EDGE_IP" 7002 "$CLIENT_IP" 42004 || echo '{}')
assert_eq "kernel_relay off: every datagram comes back intact" "$(field "$r" sent)" "$(field "$r" intact)"
fetch_metrics
assert_eq "kernel_relay off: the program relayed nothing more" "$before" "$(metric rampart_kernel_relay_udp_packets_total result=relayed)"
assert_eq "kernel_relay off: no more flows moved" "$moved_before" "$(metric rampart_kernel_relay_udp_flows_total state=moved)"

# --- 3. the guard on an established kernel flow: 1000 datagrams/s for 4 s against 200/s.
r=$("${CLIENT[@]}" flood "$EDGE_IP" 7003 "$CLIENT_IP" 43004 1000 4 || echo '{}')
echo "flood: $r"
assert_eq "flood: the flow was set up first" "[True, True]" "$(field "$r" setup)"
flood_at_origin=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["to"] == 7003))' "$TDIR/origin.ndjson")
sent=$(field "$r" sent)
echo "FIGURES flood: sent $sent, origin got $flood_at_origin"
check "flood: the origin got at most rate x time + burst (+ setup) of the $sent ($flood_at_origin <= 1202)" \
  test "$flood_at_origin" -le 1202
check "flood: the edge banned the flooding source" wait_until 5 grep -q "guard: banned $CLIENT_IP" "$EDGE_LOG"
sleep 1.2 # one sync period
fetch_metrics
rate_drops=$(metric rampart_guard_drops_total app=udp-guard reason=udp_rate_limit)
prog_rate=$(metric rampart_kernel_relay_udp_packets_total result=udp_rate_limit)
prog_ban=$(metric rampart_kernel_relay_udp_packets_total result=banned)
ban_drops=$(metric rampart_guard_drops_total app=udp-guard reason=banned)
echo "FIGURES guard drops: udp_rate_limit $rate_drops (program $prog_rate), banned $ban_drops (program $prog_ban)"
check "flood: the program dropped over-rate datagrams, counted under the guard's reason" test "${rate_drops:-0}" -gt 0
assert_eq "flood: the guard's udp_rate_limit drops are the program's" "$prog_rate" "$rate_drops"
assert_eq "flood: the guard's banned drops are the program's" "$prog_ban" "$ban_drops"
accounted=$((flood_at_origin - 2 + rate_drops + ban_drops))
assert_eq "flood: every flood datagram was relayed or dropped for a reason" "$sent" "$accounted"
# --- 4. an access rule reaches an established kernel flow (and its removal lets it back in).
FW_IP=10.77.1.9 # a client of its own: CLIENT_IP is banned by now
ip -n "$NS_C" addr add "$FW_IP/24" dev "${RPT_IF}c0"
api() { # METHOD PATH [BODY]: the JSON answer
  ip netns exec "$NS_E" curl -sS -X "$1" -H "Authorization: Bearer test-token-$RPT_ID" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$API/client/v4/zones/default$2"
}
fetch_metrics
requeued_before=$(metric rampart_kernel_relay_udp_flows_total state=requeued)
"${CLIENT[@]}" steady "$EDGE_IP" 7007 "$FW_IP" 44004 13 >"$TDIR/steady.json" 2>&1 &
steady_pid=$!
sleep 2
fetch_metrics
moved_mid=$(metric rampart_kernel_relay_udp_flows_total state=moved)
blocks_before=$(metric rampart_guard_drops_total app=udp-fw reason=block_ip)
t_rule=$(date +%s.%N)
rule=$(api POST /firewall/access_rules/rules \
  "{\"mode\":\"block\",\"configuration\":{\"target\":\"ip\",\"value\":\"$FW_IP\"},\"notes\":\"kernel flow\"}")
rule_id=$(field "$rule" result id 2>/dev/null || echo "")
check "block rule for $FW_IP created" test -n "$rule_id"
sleep 3.5
t_delete=$(date +%s.%N)
api DELETE "/firewall/access_rules/rules/$rule_id" >/dev/null
wait "$steady_pid" || true
r=$(cat "$TDIR/steady.json")
assert_eq "rule: the steady flow was set up (and moved) first" "[True, True]" "$(field "$r" setup)"
read -r before_rule blocked_window after_delete < <(python3 - "$r" "$t_rule" "$t_delete" <<'PY'
import json, sys
v, t_rule, t_del = json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
e = v["echoes"]
print(sum(1 for t in e if t < t_rule), sum(1 for t in e if t_rule + 2 <= t < t_del),
      sum(1 for t in e if t >= t_del + 2))
PY
)
echo "FIGURES rule: echoes before the rule $before_rule, from 2 s after it until its deletion $blocked_window, from 2 s after the deletion $after_delete"
check "rule: echoes came back before the rule ($before_rule)" test "$before_rule" -gt 10
assert_eq "rule: no echo from 2 s after the rule was added until it was deleted" 0 "$blocked_window"
check "rule: echoes come back again 2 s after the deletion ($after_delete)" test "$after_delete" -gt 10
fetch_metrics
check "rule: the refused datagrams are counted as block_ip" \
  test "$(metric rampart_guard_drops_total app=udp-fw reason=block_ip)" -gt "${blocks_before:-0}"
check "rule: the reloads took the kernel flow back to user space (requeued)" \
  test "$(metric rampart_kernel_relay_udp_flows_total state=requeued)" -gt "${requeued_before:-0}"
check "rule: once allowed again, the flow was moved back to the kernel" \
  test "$(metric rampart_kernel_relay_udp_flows_total state=moved)" -gt "$moved_mid"
check "edge still running" edge_alive
rpt_finish
