#!/usr/bin/env bash
# integration: parallel
# Cloudflare's official TypeScript SDK (npm `cloudflare`, pinned in tests/sdk/package-lock.json,
# installed by scripts/deps.sh) drives a running edge with only baseURL changed and a real 32-hex
# zone id from api.zones (issue #13, SPEC §3): apps CRUD with pagination, access rules with the
# list filters (the "unblock this IP" script deletes exactly the client's rule, and the client
# connects again), analytics with AND/OR filters, typed errors (NotFoundError, BadRequestError
# with Cloudflare's codes), with real TCP traffic from the client namespace through the edge to
# an echo origin in between, counted by aggregate/current from the app's first second on.
# The checks are in tests/sdk/sdk.spec.mjs; this script builds the namespaces and the edge.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

SDK_DIR=$RPT_ROOT/tests/sdk
TOKEN=test-token-$RPT_ID
ZONE=023e105f4ecef8ad9ca31a8372d0c353

require "node is installed (scripts/deps.sh)" command -v node
require "the cloudflare SDK is installed in tests/sdk (scripts/deps.sh)" \
  test -f "$SDK_DIR/node_modules/cloudflare/package.json"

rpt_spawn tcp-origin "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
require "tcp echo origin listens" wait_port "$NS_O" tcp 7000

# The API listens on the edge's client-side address, so that the SDK runs in the client
# namespace with the traffic (plain HTTP between namespaces of this test only).
cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 2s
api:
  listen: $EDGE_IP:8788
  allow_insecure_remote: true
  token: $TOKEN
  zones:
    - { id: $ZONE, name: example.com }
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
YAML
check "rampart check accepts the config" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "the API listens" wait_port "$NS_E" tcp 8788

set +e
ip netns exec "$NS_C" env SDK_BASE="http://$EDGE_IP:8788/client/v4" SDK_TOKEN="$TOKEN" \
  SDK_ZONE="$ZONE" SDK_EDGE="$EDGE_IP" SDK_ORIGIN="$ORIGIN_IP:7000" SDK_CLIENT_IP="$CLIENT_IP" \
  HOME="$TDIR" timeout 60 node "$SDK_DIR/sdk.spec.mjs" >"$TDIR/sdk.log" 2>&1
sdk_rc=$?
set -e
sed 's/^/    sdk | /' "$TDIR/sdk.log"
RPT_PASSES=$((RPT_PASSES + $(grep -c '^PASS: ' "$TDIR/sdk.log" || true)))
RPT_FAILS=$((RPT_FAILS + $(grep -c '^FAIL: ' "$TDIR/sdk.log" || true)))
check "the SDK script ran to its end (exit $sdk_rc)" grep -q '^sdk.spec: 0 failed' "$TDIR/sdk.log"

# `default` stays valid next to the configured zone id.
code=$(ip netns exec "$NS_C" curl -sS -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $TOKEN" "http://$EDGE_IP:8788/client/v4/zones/default/spectrum/apps")
assert_eq "zone default still answers" 200 "$code"
rpt_finish
