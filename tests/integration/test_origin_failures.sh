#!/usr/bin/env bash
# Origin failures are fast and visible: refused -> 521, unreachable -> 523, connect timeout -> 522,
# each closing the client promptly; with two origins and one down, every connection succeeds.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

DOWN_IP=10.77.2.3        # in the origin namespace, nothing listens there: RST
UNREACH_IP=10.77.9.1     # routed into a blackhole in the edge namespace: EHOSTUNREACH
ip -n "$NS_O" addr add "$DOWN_IP/24" dev "${RPT_IF}o0"
ip -n "$NS_E" route add unreachable 10.77.9.0/24
# The origin silently drops SYNs to :8003, so a connect there times out.
cat >"$TDIR/drop.nft" <<'NFT'
table inet rpt_drop {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 8003 drop
  }
}
NFT
ip netns exec "$NS_O" nft -f "$TDIR/drop.nft"

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:8004"
require "echo origin listens on :8004" wait_port "$NS_O" tcp 8004

# Health checks stay on only where the test needs them (pair): a single origin that fails its
# checks is marked down, and a slow run would then see 523 (no origin up) instead of the connect
# error under test.
app() { # id port origins(JSON list body) connect_timeout [health_check enabled]
  cat <<YAML
  - id: $1
    protocol: tcp/$2
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: [$3]
    proxy_protocol: "off"
    timeouts: { connect: $4, idle: 1h }
    load_balancing: { health_check: { enabled: ${5:-false} } }
YAML
}
{
  edge_config_head "$TDIR/var"
  echo "apps:"
  app refused 8001 "\"tcp://$ORIGIN_IP:8001\"" 2s
  app unreachable 8002 "\"tcp://$UNREACH_IP:8002\"" 2s
  app slow 8003 "\"tcp://$ORIGIN_IP:8003\"" 1s
  app pair 8004 "\"tcp://$ORIGIN_IP:8004\", \"tcp://$DOWN_IP:8004\"" 1s true
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
for port in 8001 8002 8003 8004; do
  require "edge listens on :$port" wait_port "$NS_E" tcp "$port"
done

EVENTS=$TDIR/var/events.ndjson
probe() { # port -> JSON
  local out
  out=$(ip netns exec "$NS_C" timeout 15 "${NETUTIL[@]}" probe --connect "$EDGE_IP:$1" --timeout 6 2>&1) ||
    out='{"connect": "probe failed"}'
  echo "$out"
}
# closed_within JSON MIN MAX: the edge accepted, then closed (EOF or RST) within [MIN, MAX] s.
# shellcheck disable=SC2317  # called through `check`
closed_within() {
  python3 - "$@" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); lo, hi = float(sys.argv[2]), float(sys.argv[3])
ok = r.get("connect") == "ok" and r.get("closed") in ("eof", "rst") and lo <= r["elapsed"] <= hi
sys.exit(0 if ok else 1)
PY
}

r=$(probe 8001)
echo "refused: $r"
check "origin refused: client connection closed in < 1 s" closed_within "$r" 0 1
check_event "origin refused: originError event with Status 521" "$EVENTS" 3 Event=originError Application=refused Status=521

r=$(probe 8002)
echo "unreachable: $r"
check "origin unreachable: client connection closed in < 1 s" closed_within "$r" 0 1
check_event "origin unreachable: originError event with Status 523" "$EVENTS" 3 Event=originError Application=unreachable Status=523

r=$(probe 8003)
echo "timeout: $r"
check "origin connect timeout (1s): client closed after about 1 s" closed_within "$r" 0.8 2.5
check_event "origin timeout: originError event with Status 522" "$EVENTS" 3 Event=originError Application=slow Status=522

res=$(ip netns exec "$NS_C" timeout 60 "${NETUTIL[@]}" echo-check --connect "$EDGE_IP:8004" --count 50 \
  --timeout 5 || true)
echo "two origins, one down: $res"
ok=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1] or "{}").get("ok", 0))' "$res")
assert_eq "two origins, one down: 50 of 50 connections succeed" 50 "$ok"

# The unused ports stay silent and the edge is still healthy.
r=$(probe 8099)
echo "unused port: $r"
check "no listener on an unconfigured port" python3 -c \
  'import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get("connect") == "ECONNREFUSED" else 1)' "$r"
check "edge still running" edge_alive
rpt_finish
