#!/usr/bin/env bash
# Helpers for the fleet (etcd) tests, on top of lib.sh. Everything runs in one namespace ($NS_F)
# that the test creates: etcd members on 127.0.0.1, edges listening on 127.0.0.1N (edge N), their
# APIs on 127.0.0.1:1880N, origins on 127.0.0.1. etcd data dirs are under $TDIR (mktemp, removed by
# the cleanup trap).
# shellcheck disable=SC2034  # variables are used by the tests that source this file
FLEETUTIL=(python3 "$RPT_HELPERS/fleetutil.py")
FLEET_TOKEN=""
# FLEET_API_TLS=1 (set before fleet_config): every edge serves its API over HTTPS with a
# certificate for 127.0.0.1 from a test CA ($FLEET_CA) and has a fleet credential of its own
# ($FLEET_PEER_TOKEN, fleet.ca_file: $FLEET_CA), so that the analytics fan-out is on
# (docs/fleet.md). fapi and fleet_edge then speak HTTPS; $FLEET_SCHEME is http or https.
FLEET_API_TLS=${FLEET_API_TLS:-}
FLEET_PEER_TOKEN=""
FLEET_CA=""
FLEET_SCHEME=http
declare -gA ETCD_PIDS=()
declare -gA EDGE_PIDS=()
ETCD_ENDPOINTS=""

fleet_ns() {
  NS_F=${RPT_ID:?rpt_init first}f
  FLEET_TOKEN="fleet-token-$RPT_ID"
  FLEET_PEER_TOKEN="fleet-peer-token-$RPT_ID"
  ip netns add "$NS_F"
  RPT_NAMESPACES+=("$NS_F")
  if [[ -n ${RPT_NS_FILE:-} ]]; then echo "$NS_F" >>"$RPT_NS_FILE"; fi
  ip -n "$NS_F" link set lo up
}

# etcd_cluster N: N members (client ports 2379, 22379, 32379; peers +1), sets ETCD_ENDPOINTS.
etcd_cluster() {
  local n=$1 i cluster="" eps=""
  for ((i = 1; i <= n; i++)); do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((i * 10000 - 10000 + 2380))"
    eps+="${eps:+,}127.0.0.1:$((i * 10000 - 10000 + 2379))"
  done
  ETCD_CLUSTER=$cluster
  ETCD_ENDPOINTS=$eps
  for ((i = 1; i <= n; i++)); do etcd_start "m$i"; done
}

# etcd_start NAME: (re)starts member mN with its data dir under $TDIR.
etcd_start() {
  local name=$1 i=${1#m}
  local cport=$((i * 10000 - 10000 + 2379)) pport=$((i * 10000 - 10000 + 2380))
  mkdir -p "$TDIR/etcd-$name"
  rpt_spawn "etcd-$name" "$NS_F" etcd --name "$name" --data-dir "$TDIR/etcd-$name" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-token "$RPT_ID" --initial-cluster-state new \
    --heartbeat-interval 50 --election-timeout 500
  ETCD_PIDS[$name]=$RPT_LAST_PID
}

etcd_stop() { # NAME: SIGTERM and wait
  rpt_stop "${ETCD_PIDS[$1]}"
}

etcdctl_f() { ip netns exec "$NS_F" env ETCDCTL_API=3 timeout 10 etcdctl --endpoints "$ETCD_ENDPOINTS" "$@"; }

etcd_healthy() {
  for _ in $(seq 100); do
    etcdctl_f endpoint health >/dev/null 2>&1 && etcdctl_f put /rampart-test/ping ok >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# fleet_api_certs: the test CA and the API certificate (127.0.0.1) every edge uses with
# FLEET_API_TLS=1; made once.
fleet_api_certs() {
  [[ -n $FLEET_CA ]] && return 0
  FLEET_CA=$TDIR/fleet-ca.pem
  FLEET_SCHEME=https
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=fleet test ca" -keyout "$TDIR/fleet-ca.key" -out "$FLEET_CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=fleet api" \
    -keyout "$TDIR/fleet-api.key" -out "$TDIR/fleet-api.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$TDIR/fleet-api.ext"
  openssl x509 -req -in "$TDIR/fleet-api.csr" -CA "$FLEET_CA" -CAkey "$TDIR/fleet-ca.key" \
    -CAcreateserial -days 2 -extfile "$TDIR/fleet-api.ext" -out "$TDIR/fleet-api.pem" 2>/dev/null
}

# fleet_config N [EXTRA_YAML]: writes $TDIR/edgeN.yaml (colo EN, listen 127.0.0.1N, API 1880N).
fleet_config() {
  local n=$1 extra=${2-} api_tls="" fleet=""
  mkdir -p "$TDIR/edge$n"
  if [[ -n $FLEET_API_TLS ]]; then
    fleet_api_certs
    api_tls="  tls: { certificate: $TDIR/fleet-api.pem, private_key: $TDIR/fleet-api.key }"
    fleet="fleet: { token: $FLEET_PEER_TOKEN, ca_file: $FLEET_CA }"
  fi
  cat >"$TDIR/edge$n.yaml" <<YAML
edge:
  colo: E$n
  listen: ["127.0.0.1$n"]
  data_dir: $TDIR/edge$n
  drain_timeout: 1s
  workers: 2
api:
  listen: 127.0.0.1:1880$n
  token: $FLEET_TOKEN
  allow_private_origins: true # the fleet's origins run on 127.0.0.1 in the test namespace
$api_tls
$fleet
store: etcd://$ETCD_ENDPOINTS
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
$extra
YAML
}

# fleet_edge N: starts edge N (config from fleet_config) and waits for its API.
fleet_edge() {
  local n=$1
  ip netns exec "$NS_F" "$RAMPART_BIN" serve -c "$TDIR/edge$n.yaml" >>"$TDIR/edge$n.log" 2>&1 &
  EDGE_PIDS[$n]=$!
  RPT_PIDS+=("$!")
  EDGE_LOG=$TDIR/edge$n.log
  for _ in $(seq 100); do
    ip netns exec "$NS_F" curl -sf ${FLEET_CA:+--cacert "$FLEET_CA"} \
      "$FLEET_SCHEME://127.0.0.1:1880$n/healthz" >/dev/null 2>&1 && return 0
    kill -0 "${EDGE_PIDS[$n]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "edge $n did not start:" >&2
  tail -n 20 "$TDIR/edge$n.log" >&2
  return 1
}

# fapi N METHOD PATH [BODY]: the API of edge N; prints the body, then the HTTP status on its own line.
fapi() {
  local n=$1 method=$2 path=$3 body=${4-}
  local args=(-sS -m 10 -X "$method" -H "Authorization: Bearer ${FAPI_TOKEN:-$FLEET_TOKEN}"
    -w '\n%{http_code}' "$FLEET_SCHEME://127.0.0.1:1880$n/client/v4/zones/default$path")
  if [[ -n $FLEET_CA ]]; then args+=(--cacert "$FLEET_CA"); fi
  if [[ -n $body ]]; then args+=(-H "Content-Type: application/json" --data-binary "$body"); fi
  ip netns exec "$NS_F" curl "${args[@]}"
}

# fu ARGS: fleetutil.py in the fleet namespace.
fu() { ip netns exec "$NS_F" timeout 60 "${FLEETUTIL[@]}" "$@"; }
fuq() { fu "$@" >/dev/null; } # the same, quiet: for check/require

# within_1s SECONDS: the measured propagation time is under 1 s.
within_1s() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$1" 2>/dev/null; }

# fleet_logs: on failure, the last lines of every edge log.
fleet_logs() {
  local f
  for f in "$TDIR"/edge*.log; do
    [[ -f $f ]] || continue
    echo "---- $f" >&2
    tail -n 25 "$f" >&2
  done
}

# fa ARGS: fleetapi.py (API load and its checks, helpers/fleetapi.py) in the fleet namespace.
FLEETAPI=(python3 "$RPT_HELPERS/fleetapi.py")
fa() { ip netns exec "$NS_F" timeout 120 "${FLEETAPI[@]}" "$@"; }

# etcd_freeze NAME... / etcd_thaw NAME...: SIGSTOP / SIGCONT members by PID (a paused VM or a
# stalled disk looks the same to the edges). Tests that freeze set `trap ... etcd_thaw_all` so
# that the cleanup always resumes them first.
etcd_freeze() { local m; for m in "$@"; do kill -STOP "${ETCD_PIDS[$m]}"; done; }
etcd_thaw() { local m; for m in "$@"; do kill -CONT "${ETCD_PIDS[$m]}" 2>/dev/null || true; done; }
etcd_thaw_all() { local m; for m in "${!ETCD_PIDS[@]}"; do etcd_thaw "$m"; done; }

# etcd_values PREFIX FILE: every value under PREFIX, one per line.
etcd_values() { etcdctl_f get --prefix "$1" --print-value-only >"$2"; }

# fleet_edges N: edge N's registry view (GET .../rampart/edges) as "name:health:stale" lines.
fleet_edges() {
  local r
  r=$(fapi "$1" GET /rampart/edges) || return 1
  jget "$(body_of "$r")" '"\n".join("%s:%s:%s" % (e["name"], e["health"], e.get("stale")) for e in j["result"])'
}

# now_s: a monotonic-enough clock with ms, for figures.
now_s() { date +%s.%N | cut -c1-14; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now_s)"; }

# fleet_steady MEMBERS EDGES: an etcd cluster of MEMBERS, an echo origin on 127.0.0.1:7000 and
# EDGES edges on the cluster, with the app "steady" (tcp/9000, in $APP) created through edge 1
# and relayed by every edge: where the stall and outage tests start.
fleet_steady() {
  local members=$1 edges=$2 n
  local connects=()
  etcd_cluster "$members"
  require "etcd is healthy" etcd_healthy
  rpt_spawn origin "$NS_F" "${NETUTIL[@]}" echo --listen 127.0.0.1:7000
  require "origin listens" wait_port "$NS_F" tcp 7000
  for n in $(seq "$edges"); do
    fleet_config "$n"
    require "edge $n starts on etcd" fleet_edge "$n"
    connects+=(--connect "127.0.0.1$n:9000")
  done
  APP='{"id":"steady","protocol":"tcp/9000","origin_direct":["tcp://127.0.0.1:7000"]}'
  assert_eq "create an app through edge 1" "200" "$(status_of "$(fapi 1 POST /spectrum/apps "$APP")")"
  require "every edge relays it" fuq until-echo "${connects[@]}" --timeout 3
}
