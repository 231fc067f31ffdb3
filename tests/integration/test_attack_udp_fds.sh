#!/usr/bin/env bash
# Issue #10, "spoofed UDP exhausts file descriptors": 40,000 datagrams from 40,000 spoofed
# sources against a UDP app of an edge started under `prlimit --nofile=1024:4096` (the edge
# raises its soft limit to 4096 and splits it into budgets). Before this change each spoofed
# source opened an origin socket until the process had no descriptor left, and every TCP app
# stopped accepting. Now the new flows churn through the unconfirmed share of the UDP budget:
#   - legit clients keep working during and after the attack (>= 99% each, p99 stated): a UDP
#     client seen before the attack (its confirmed flow is never evicted: the origin sees one
#     source port for it throughout), a fresh UDP client that starts during the attack, one-shot
#     UDP queries (a new socket each), new TCP connections every 20 ms and an established TCP
#     connection;
#   - TCP accepts never stop: no EMFILE pause, no TCP connection shed, peak fds < 4096;
#   - every UDP flow the edge opened is either still open or counted by
#     rampart_udp_flows_shed_total; RSS stays bounded; the edge is alive.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
rpt_spoof_setup

SOURCES=40000
RATE=${ATTACK_RATE:-20000} # datagrams/s: the whole burst in 2 s
# EXTRA_EDGE: lines added under edge: to compare settings, e.g. "  max_udp_unconfirmed_flows: 230"
BEFORE_S=2.5               # legit traffic alone first (the baseline, and the flow that gets confirmed)
AFTER_S=4
RSS_LIMIT_KB=$((${RSS_BOUND_MIB:-64} * 1024))
UDP_PORT=5300
TCP_PORT=7100
EVENTS_DIR=$TDIR/var

# --- origins (origin namespace): a UDP echo that appends the source port it saw (so a client
# can tell whether its flow toward the origin was ever re-created), and a TCP echo. The UDP echo
# is a few lines of C with batched I/O: it answers the whole burst at once, as a real DNS or game
# server would, so what the legitimate clients see is the edge, not a slow origin.
cat >"$TDIR/udp_echo.c" <<'C'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
enum { N = 64, CAP = 2048 };
int main(int argc, char** argv) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 1 << 24;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0) return perror("bind"), 1;
  static char buf[N][CAP + 8];
  struct sockaddr_in from[N];
  struct iovec iov[N];
  struct mmsghdr m[N];
  for (;;) {
    for (int i = 0; i < N; i++) {
      iov[i] = (struct iovec){buf[i], CAP};
      m[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                     .msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, m, N, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    for (int i = 0; i < n; i++)  // the reply: the datagram and "|<source port>"
      iov[i].iov_len = m[i].msg_len + sprintf(buf[i] + m[i].msg_len, "|%u", ntohs(from[i].sin_port));
    sendmmsg(fd, m, n, 0);
  }
}
C
cc -O2 -Wall -o "$TDIR/udp_echo" "$TDIR/udp_echo.c"
rpt_spawn udp_echo "$NS_O" "$TDIR/udp_echo" "$ORIGIN_IP" "$UDP_PORT"
rpt_spawn tcp_echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:$TCP_PORT"
require "UDP echo origin bound on :$UDP_PORT" wait_port "$NS_O" udp "$UDP_PORT"
require "TCP echo origin listening on :$TCP_PORT" wait_port "$NS_O" tcp "$TCP_PORT"

# --- the edge, under a 1024 soft / 4096 hard descriptor limit (a service's LimitNOFILE).
{
  edge_config_head "$EVENTS_DIR" | sed "s|^  drain_timeout: 2s|&${EXTRA_EDGE:+\n$EXTRA_EDGE}|"
  cat <<YAML
apps:
  - id: game
    protocol: udp/$UDP_PORT
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["udp://$ORIGIN_IP:$UDP_PORT"]
    load_balancing: { health_check: { enabled: false } }
    timeouts: { udp_flow_idle: 30s }
  - id: shell
    protocol: tcp/$TCP_PORT
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:$TCP_PORT"]
YAML
} >"$TDIR/rampart.yaml"
cat >"$TDIR/rampart-limited" <<SH
#!/bin/sh
exec prlimit --nofile=1024:4096 "$RAMPART_BIN" "\$@"
SH
chmod +x "$TDIR/rampart-limited"
REAL_BIN=$RAMPART_BIN
RAMPART_BIN=$TDIR/rampart-limited start_edge "$NS_E" "$TDIR/rampart.yaml"
RAMPART_BIN=$REAL_BIN
require "edge listening on tcp :$TCP_PORT" wait_port "$NS_E" tcp "$TCP_PORT"
require "edge bound on udp :$UDP_PORT" wait_port "$NS_E" udp "$UDP_PORT"
limits=$(awk '/^Max open files/ {print $4 "/" $5}' "/proc/$EDGE_PID/limits")
assert_eq "the edge raised its soft descriptor limit to the hard one (soft/hard)" "4096/4096" "$limits"
budget_line=$(grep -m1 'descriptors: limit' "$EDGE_LOG" || true)
echo "edge: $budget_line"
check "the budgets are logged in one line at start" grep -q 'descriptors: limit 4096 (raised from 1024): tcp [0-9]* sessions' "$EDGE_LOG"

metrics() { ip netns exec "$NS_E" curl -s -m 5 -H "Authorization: Bearer test-token-$RPT_ID" http://127.0.0.1:8788/metrics; }
# metric NAME LABEL_FRAGMENT: the value of the first sample of NAME whose labels contain the
# fragment (0 when there is none).
metric() { awk -v n="$1" -v f="$2" 'index($0, n "{") == 1 && index($0, f) { print $NF; found = 1; exit } END { if (!found) print 0 }' "$TDIR/metrics.txt"; }
metrics >"$TDIR/metrics.txt"
UDP_BUDGET=$(metric rampart_budget 'kind="udp_flows"')
UNCONFIRMED_BUDGET=$(metric rampart_budget 'kind="udp_unconfirmed_flows"')
TCP_BUDGET=$(metric rampart_budget 'kind="tcp_sessions"')
echo "budgets from /metrics: tcp $TCP_BUDGET sessions, udp $UDP_BUDGET flows ($UNCONFIRMED_BUDGET unconfirmed)"
check "budgets on /metrics (udp flows > 0, tcp sessions > 0)" test "$UDP_BUDGET" -gt 0 -a "$TCP_BUDGET" -gt 0
BASE_FDS=$(proc_fds "$EDGE_PID")

# --- monitor (host side): fds, RSS and CPU ticks of the edge every 10 ms.
cat >"$TDIR/monitor.py" <<'PY'
import json, os, sys, time
pid, stop, out = sys.argv[1], sys.argv[2], sys.argv[3]
samples = []
end = time.monotonic() + 60
while not os.path.exists(stop) and time.monotonic() < end:
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        ticks = int(st[11]) + int(st[12])  # utime + stime
    except (OSError, StopIteration):
        break
    samples.append((time.time(), fds, rss, ticks))
    time.sleep(0.01)
json.dump(samples, open(out, "w"))
PY
python3 "$TDIR/monitor.py" "$EDGE_PID" "$TDIR/stop" "$TDIR/monitor.json" &
MONITOR_PID=$!
RPT_PIDS+=("$MONITOR_PID")

# --- legit clients (client namespace, real address): one record per request.
cat >"$TDIR/prober.py" <<'PY'
import json, os, socket, sys, threading, time
edge, udp_port, tcp_port, tdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
stop = os.path.join(tdir, "stop")
records, lock = [], threading.Lock()

def record(kind, t0, ok, origin_port=None):
    with lock:
        records.append((kind, t0, ok, (time.time() - t0) * 1000, origin_port))

def udp_exchange(s, kind, msg):
    t0 = time.time()
    try:
        s.send(msg)
        while True:
            d = s.recv(2048)
            body, _, port = d.rpartition(b"|")
            if body == msg:  # a late reply to an earlier request is skipped
                record(kind, t0, True, int(port))
                return
    except OSError:
        record(kind, t0, False)

def udp_client(kind, start_file=None):
    while start_file and not os.path.exists(start_file):
        if os.path.exists(stop):
            return
        time.sleep(0.005)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((edge, udp_port))
    seq = 0
    while not os.path.exists(stop):
        seq += 1
        udp_exchange(s, kind, b"%s %d" % (kind.encode(), seq))
        time.sleep(0.02)

def udp_oneshot():
    seq = 0
    while not os.path.exists(stop):
        seq += 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            s.connect((edge, udp_port))
            udp_exchange(s, "udp_oneshot", b"oneshot %d" % seq)
        time.sleep(0.05)

def tcp_new():
    seq = 0
    while not os.path.exists(stop):
        seq += 1
        t0 = time.time()
        try:
            with socket.create_connection((edge, tcp_port), timeout=2) as s:
                s.settimeout(2)
                msg = b"tcp %d\n" % seq
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    got += chunk
            record("tcp_new", t0, got == msg)
        except OSError:
            record("tcp_new", t0, False)
        time.sleep(0.02)

def tcp_established():
    s = socket.create_connection((edge, tcp_port), timeout=2)
    s.settimeout(2)
    seq = 0
    while not os.path.exists(stop):
        seq += 1
        t0 = time.time()
        msg = b"long %d\n" % seq
        try:
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(64)
                if not chunk:
                    break
                got += chunk
            record("tcp_established", t0, got == msg)
        except OSError:
            record("tcp_established", t0, False)
        time.sleep(0.1)

threads = [threading.Thread(target=f, args=a) for f, a in (
    (udp_client, ("udp_seen",)), (udp_client, ("udp_fresh", os.path.join(tdir, "attack.started"))),
    (udp_oneshot, ()), (tcp_new, ()), (tcp_established, ()))]
for t in threads:
    t.start()
open(os.path.join(tdir, "prober.ready"), "w").write("ready\n")
for t in threads:
    t.join()
json.dump(records, open(os.path.join(tdir, "probes.json"), "w"))
PY
rpt_spawn prober "$NS_C" python3 "$TDIR/prober.py" "$EDGE_IP" "$UDP_PORT" "$TCP_PORT" "$TDIR"
PROBER_PID=$RPT_LAST_PID
require "legit clients started" wait_file "$TDIR/prober.ready" 5
sleep "$BEFORE_S" # the baseline: legit traffic alone

# --- the attack: one datagram from each of 40,000 spoofed sources.
date +%s.%N >"$TDIR/attack.start"
touch "$TDIR/attack.started"
ip netns exec "$NS_C" timeout 30 "$SPOOF" udp --dst "$EDGE_IP" --dport "$UDP_PORT" \
  --src 10.78.0.0/16 --count "$SOURCES" --rate "$RATE" >"$TDIR/spoof.log" 2>&1 || true
date +%s.%N >"$TDIR/attack.end"
echo "spoof: $(tail -n 1 "$TDIR/spoof.log")"
sleep "$AFTER_S" # legit traffic after the attack
touch "$TDIR/stop"
wait "$PROBER_PID" || true
wait "$MONITOR_PID" || true
metrics >"$TDIR/metrics.txt"
echo "edge namespace: $(ip netns exec "$NS_E" nstat -az UdpRcvbufErrors UdpInErrors | awk 'NR>1 {printf "%s %s  ", $1, $2}')"
echo "origin namespace: $(ip netns exec "$NS_O" nstat -az UdpRcvbufErrors | awk 'NR>1 {printf "%s %s  ", $1, $2}')"
check "edge alive after the attack" edge_alive

# --- what the legit clients saw, by phase.
report=$(python3 - "$TDIR" <<'PY'
import json, os, sys
tdir = sys.argv[1]
t_start = float(open(os.path.join(tdir, "attack.start")).read())
t_end = float(open(os.path.join(tdir, "attack.end")).read())
probes = json.load(open(os.path.join(tdir, "probes.json")))
samples = json.load(open(os.path.join(tdir, "monitor.json")))
settle = 1.0  # the second after the last spoofed datagram still counts as "during"
def phase(t):
    return "before" if t < t_start else "during" if t < t_end + settle else "after"
out = {"phases": {}, "attack_s": round(t_end - t_start, 2)}
for kind in ("udp_seen", "udp_fresh", "udp_oneshot", "tcp_new", "tcp_established"):
    for ph in ("before", "during", "after"):
        rs = [r for r in probes if r[0] == kind and phase(r[1]) == ph]
        lat = sorted(r[3] for r in rs if r[2])
        p = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2) if lat else None
        out["phases"][f"{kind}/{ph}"] = {"n": len(rs), "ok": sum(1 for r in rs if r[2]),
                                         "p50_ms": p(0.5), "p99_ms": p(0.99)}
out["udp_seen_origin_ports"] = sorted({r[4] for r in probes if r[0] == "udp_seen" and r[2]})
during = [s for s in samples if t_start <= s[0] <= t_end + settle]
out["peak_fds"] = max((s[1] for s in samples), default=-1)
out["peak_fds_during"] = max((s[1] for s in during), default=-1)
out["peak_rss_kb"] = max((s[2] for s in samples), default=-1)
if len(during) >= 2:
    cpu_s = (during[-1][3] - during[0][3]) / os.sysconf("SC_CLK_TCK")
    out["cpu_pct_during"] = round(100 * cpu_s / max(during[-1][0] - during[0][0], 1e-3), 1)
print(json.dumps(out))
PY
) || report='{}'
echo "report: $report"
r() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v := v[k] for k in sys.argv[2].split(".")]; print(v)' "$report" "$1" 2>/dev/null || echo -1; }
for kind in udp_seen udp_fresh udp_oneshot tcp_new tcp_established; do
  for ph in before during after; do
    n=$(r "phases.$kind/$ph.n")
    ok=$(r "phases.$kind/$ph.ok")
    printf '  %-16s %-6s %5s/%-5s ok  p50 %s ms  p99 %s ms\n' "$kind" "$ph" "$ok" "$n" \
      "$(r "phases.$kind/$ph.p50_ms")" "$(r "phases.$kind/$ph.p99_ms")"
    [[ $ph == before && $kind == udp_fresh ]] && continue # starts with the attack
    check "$kind $ph the attack: >= 99% served ($ok of $n)" \
      test "$n" -gt 0 -a $((ok * 100)) -ge $((n * 99))
  done
done
assert_eq "the confirmed UDP flow was never re-created (one source port at the origin)" 1 \
  "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["udp_seen_origin_ports"]))' "$report")"

peak_fds=$(r peak_fds)
peak_rss=$(r peak_rss_kb)
echo "edge: baseline $BASE_FDS fds, peak $peak_fds fds (limit 4096; udp budget $UDP_BUDGET), peak RSS $peak_rss kB, CPU $(r cpu_pct_during)% during the attack ($(r attack_s) s)"
check "peak fds $peak_fds < the limit 4096" test "$peak_fds" -gt 0 -a "$peak_fds" -lt 4096
# The flows' share is bounded by the UDP budget; the legit TCP clients hold a few more.
check "peak fds $peak_fds <= baseline $BASE_FDS + unconfirmed share $UNCONFIRMED_BUDGET + 32" \
  test "$peak_fds" -le $((BASE_FDS + UNCONFIRMED_BUDGET + 32))
check "edge RSS bounded: peak $peak_rss kB < $RSS_LIMIT_KB kB" test "$peak_rss" -gt 0 -a "$peak_rss" -lt "$RSS_LIMIT_KB"

# --- the counters that explain it.
opened=$(metric rampart_connections_total 'app="game"')
active=$(metric rampart_connections_active 'app="game"')
shed_answered=$(metric rampart_udp_flows_shed_total 'reason="unconfirmed_answered"')
shed_awaiting=$(metric rampart_udp_flows_shed_total 'reason="unconfirmed_awaiting"')
shed_unconfirmed=$((shed_answered + shed_awaiting))
shed_app=$(metric rampart_udp_flows_shed_total 'reason="app_cap"')
shed_no_room=$(metric rampart_udp_flows_shed_total 'reason="no_room"')
flow_socket=$(metric rampart_udp_drops_total 'reason="flow_socket"')
emfile=$(metric rampart_accept_errors_total 'kind="emfile_pause"')
tcp_shed=$(metric rampart_tcp_connections_shed_total 'reason="session_budget"')
in_use=$(metric rampart_budget_in_use 'kind="udp_unconfirmed_flows"')
echo "metrics: udp flows opened $opened, active $active, shed unconfirmed $shed_unconfirmed ($shed_answered answered, $shed_awaiting awaiting), app_cap $shed_app, no_room $shed_no_room; flow_socket drops $flow_socket; emfile pauses $emfile; tcp shed $tcp_shed; unconfirmed in use $in_use"
check "most spoofed sources got a flow that was then shed ($shed_unconfirmed >= 90% of $SOURCES)" \
  test "$shed_unconfirmed" -ge $((SOURCES * 9 / 10))
assert_eq "every UDP flow opened is open or counted as shed (opened - active)" \
  $((opened - active)) $((shed_unconfirmed + shed_app + shed_no_room))
check "unconfirmed flows within their budget ($in_use <= $UNCONFIRMED_BUDGET)" test "$in_use" -le "$UNCONFIRMED_BUDGET"
assert_eq "no flow socket failed (the budget is enforced by count, EMFILE never met)" 0 "$flow_socket"
assert_eq "TCP accepts never paused for lack of descriptors" 0 "$emfile"
assert_eq "no TCP connection shed: UDP never takes the TCP budget" 0 "$tcp_shed"
rpt_finish
