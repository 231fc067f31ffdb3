#!/usr/bin/env bash
# 50,000 UDP flows (50 client addresses x 1,000 source ports, one datagram each) against an edge
# capped at 10,000 flows: the cap holds (open fds of the edge, and connect/disconnect events),
# the idlest flows are evicted while traffic goes on, the edge's RSS stays bounded, and once
# traffic stops every flow expires after `udp_flow_idle: 2s` (fds back to the baseline).
# The fd hard limit is 20000 for every process here; the edge uses one fd per flow, and its UDP
# flow budget (an edge with only UDP apps) is what the limit leaves after the API and the spare.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

CAP=10000
FLOWS_PER_IP=1000
# Many client addresses: the workers' SO_REUSEPORT group may steer by source address (one
# address -> one worker), and each worker holds its share of the cap.
CLIENT_IPS=("$CLIENT_IP")
for i in $(seq 10 58); do CLIENT_IPS+=("10.77.1.$i"); done
RSS_LIMIT_KB=$((64 * 1024)) # measured: ~18 MiB idle, ~28 MiB peak at 10,000 flows (release, 2 workers)
IDLE_S=2
EXPIRE_WITHIN_S=4 # idle 2 s + sweep period 1 s + 1 s slack
for ip in "${CLIENT_IPS[@]:1}"; do ip -n "$NS_C" addr add "$ip/24" dev "${RPT_IF}c0"; done

# --- origin: UDP echo (python3), counts what it got.
cat >"$TDIR/echo.py" <<'PY'
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((sys.argv[1], int(sys.argv[2])))
n = 0
def bye(*_):
    open(sys.argv[3], "w").write(f"{n}\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True:
    d, p = s.recvfrom(65535)
    n += 1
    s.sendto(d, p)
PY
rpt_spawn echo "$NS_O" python3 "$TDIR/echo.py" "$ORIGIN_IP" 7000 "$TDIR/origin_count"
ORIGIN_PID=$RPT_LAST_PID
require "echo origin bound on udp :7000" wait_port "$NS_O" udp 7000

# edge.max_udp_flows caps all UDP apps together; if this build's parser does not know it yet,
# the per-app cap protection.max_connections (which also counts UDP flows) is used instead.
# Health checks are off: they probe with TCP, which this UDP-only origin does not answer.
write_config() { # cap_style
  local edge_cap="" app_cap=""
  # Every flow here is one datagram (never confirmed): the unconfirmed share may use the whole
  # cap, which is what this test measures (the default is half of it).
  if [[ $1 == edge ]]; then edge_cap="  max_udp_flows: $CAP
  max_udp_unconfirmed_flows: $CAP"; else app_cap="    protection: { max_connections: $CAP }"; fi
  cat <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 1s
$edge_cap
api:
  listen: 127.0.0.1:8788
  token: test-token-$RPT_ID
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: flows
    protocol: udp/7000
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["udp://$ORIGIN_IP:7000"]
    load_balancing: { health_check: { enabled: false } }
    timeouts: { udp_flow_idle: ${IDLE_S}s }
$app_cap
YAML
}
write_config edge >"$TDIR/rampart.yaml"
if check_out=$("$RAMPART_BIN" check -c "$TDIR/rampart.yaml" 2>&1); then
  echo "cap: edge.max_udp_flows: $CAP"
else
  echo "NOTE: 'rampart check' rejects edge.max_udp_flows ($check_out); using the app's protection.max_connections: $CAP"
  write_config app >"$TDIR/rampart.yaml"
  require "config with protection.max_connections is valid" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
fi
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge bound on udp :7000" wait_port "$NS_E" udp 7000
EVENTS=$TDIR/var/events.ndjson

fds() { find "/proc/$EDGE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
sleep 0.3
BASE_FDS=$(fds)
echo "edge pid $EDGE_PID: $BASE_FDS fds before traffic, $(awk '/VmRSS/ {print $2 " kB"}' "/proc/$EDGE_PID/status") RSS"

# --- monitor (host side, reads /proc): peak fds and RSS of the edge every 20 ms until told to stop.
cat >"$TDIR/monitor.py" <<'PY'
import json, os, sys, time
pid, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
peak_fds = peak_rss = 0
end = time.monotonic() + 120
while not os.path.exists(stop) and time.monotonic() < end:
    try:
        n = len(os.listdir(f"/proc/{pid}/fd"))
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
    except (OSError, StopIteration):
        break
    peak_fds, peak_rss = max(peak_fds, n), max(peak_rss, rss)
    time.sleep(0.02)
json.dump({"peak_fds": peak_fds, "peak_rss_kb": peak_rss}, open(out, "w"))
PY
python3 "$TDIR/monitor.py" "$EDGE_PID" "$TDIR/monitor.stop" "$TDIR/monitor.json" &
MONITOR_PID=$!
RPT_PIDS+=("$MONITOR_PID")

# --- sender (client namespace): one datagram from each (address, port); at most 8 batches of 250
# sockets open at once (~250 ms for a reply); each batch's replies are counted before its sockets close. Paced to
# ~8000 new flows/s in bursts of 25, so more than CAP flows are younger than the idle timeout: the
# edge must evict.
cat >"$TDIR/sender.py" <<'PY'
import json, socket, sys, time
edge, port, per_ip, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ips = sys.argv[5:]
BATCH, BURST, FIRST_PORT = 250, 25, 20000
pairs = [(ip, FIRST_PORT + i) for i in range(per_ip) for ip in ips]
sent = replies = bind_errors = 0
open_batches = []
start = time.monotonic()

def drain(batch):
    global replies
    for s in batch:
        try:
            while True:
                s.recv(64)
                replies += 1
        except BlockingIOError:
            pass

for b in range(0, len(pairs), BATCH):
    batch = []
    for k, (ip, p) in enumerate(pairs[b:b + BATCH]):
        if k % BURST == 0:
            ahead = start + (b + k) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        try:
            s.bind((ip, p))
            s.sendto(b"flow %d" % p, (edge, port))
            sent += 1
        except OSError:
            bind_errors += 1
        batch.append(s)
    open_batches.append(batch)
    if len(open_batches) > 8:
        old = open_batches.pop(0)
        drain(old)
        for s in old:
            s.close()
    if time.monotonic() - start > 55:
        break
time.sleep(0.05)
for batch in open_batches:
    drain(batch)
    for s in batch:
        s.close()
print(json.dumps({"sent": sent, "replies": replies, "bind_errors": bind_errors,
                  "seconds": round(time.monotonic() - start, 2)}))
PY
r=$(ip netns exec "$NS_C" timeout 70 python3 "$TDIR/sender.py" "$EDGE_IP" 7000 "$FLOWS_PER_IP" 8000 "${CLIENT_IPS[@]}" || echo '{}')
SENT_DONE=$(date +%s.%N)
echo "sender: $r"
get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], -1))' "$r" "$1"; }
total=$((FLOWS_PER_IP * ${#CLIENT_IPS[@]}))
assert_eq "sender: $total datagrams from $total distinct (address, port) pairs" "$total" "$(get sent)"
replies=$(get replies)
# Not every datagram needs to make it (a busy 2-core box drops some in the edge's socket buffer,
# see UdpRcvbufErrors below); the flows that were created must be relayed.
echo "edge namespace: $(ip netns exec "$NS_E" nstat -az UdpRcvbufErrors UdpSndbufErrors | awk 'NR>1 {printf "%s %s  ", $1, $2}')"
late=$(ip netns exec "$NS_C" nstat -az UdpNoPorts | awk '$1 == "UdpNoPorts" {print $2}')
echo "client namespace: $late replies came after the sender had closed their socket (UdpNoPorts)"
check "at least 90% of the flows got their datagram echoed back through the edge ($replies in time + $late late, of $total)" \
  test $((replies + late)) -ge $((total * 90 / 100))
check "edge still running after $total flows" edge_alive

# --- expiry: every flow gone once traffic stopped (fd count back near the baseline).
expired_after=""
for i in $(seq 150); do
  n=$(fds)
  if ((n <= BASE_FDS + 2)); then
    expired_after=$(python3 -c "import time; print(round(time.time() - $SENT_DONE, 1))")
    break
  fi
  sleep 0.1
done
touch "$TDIR/monitor.stop"
wait "$MONITOR_PID" || true
echo "fds now $(fds) (baseline $BASE_FDS); all flows gone ${expired_after:-never (15 s)} s after the sender ended"
check "idle flows expire: fds back to the baseline within ${EXPIRE_WITHIN_S}s of the last datagram (udp_flow_idle ${IDLE_S}s)" \
  python3 -c "import sys; sys.exit(0 if '$expired_after' and float('$expired_after') <= $EXPIRE_WITHIN_S else 1)"

m=$(cat "$TDIR/monitor.json" 2>/dev/null || echo '{}')
peak_fds=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("peak_fds", -1))' "$m")
peak_rss=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("peak_rss_kb", -1))' "$m")
echo "edge peak: $peak_fds fds (baseline $BASE_FDS, cap $CAP flows), $peak_rss kB RSS (limit $RSS_LIMIT_KB kB)"
check "the flow cap holds: peak open fds $peak_fds <= baseline $BASE_FDS + $CAP + 4" \
  test "$peak_fds" -le $((BASE_FDS + CAP + 4))
check "the cap was reached (peak fds $peak_fds >= baseline + $((CAP * 9 / 10)))" \
  test "$peak_fds" -ge $((BASE_FDS + CAP * 9 / 10))
check "edge RSS stays bounded: peak $peak_rss kB < $RSS_LIMIT_KB kB" test "$peak_rss" -gt 0 -a "$peak_rss" -lt "$RSS_LIMIT_KB"

# --- the event log: concurrent flows never above the cap; evictions (flows ended younger than the
# idle timeout) happened while sending; after expiry every connect has its disconnect.
rpt_stop "$ORIGIN_PID" # the origin writes its count on SIGTERM
sleep 0.5 # the event log is flushed every 100 ms
ev=$(python3 - "$EVENTS" "$IDLE_S" <<'PY'
import json, sys
from datetime import datetime, timezone

def ns(ts):  # "2026-01-01T00:00:00.123456789Z" -> ns since the epoch
    base, _, frac = ts.rstrip("Z").partition(".")
    sec = int(datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())
    return sec * 10**9 + int((frac + "000000000")[:9])

idle_ns = int(float(sys.argv[2]) * 1e9)
marks, connects, disconnects, evicted, statuses = [], 0, 0, 0, {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("Application") != "flows":
        continue
    t = ns(e["Timestamp"])
    if e["Event"] == "connect":
        connects += 1
        marks.append((t, 1))
    elif e["Event"] == "disconnect":
        disconnects += 1
        marks.append((t, -1))
        statuses[e["Status"]] = statuses.get(e["Status"], 0) + 1
        if ns(e["DisconnectTimestamp"]) - ns(e["ConnectTimestamp"]) < idle_ns * 0.95:
            evicted += 1
marks.sort(key=lambda m: (m[0], m[1]))  # a disconnect and a connect at the same ns: disconnect first
live = peak = 0
for _, d in marks:
    live += d
    peak = max(peak, live)
print(json.dumps({"connects": connects, "disconnects": disconnects, "peak_live": peak,
                  "evicted": evicted, "statuses": statuses}))
PY
) || ev='{}'
echo "events: $ev"
evf() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], -1))' "$ev" "$1"; }
connects=$(evf connects)
check "a connect event per flow ($connects >= 90% of $total; the origin got $(cat "$TDIR/origin_count" 2>/dev/null || echo '?'))" \
  test "$connects" -ge $((total * 90 / 100))
check "events: live flows never above the cap (peak $(evf peak_live) <= $CAP + 2)" test "$(evf peak_live)" -le $((CAP + 2))
check "events: flows were evicted while sending ($(evf evicted) ended younger than ${IDLE_S}s)" \
  test "$(evf evicted)" -ge $((total - CAP * 2))
assert_eq "events: every connect has its disconnect after expiry" "$connects" "$(evf disconnects)"

check "edge still running" edge_alive
rpt_finish
