#!/usr/bin/env bash
# integration: parallel
# redis-benchmark (50 clients, 100k requests per test) through the edge with zero errors, and a
# redis-cli SET/GET round trip.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

rpt_spawn redis "$NS_O" redis-server --bind "$ORIGIN_IP" --port 6379 --save '' --appendonly no \
  --protected-mode no --daemonize no --dir "$TDIR" --logfile '' --maxclients 1000
require "redis listens in the origin namespace" wait_port "$NS_O" tcp 6379

{
  edge_config_head "$TDIR/var"
  cat <<YAML
apps:
  - id: redis
    protocol: tcp/6379
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:6379"]
    proxy_protocol: "off"
    timeouts: { connect: 2s, idle: 1h }
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :6379" wait_port "$NS_E" tcp 6379

CLI=(ip netns exec "$NS_C" timeout 10 redis-cli -h "$EDGE_IP" -p 6379)
assert_eq "redis-cli PING through the edge" PONG "$("${CLI[@]}" PING 2>&1 || true)"
assert_eq "redis-cli SET through the edge" OK "$("${CLI[@]}" SET rampart:key "hello edge $RPT_ID" 2>&1 || true)"
assert_eq "redis-cli GET through the edge" "hello edge $RPT_ID" "$("${CLI[@]}" GET rampart:key 2>&1 || true)"
# A value larger than one TCP segment / buffer.
big=$(head -c 300000 /dev/urandom | od -An -tx1 | tr -d ' \n')
"${CLI[@]}" -x SET rampart:big <<<"$big" >/dev/null 2>&1 || true
got=$("${CLI[@]}" GET rampart:big 2>/dev/null || true)
assert_eq "600 KB value SET/GET intact" "$(sha256sum <<<"$big" | cut -d' ' -f1)" \
  "$(sha256sum <<<"$got" | cut -d' ' -f1)"

# redis-benchmark exits 0 even when some requests fail, so look at what it printed as well.
set +e
ip netns exec "$NS_C" timeout 90 redis-benchmark -h "$EDGE_IP" -p 6379 -n 100000 -c 50 -q \
  -t ping_inline,ping_mbulk,set,get,incr,lpush,lpop >"$TDIR/bench.out" 2>"$TDIR/bench.err"
rc=$?
set -e
tr '\r' '\n' <"$TDIR/bench.out" | grep 'requests per second' | sed 's/^/  /' || true
assert_eq "redis-benchmark exit status" 0 "$rc"
n_ok=$(tr '\r' '\n' <"$TDIR/bench.out" | grep -c 'requests per second' || true)
assert_eq "redis-benchmark completed all 7 tests" 7 "$n_ok"
if grep -qiE 'error|reset|refused|timeout' "$TDIR/bench.out" "$TDIR/bench.err"; then
  fail "redis-benchmark reported errors:"
  grep -iE 'error|reset|refused|timeout' "$TDIR/bench.out" "$TDIR/bench.err" | head -5
else
  pass "redis-benchmark reported no errors"
fi
# The server counted the clients' commands: 7 x 100k plus the redis-cli ones.
processed=$(ip netns exec "$NS_O" redis-cli -h "$ORIGIN_IP" -p 6379 INFO stats | tr -d '\r' |
  sed -n 's/^total_commands_processed://p')
if [[ -n $processed ]] && ((processed >= 700000)); then
  pass "origin processed all benchmark commands ($processed)"
else
  fail "origin processed only '${processed:-?}' commands (expected >= 700000)"
fi
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0 on SIGTERM (drain_timeout 2s)" 0 "$EDGE_RC"
rpt_finish
