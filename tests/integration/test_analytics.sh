#!/usr/bin/env bash
# integration: parallel
# Analytics and /metrics counter accuracy (issue #6): a scripted mix of traffic with known numbers
# (N TCP connections with known byte counts through an echo app, M UDP flows with known datagram
# and byte counts that end by idle expiry, K clients refused by an IP access rule) must show up
# exactly in /metrics, aggregate/current, events/summary (dimensions, filters, sort, limit) and
# events/bytime (series summing to the totals, the intervals of since/until); bad query
# parameters get a 400 envelope naming the parameter.
# test_analytics_kernel_relay.sh runs it again with kernel_relay: on for the TCP apps.
# shellcheck disable=SC2317  # helpers called through poll_until
# shellcheck disable=SC2016  # jq programs in single quotes
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

N_TCP=50 # connection i sends 1000+i bytes and reads them back
M_UDP=20 # flow j sends 1+j%5 datagrams of 100+j bytes, each answered
K_BLOCKED=7
BLOCKED_IP=10.77.1.3
TOKEN=test-token-$RPT_ID
API=http://127.0.0.1:8788
ZONE=$API/client/v4/zones/default/spectrum/analytics

TCP_BYTES=$(python3 -c "print(sum(1000 + i for i in range($N_TCP)))")
UDP_DGRAMS=$(python3 -c "print(sum(1 + j % 5 for j in range($M_UDP)))")
UDP_BYTES=$(python3 -c "print(sum((1 + j % 5) * (100 + j) for j in range($M_UDP)))")
echo "expect: tcp $N_TCP conns $TCP_BYTES bytes each way; udp $M_UDP flows $UDP_DGRAMS datagrams" \
  "$UDP_BYTES bytes each way; $K_BLOCKED refused"

ip -n "$NS_C" addr add "$BLOCKED_IP/24" dev "${RPT_IF}c0"

# ---------------------------------------------------------------- origins and edge
rpt_spawn tcp-origin "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
cat >"$TDIR/udp_echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
PY
rpt_spawn udp-origin "$NS_O" python3 "$TDIR/udp_echo.py" "$ORIGIN_IP" 5300
require "tcp echo origin listens" wait_port "$NS_O" tcp 7000
require "udp echo origin bound" wait_port "$NS_O" udp 5300

{
  edge_config_head "$TDIR/var"
  cat <<YAML
ip_access_rules:
  - { mode: block, configuration: { target: ip, value: $BLOCKED_IP } }
apps:
  - id: tcp-echo
    protocol: tcp/7000
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
$(kernel_relay_yaml 4)
  - id: udp-echo
    protocol: udp/5300
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["udp://$ORIGIN_IP:5300"]
    timeouts: { udp_flow_idle: 2s }
  - id: tcp-guard
    protocol: tcp/7001
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    ip_firewall: true
YAML
} >"$TDIR/rampart.yaml"
check "rampart check accepts the config" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on tcp :7000" wait_port "$NS_E" tcp 7000
require "edge listens on tcp :7001" wait_port "$NS_E" tcp 7001
require "edge bound on udp :5300" wait_port "$NS_E" udp 5300

# acurl PATH [CURL ARGS...]: GET PATH on the API (in the edge namespace) with the token; the body
# goes to $TDIR/body.json, the HTTP status to stdout.
acurl() {
  local path=$1
  shift
  ip netns exec "$NS_E" curl -sS -o "$TDIR/body.json" -w '%{http_code}' \
    -H "Authorization: Bearer $TOKEN" "$@" "$API$path" || echo "curl-failed"
}
# jq_body FILTER: jq on the last response body (compact output, raw strings).
jq_body() { jq -cr "$1" "$TDIR/body.json" 2>/dev/null || echo "jq-failed"; }
# query KIND ARG...: GET events/KIND with each ARG (name=value) URL-encoded as a query parameter.
query() {
  local kind=$1 args=()
  shift
  for a in "$@"; do args+=(--data-urlencode "$a"); done
  acurl "/client/v4/zones/default/spectrum/analytics/events/$kind" --get "${args[@]}"
}
# poll_until TIMEOUT_S CMD...: run CMD every 0.2 s until it succeeds.
poll_until() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  while ((SECONDS <= deadline)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# aggregate/current counts bytes since the oldest of its samples of the last minute: wait until
# the sampler has seen the apps (two samples: one series point) before any traffic.
sampled() {
  [[ $(acurl "/client/v4/zones/default/spectrum/analytics/live") == 200 ]] &&
    [[ $(jq_body '[.result.apps[] | select(.appID == "tcp-echo" or .appID == "udp-echo") | (.series | length > 0)] | all and length == 2') == true ]]
}
require "the analytics sampler runs (live series for the apps)" poll_until 10 sampled
T_START=$(date +%s)

# ---------------------------------------------------------------- traffic
cat >"$TDIR/tcp_mix.py" <<'PY'
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ok = 0
for i in range(n):
    size = 1000 + i
    data = bytes((i + k) % 251 for k in range(size))
    with socket.create_connection((host, port), timeout=5) as s:
        s.settimeout(5)
        s.sendall(data)
        got = b""
        while len(got) < size:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        s.shutdown(socket.SHUT_WR)  # then the origin's FIN comes back: a normal close (200)
        while s.recv(65536):
            pass
    ok += got == data
print(ok)
PY
cat >"$TDIR/udp_mix.py" <<'PY'
import socket, sys
host, port, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
ok = 0
for j in range(m):  # every socket stays open (a distinct source port) until all flows ran
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, port))
    socks.append(s)
    for d in range(1 + j % 5):
        payload = bytes([j, d]) + bytes((j * 7 + k) % 256 for k in range(100 + j - 2))
        s.send(payload)
        ok += s.recv(65535) == payload
print(ok, len({s.getsockname()[1] for s in socks}))
PY
tcp_ok=$(ip netns exec "$NS_C" timeout 60 python3 "$TDIR/tcp_mix.py" "$EDGE_IP" 7000 "$N_TCP" || echo error)
assert_eq "$N_TCP TCP connections echoed exactly" "$N_TCP" "$tcp_ok"
udp_ok=$(ip netns exec "$NS_C" timeout 60 python3 "$TDIR/udp_mix.py" "$EDGE_IP" 5300 "$M_UDP" || echo error)
assert_eq "$UDP_DGRAMS UDP datagrams echoed from $M_UDP source ports" "$UDP_DGRAMS $M_UDP" "$udp_ok"
blocked_ok=0
for _ in $(seq "$K_BLOCKED"); do
  if ip netns exec "$NS_C" timeout 10 python3 "$RPT_HELPERS/guardutil.py" refused \
    --connect "$EDGE_IP:7001" --hex 68656c6c6f0a --bind "$BLOCKED_IP"; then
    blocked_ok=$((blocked_ok + 1))
  fi
done
assert_eq "$K_BLOCKED connections from $BLOCKED_IP refused" "$K_BLOCKED" "$blocked_ok"

# ---------------------------------------------------------------- /metrics
# metric NAME LABEL=VALUE...: the value of the one sample with exactly these labels ("missing" if
# none) in $TDIR/metrics.txt.
metric() {
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
    if labels.pop("colo", None) != "TEST":  # every sample names the edge's colo
        continue
    if labels == want:
        found.append(m.group(3))
print(found[0] if len(found) == 1 else ("missing" if not found else "duplicate"))
PY
}
fetch_metrics() {
  [[ $(acurl /metrics) == 200 ]] && cp "$TDIR/body.json" "$TDIR/metrics.txt"
}
# The UDP flows end 2 s after their last datagram (udp_flow_idle); their disconnects carry the bytes.
udp_flows_ended() {
  fetch_metrics &&
    [[ $(metric rampart_events_total app=udp-echo event=disconnect status=200) == "$M_UDP" ]] &&
    [[ $(metric rampart_connections_active app=udp-echo proto=udp) == 0 ]]
}
require "the $M_UDP UDP flows expire (disconnect events in /metrics)" poll_until 15 udp_flows_ended

assert_eq "metrics: tcp-echo connections_total" "$N_TCP" "$(metric rampart_connections_total app=tcp-echo proto=tcp)"
assert_eq "metrics: tcp-echo connections_active" 0 "$(metric rampart_connections_active app=tcp-echo proto=tcp)"
assert_eq "metrics: tcp-echo bytes_ingress_total" "$TCP_BYTES" "$(metric rampart_bytes_ingress_total app=tcp-echo)"
assert_eq "metrics: tcp-echo bytes_egress_total" "$TCP_BYTES" "$(metric rampart_bytes_egress_total app=tcp-echo)"
assert_eq "metrics: tcp-echo events connect/0" "$N_TCP" "$(metric rampart_events_total app=tcp-echo event=connect status=0)"
assert_eq "metrics: tcp-echo events disconnect/200" "$N_TCP" "$(metric rampart_events_total app=tcp-echo event=disconnect status=200)"
assert_eq "metrics: tcp-echo duration summary count" "$N_TCP" "$(metric rampart_connection_duration_seconds_count app=tcp-echo)"
assert_eq "metrics: udp-echo connections_total" "$M_UDP" "$(metric rampart_connections_total app=udp-echo proto=udp)"
assert_eq "metrics: udp-echo bytes_ingress_total" "$UDP_BYTES" "$(metric rampart_bytes_ingress_total app=udp-echo)"
assert_eq "metrics: udp-echo bytes_egress_total" "$UDP_BYTES" "$(metric rampart_bytes_egress_total app=udp-echo)"
assert_eq "metrics: udp-echo datagrams_ingress_total" "$UDP_DGRAMS" "$(metric rampart_datagrams_ingress_total app=udp-echo)"
assert_eq "metrics: udp-echo datagrams_egress_total" "$UDP_DGRAMS" "$(metric rampart_datagrams_egress_total app=udp-echo)"
assert_eq "metrics: udp-echo events connect/0" "$M_UDP" "$(metric rampart_events_total app=udp-echo event=connect status=0)"
assert_eq "metrics: tcp-guard events clientFiltered/403" "$K_BLOCKED" "$(metric rampart_events_total app=tcp-guard event=clientFiltered status=403)"
assert_eq "metrics: tcp-guard guard_drops_total block_ip" "$K_BLOCKED" "$(metric rampart_guard_drops_total app=tcp-guard reason=block_ip)"
assert_eq "metrics: tcp-guard connections_total (none admitted)" 0 "$(metric rampart_connections_total app=tcp-guard proto=tcp)"
assert_eq "metrics: tcp-echo guard_drops_total block_ip" 0 "$(metric rampart_guard_drops_total app=tcp-echo reason=block_ip)"
assert_eq "metrics: no datagram series for TCP apps" missing "$(metric rampart_datagrams_ingress_total app=tcp-echo)"
kernel_relay_check "$N_TCP"
assert_eq "metrics: every event of every app is accounted for (sum of rampart_events_total)" \
  "$((2 * N_TCP + 2 * M_UDP + K_BLOCKED))" \
  "$(awk '/^rampart_events_total\{/ {s += $NF} END {print s + 0}' "$TDIR/metrics.txt")"
assert_eq "metrics: origins up" "1 1 1" "$(for a in tcp-echo udp-echo tcp-guard; do
  awk -v a="$a" '$0 ~ "^rampart_origin_up\\{colo=\"TEST\",app=\"" a "\"" {print $NF}' "$TDIR/metrics.txt"; done | xargs)"
# Exposition format 0.0.4: one HELP and one TYPE per family, and all lines of a family together.
cat >"$TDIR/promfmt.py" <<'PY'
import re, sys
types, seen_done, current, problems = {}, set(), None, []
def family(name):
    for suffix in ("_sum", "_count", "_bucket"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("summary", "histogram"):
            return base
    return name
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip("\n")
    if line.startswith("# TYPE ") or line.startswith("# HELP "):
        kind, name = line.split()[1], line.split()[2]
        if kind == "TYPE":
            if name in types:
                problems.append("line %d: second TYPE for %s" % (n, name))
            types[name] = line.split()[3]
        fam = name
    elif line and not line.startswith("#"):
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? \S+$", line)
        if not m:
            problems.append("line %d: not a sample: %s" % (n, line))
            continue
        fam = family(m.group(1))
        if fam not in types:
            problems.append("line %d: %s has no TYPE" % (n, m.group(1)))
    else:
        continue
    if fam != current:
        if fam in seen_done:
            problems.append("line %d: %s is split in two groups" % (n, fam))
        if current is not None:
            seen_done.add(current)
        current = fam
print("\n".join(problems[:5]) if problems else "ok")
PY
assert_eq "metrics: valid exposition format (families grouped, one TYPE each)" ok \
  "$(python3 "$TDIR/promfmt.py" "$TDIR/metrics.txt")"

# ---------------------------------------------------------------- aggregate/current
agg_bytes_settled() {
  [[ $(acurl /client/v4/zones/default/spectrum/analytics/aggregate/current) == 200 ]] &&
    [[ $(jq_body '[.result[] | select(.appID == "udp-echo") | .bytesIngress][0]') == "$UDP_BYTES" ]]
}
check "aggregate/current catches up with the counters" poll_until 10 agg_bytes_settled
assert_eq "aggregate/current: success, one row per app" "true 3" "$(jq_body '"\(.success) \(.result | length)"')"
assert_eq "aggregate/current: tcp-echo bytes in/out over the last minute, 0 open" "$TCP_BYTES $TCP_BYTES 0" \
  "$(jq_body '.result[] | select(.appID == "tcp-echo") | "\(.bytesIngress) \(.bytesEgress) \(.connections)"')"
assert_eq "aggregate/current: udp-echo bytes in/out over the last minute, 0 open" "$UDP_BYTES $UDP_BYTES 0" \
  "$(jq_body '.result[] | select(.appID == "udp-echo") | "\(.bytesIngress) \(.bytesEgress) \(.connections)"')"
assert_eq "aggregate/current: tcp-guard moved no bytes" "0 0 0" \
  "$(jq_body '.result[] | select(.appID == "tcp-guard") | "\(.bytesIngress) \(.bytesEgress) \(.connections)"')"
assert_eq "aggregate/current: durationAvg is a number" "true true" \
  "$(jq_body '[.result[] | select(.appID != "tcp-guard") | .durationAvg | type == "number" and . >= 0] | map(tostring) | join(" ")')"
check "aggregate/current checked within a minute of the first connection" \
  test $(($(date +%s) - T_START)) -lt 55
assert_eq "aggregate/current?appID=udp-echo: that app only" "200 udp-echo" \
  "$(acurl "/client/v4/zones/default/spectrum/analytics/aggregate/current?appID=udp-echo") $(jq_body '[.result[].appID] | join(",")')"
assert_eq "aggregate/current?bogus=1: 400 envelope naming the parameter" "400 false true" \
  "$(acurl "/client/v4/zones/default/spectrum/analytics/aggregate/current?bogus=1") $(jq_body '"\(.success) \(.errors[0].message | contains("bogus"))"')"

# ---------------------------------------------------------------- events/summary
TOTAL_EVENTS=$((2 * N_TCP + 2 * M_UDP + K_BLOCKED))
summary_complete() {
  [[ $(query summary) == 200 ]] && [[ $(jq_body '.result.totals.count') == "$TOTAL_EVENTS" ]]
}
require "events/summary has every event within 10 s" poll_until 10 summary_complete
assert_eq "summary (no dimensions): totals count/bytesIngress/bytesEgress" \
  "$TOTAL_EVENTS $((TCP_BYTES + UDP_BYTES)) $((TCP_BYTES + UDP_BYTES))" \
  "$(jq_body '.result.totals | "\(.count) \(.bytesIngress) \(.bytesEgress)"')"
assert_eq "summary (no dimensions): one row" "1 1" "$(jq_body '"\(.result.rows) \(.result.data | length)"')"

rows_of() { jq_body '[.result.data[] | "\(.dimensions | join("/")):\(.metrics | map(tostring) | join(","))"] | sort | join(" ")'; }
query summary dimensions=appID,event >/dev/null
assert_eq "summary by appID,event: counts and bytes per app exactly" \
  "$(echo "tcp-echo/connect:$N_TCP,0,0 tcp-echo/disconnect:$N_TCP,$TCP_BYTES,$TCP_BYTES" \
    "tcp-guard/clientFiltered:$K_BLOCKED,0,0 udp-echo/connect:$M_UDP,0,0" \
    "udp-echo/disconnect:$M_UDP,$UDP_BYTES,$UDP_BYTES" | tr ' ' '\n' | sort | xargs)" "$(rows_of)"
assert_eq "summary by appID,event: rows, query echo" "5 appID,event count,bytesIngress,bytesEgress" \
  "$(jq_body '"\(.result.rows) \(.result.query.dimensions | join(",")) \(.result.query.metrics | join(","))"')"
assert_eq "summary by appID,event: max/min count" "$N_TCP $K_BLOCKED" "$(jq_body '"\(.result.max.count) \(.result.min.count)"')"

query summary dimensions=appID "filters=event==disconnect;appID==tcp-echo" >/dev/null
assert_eq "filter event==disconnect;appID==tcp-echo (AND)" "tcp-echo:$N_TCP,$TCP_BYTES,$TCP_BYTES" "$(rows_of)"
assert_eq "... echoed in query.filters" "event==disconnect;appID==tcp-echo" "$(jq_body '.result.query.filters')"
query summary dimensions=appID "filters=appID==udp-echo,event==clientFiltered" >/dev/null
assert_eq "filter appID==udp-echo,event==clientFiltered (OR)" \
  "tcp-guard:$K_BLOCKED,0,0 udp-echo:$((2 * M_UDP)),$UDP_BYTES,$UDP_BYTES" "$(rows_of)"
query summary dimensions=event "filters=event!=connect" metrics=count >/dev/null
assert_eq "filter event!=connect" "clientFiltered:$K_BLOCKED disconnect:$((N_TCP + M_UDP))" "$(rows_of)"
query summary dimensions=ipVersion "filters=ipVersion==4" metrics=count >/dev/null
assert_eq "filter ipVersion==4, dimension ipVersion" "4:$TOTAL_EVENTS" "$(rows_of)"
query summary "filters=ipVersion==6" >/dev/null
assert_eq "filter ipVersion==6: nothing" "0 0" "$(jq_body '"\(.result.rows) \(.result.totals.count)"')"
query summary dimensions=coloName metrics=count >/dev/null
assert_eq "dimension coloName (edge.colo)" "TEST:$TOTAL_EVENTS" "$(rows_of)"
query summary dimensions=appID "filters=appID==udp-echo;event==disconnect" metrics=count,durationAvg,durationMedian >/dev/null
assert_eq "udp flows last about udp_flow_idle (2 s): durationAvg and median in [1.5 s, 6 s]" "true true" \
  "$(jq_body '.result.data[0].metrics[1:] | map(. >= 1500 and . <= 6000) | map(tostring) | join(" ")')"

query summary dimensions=appID sort=-count limit=1 >/dev/null
assert_eq "sort=-count limit=1: one row, the busiest app" "1 tcp-echo:$((2 * N_TCP)),$TCP_BYTES,$TCP_BYTES" \
  "$(jq_body '.result.rows') $(rows_of)"
assert_eq "... totals still of every app" "$TOTAL_EVENTS" "$(jq_body '.result.totals.count')"
query summary dimensions=appID sort=+count >/dev/null
assert_eq "sort=+count: ascending" "tcp-guard udp-echo tcp-echo" "$(jq_body '[.result.data[].dimensions[0]] | join(" ")')"
query summary dimensions=appID,event sort=-bytesIngress,+appID metrics=count,bytesIngress >/dev/null
assert_eq "sort=-bytesIngress,+appID" \
  "tcp-echo/disconnect udp-echo/disconnect tcp-echo/connect tcp-guard/clientFiltered udp-echo/connect" \
  "$(jq_body '[.result.data[].dimensions | join("/")] | join(" ")')"

# ---------------------------------------------------------------- events/bytime
# A fixed window of 15 whole minutes around the test: exactly 15 intervals.
W_SINCE=$(((T_START / 60 - 5) * 60))
W_UNTIL=$((W_SINCE + 15 * 60))
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
assert_eq "bytime time_delta=minute: 200" 200 \
  "$(query bytime dimensions=appID,event time_delta=minute "since=$(rfc "$W_SINCE")" "until=$(rfc "$W_UNTIL")")"
assert_eq "bytime: 15 one-minute intervals for a 15-minute window" "15 true" \
  "$(jq -cr --arg s "$(rfc "$W_SINCE")" --arg u "$(rfc "$W_UNTIL")" \
    '.result.time_intervals | "\(length) \(.[0][0] == $s and .[-1][1] == $u and ([.[] | (.[1] | fromdate) - (.[0] | fromdate)] | all(. == 60)))"' "$TDIR/body.json")"
assert_eq "bytime: every series has one point per interval" "true" \
  "$(jq_body '[.result.data[].metrics[] | length == 15] | all')"
assert_eq "bytime: the series add up to the summary per app and event" \
  "$(echo "tcp-echo/connect:$N_TCP,0,0 tcp-echo/disconnect:$N_TCP,$TCP_BYTES,$TCP_BYTES" \
    "tcp-guard/clientFiltered:$K_BLOCKED,0,0 udp-echo/connect:$M_UDP,0,0" \
    "udp-echo/disconnect:$M_UDP,$UDP_BYTES,$UDP_BYTES" | tr ' ' '\n' | sort | xargs)" \
  "$(jq_body '[.result.data[] | "\(.dimensions | join("/")):\(.metrics | map(add | tostring) | join(","))"] | sort | join(" ")')"
assert_eq "bytime: totals" "$TOTAL_EVENTS $((TCP_BYTES + UDP_BYTES))" \
  "$(jq_body '.result.totals | "\(.count) \(.bytesIngress)"')"
assert_eq "bytime: query echo time_delta, since, until" "minute $(rfc "$W_SINCE") $(rfc "$W_UNTIL")" \
  "$(jq_body '.result.query | "\(.time_delta) \(.since) \(.until)"')"
assert_eq "bytime: max count is the largest point" "true" \
  "$(jq_body '.result.max.count == ([.result.data[].metrics[0][]] | max)')"

# Relative since: the intervals are those of the echoed since/until (10 or 11 minutes).
assert_eq "bytime since=-10 (relative minutes): 200" 200 "$(query bytime since=-10 time_delta=minute metrics=count)"
assert_eq "bytime since=-10: interval count matches since/until" "true" \
  "$(jq_body '(.result.query.since | fromdate) as $s | (.result.query.until | fromdate) as $u
    | ($u - $s == 600) and (.result.time_intervals | length) == ((($u + 59) / 60 | floor) - ($s / 60 | floor))')"
assert_eq "bytime since=-10: the series sums to every event" "$TOTAL_EVENTS" "$(jq_body '[.result.data[].metrics[0][]] | add')"
assert_eq "bytime time_delta=hour: one or two intervals, same totals" "true $TOTAL_EVENTS" \
  "$(query bytime since=-10 time_delta=hour metrics=count >/dev/null; jq_body '"\((.result.time_intervals | length) <= 2) \(.result.totals.count)"')"

# ---------------------------------------------------------------- status and drops (Rampart's)
# The status of each event (dimensions=status): the echoed connections closed normally (200), the
# K refused ones carry 403; connects have no status (0).
query summary dimensions=appID,event,status filters=appID!=udp-echo metrics=count >/dev/null
assert_eq "summary by appID,event,status: 200 disconnects, $K_BLOCKED refused with 403" \
  "tcp-echo/connect/0:$N_TCP tcp-echo/disconnect/200:$N_TCP tcp-guard/clientFiltered/403:$K_BLOCKED" \
  "$(rows_of)"
query bytime dimensions=status "filters=status>=300" metrics=count since=-15 >/dev/null
assert_eq "bytime by status>=300: only the 403s" "403:$K_BLOCKED" \
  "$(jq_body '[.result.data[] | "\(.dimensions[0]):\(.metrics[0] | add)"] | join(" ")')"
# The guard's drops per minute and reason: the K block_ip drops of tcp-guard, recorded at the
# next minute boundary (up to 60 s away).
drops() {
  acurl /client/v4/zones/default/rampart/analytics/drops/bytime --get --data-urlencode since=-15 \
    --data-urlencode app=tcp-guard >/dev/null
  [[ $(jq_body '[.result.data[] | "\(.reason):\(.total)"] | join(" ")') == "block_ip:$K_BLOCKED" ]]
}
require "drops/bytime: tcp-guard's $K_BLOCKED block_ip drops within 65 s" poll_until 65 drops
assert_eq "drops/bytime: one series point per interval (15 or 16 minutes), summing to the total" \
  "true $K_BLOCKED" \
  "$(jq_body '"\((.result.time_intervals | length) as $n | $n >= 15 and $n <= 16 and (.result.data[0].series | length) == $n) \(.result.data[0].series | add)"')"
assert_eq "drops/bytime app=tcp-echo: none" "200 0" \
  "$(acurl /client/v4/zones/default/rampart/analytics/drops/bytime --get --data-urlencode since=-15 \
    --data-urlencode app=tcp-echo) $(jq_body .result.total)"
assert_eq "drops/bytime bad parameter: 400" 400 \
  "$(acurl /client/v4/zones/default/rampart/analytics/drops/bytime --get --data-urlencode metrics=count)"

# ---------------------------------------------------------------- 400 envelopes
# bad NAME EXPECTED_SUBSTRING KIND ARG...: 400, success false, errors[0] names the parameter.
bad() {
  local what=$1 needle=$2 kind=$3
  shift 3
  local code
  code=$(query "$kind" "$@")
  assert_eq "400 envelope: $what" "400 false true true" \
    "$code $(jq -cr --arg n "$needle" '"\(.success) \(.errors[0].message | contains($n)) \(.errors[0].code | type == "number")"' "$TDIR/body.json" 2>/dev/null || echo jq-failed)"
}
bad "unknown metric" "metrics: unknown metric \"bogus\"" summary metrics=count,bogus
bad "unknown dimension" "dimensions: unknown dimension \"country\"" summary dimensions=country
bad "malformed filter" "filters: \"event=connect\"" summary filters=event=connect
bad "filter on an unknown dimension" "filters: unknown dimension \"port\"" summary filters=port==22
bad "status filter not a number" "filters: status is a number" summary filters=status==ok
bad "since after until" "must be before until" summary since=-5 until=-10
bad "bad since" "since: \"yesterday\"" summary since=yesterday
bad "limit 0" "limit: \"0\"" summary limit=0
bad "limit not a number" "limit: \"ten\"" summary limit=ten
bad "unknown parameter" "unknown query parameter \"colo\"" summary colo=TEST
bad "sort by an unselected metric" "sort: \"durationAvg\"" summary sort=-durationAvg
bad "unknown time_delta" "time_delta: \"fortnight\"" bytime time_delta=fortnight
bad "too many intervals" "time_delta: more than 2000 intervals" bytime since=-5000 time_delta=minute
assert_eq "no token: 401" 401 "$(ip netns exec "$NS_E" curl -sS -o /dev/null -w '%{http_code}' "$ZONE/events/summary")"

# ---------------------------------------------------------------- cross-check with the event log
EV=$TDIR/var/events.ndjson
assert_eq "event log agrees: disconnect ClientBytes of tcp-echo, OriginBytes of udp-echo" \
  "$TCP_BYTES $UDP_BYTES" \
  "$(jq -s 'map(select(.Event == "disconnect")) | "\(map(select(.Application == "tcp-echo") | .ClientBytes) | add) \(map(select(.Application == "udp-echo") | .OriginBytes) | add)"' -r "$EV")"
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
