#!/usr/bin/env bash
# integration: parallel
# Event log rotation and syslog output (issue #6). N short TCP connections through an echo app
# with `events.max_size: 64KiB`, so the NDJSON log rotates many times:
#   phase 1 (keep_files large, nothing deleted): every kept file is at most 64 KiB, ends with a
#     newline, every line is valid JSON, and the disconnect (and connect) events across all files
#     number exactly N; a UDP syslog receiver in the edge namespace got N disconnect messages as
#     RFC 5424 with PRI 134 (local0.info) and APP-NAME rampart, the same JSON as the file.
#   phase 2 (restart with keep_files: 3 on the same data_dir): exactly 3 rotated files are left
#     (the older ones deleted), all whole lines, the newest events kept.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

N=${EVENT_LOG_CONNS:-2000}
N2=400
SYSLOG_PORT=5514
DATA=$TDIR/var
LOG=$DATA/events.ndjson

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
require "echo origin listens" wait_port "$NS_O" tcp 7000

# Syslog receiver: one line per datagram. SO_RCVBUFFORCE (root) so that a burst of a flush
# (hundreds of datagrams within a millisecond) is never dropped by the receiving socket.
cat >"$TDIR/syslog_rx.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
s.bind(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        data = s.recv(65536)
        out.write(data.decode("utf-8", "replace").replace("\n", "\\n") + "\n")
PY
rpt_spawn syslog "$NS_E" python3 "$TDIR/syslog_rx.py" "$SYSLOG_PORT" "$TDIR/syslog.txt"
require "syslog receiver bound on 127.0.0.1:$SYSLOG_PORT" wait_port "$NS_E" udp "$SYSLOG_PORT"

write_config() {
  local keep=$1
  {
    edge_config_head "$DATA"
    cat <<YAML
events:
  max_size: 64KiB
  keep_files: $keep
  syslog: { address: "udp://127.0.0.1:$SYSLOG_PORT" }
apps:
  - id: echo
    protocol: tcp/7000
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    timeouts: { connect: 2s, idle: 1h }
YAML
  } >"$TDIR/rampart.yaml"
}

# run_conns COUNT: COUNT sequential echo connections from the client namespace.
run_conns() {
  local count=$1 out
  out=$(ip netns exec "$NS_C" timeout 120 "${NETUTIL[@]}" echo-check --connect "$EDGE_IP:7000" \
    --count "$count" --timeout 5 || true)
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ok"])' "$out" 2>/dev/null || echo 0
}

# Checks every events.ndjson* file; prints "FILES ROTATED MAXSIZE BAD_LINES UNTERMINATED CONNECTS
# DISCONNECTS" (BAD_LINES: lines that are not a JSON object with an Event field).
cat >"$TDIR/check_logs.py" <<'PY'
import glob, json, os, sys
base = sys.argv[1]
files = sorted(glob.glob(base + "*"))
rotated = [f for f in files if f != base]
max_size = bad = unterminated = connects = disconnects = 0
for f in files:
    data = open(f, "rb").read()
    max_size = max(max_size, len(data))
    if data and not data.endswith(b"\n"):
        unterminated += 1
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        try:
            ev = json.loads(line)
            event = ev["Event"]
        except Exception:
            bad += 1
            continue
        connects += event == "connect"
        disconnects += event == "disconnect"
print(len(files), len(rotated), max_size, bad, unterminated, connects, disconnects)
PY
check_logs() { python3 "$TDIR/check_logs.py" "$LOG"; }

# Syslog lines: "TOTAL GOOD DISCONNECTS" where GOOD are well-formed RFC 5424 messages from
# APP-NAME rampart with PRI 134 (local0.info, connect/disconnect) and a JSON object as MSG.
cat >"$TDIR/check_syslog.py" <<'PY'
import json, re, sys
rx = re.compile(r"<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ (\S+) \d+ - - (\{.*\})$")
total = good = disconnects = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    total += 1
    m = rx.match(line.rstrip("\n"))
    if not m:
        continue
    try:
        ev = json.loads(m.group(3))
    except ValueError:
        continue
    if m.group(1) == "134" and m.group(2) == "rampart" and ev.get("Event") in ("connect", "disconnect"):
        good += 1
        disconnects += ev["Event"] == "disconnect"
print(total, good, disconnects)
PY

# wait_syslog COUNT: until the receiver has written COUNT lines (10 s at most).
# shellcheck disable=SC2317  # invoked through check
wait_syslog() {
  local want=$1
  for _ in $(seq 200); do
    (($(wc -l <"$TDIR/syslog.txt") >= want)) && return 0
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------- phase 1: nothing deleted
write_config 1000
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :7000" wait_port "$NS_E" tcp 7000
rpt_log "phase 1: $N connections"
ok=$(run_conns "$N")
assert_eq "all $N echo connections through the edge succeeded" "$N" "$ok"
stop_edge 10
assert_eq "edge exits 0 on SIGTERM" 0 "$EDGE_RC"

read -r files rotated max_size bad unterminated connects disconnects <<<"$(check_logs)"
rpt_log "phase 1 logs: $files files ($rotated rotated), largest $max_size bytes"
if ((rotated >= 10)); then pass "the log rotated $rotated times"; else fail "the log rotated only $rotated times"; fi
if ((max_size <= 65536)); then pass "no file is over max_size (largest $max_size)"; else fail "a file has $max_size bytes > 65536"; fi
assert_eq "every line of every file is a JSON event" 0 "$bad"
assert_eq "every file ends with a whole line" 0 "$unterminated"
assert_eq "disconnect events across all files" "$N" "$disconnects"
assert_eq "connect events across all files" "$N" "$connects"
check "rotated files are numbered 1..$rotated without a gap" \
  test -f "$LOG.$rotated" -a ! -e "$LOG.$((rotated + 1))"

check "syslog receiver got every message" wait_syslog $((2 * N))
read -r sys_total sys_good sys_disc <<<"$(python3 "$TDIR/check_syslog.py" "$TDIR/syslog.txt")"
assert_eq "syslog messages received" $((2 * N)) "$sys_total"
assert_eq "syslog messages in RFC 5424 with <134>, APP-NAME rampart, JSON MSG" $((2 * N)) "$sys_good"
assert_eq "syslog disconnect messages" "$N" "$sys_disc"
if grep -q 'syslog: cannot send' "$EDGE_LOG"; then fail "the edge logged syslog drops"; else pass "no syslog drops logged"; fi

# ---------------------------------------------------------------- phase 2: keep_files: 3
newest_before=$(tail -n 1 "$LOG")
write_config 3
: >"$TDIR/syslog.txt"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :7000 again" wait_port "$NS_E" tcp 7000
rpt_log "phase 2: $N2 connections with keep_files: 3"
ok=$(run_conns "$N2")
assert_eq "all $N2 echo connections succeeded" "$N2" "$ok"
stop_edge 10
assert_eq "edge exits 0 on SIGTERM (phase 2)" 0 "$EDGE_RC"
read -r files rotated max_size bad unterminated connects disconnects <<<"$(check_logs)"
assert_eq "keep_files: 3 leaves exactly 3 rotated files" 3 "$rotated"
check "they are events.ndjson.1 .. .3" test -f "$LOG.1" -a -f "$LOG.2" -a -f "$LOG.3" -a ! -e "$LOG.4"
assert_eq "every kept line is a JSON event (phase 2)" 0 "$bad"
assert_eq "every kept file ends with a whole line (phase 2)" 0 "$unterminated"
if ((max_size <= 65536)); then pass "no file over max_size (phase 2)"; else fail "a file has $max_size bytes"; fi
# The phase-1 events are gone (older than the 3 newest files); the newest phase-2 ones are kept.
if grep -qxF "$newest_before" "$LOG" "$LOG".[123]; then
  fail "old phase-1 events survived keep_files: 3"
else
  pass "the oldest files were deleted"
fi
if ((disconnects > 0 && disconnects <= N2)); then
  pass "$disconnects of the $N2 newest disconnects kept"
else
  fail "kept disconnects $disconnects not in 1..$N2"
fi
rpt_finish
