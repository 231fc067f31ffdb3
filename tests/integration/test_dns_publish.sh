#!/usr/bin/env bash
# integration: parallel
# dns_publish (SPEC §2 "Publishing dns.name", docs/dns_publish.md) against a real authoritative
# server: Knot in the origin namespace, with a TSIG key and an update ACL. Edge 1 publishes its
# apps' names at start (A and AAAA from edge.public_ips, connectivity filtering, a name outside
# the zone warned about and left out); a SIGHUP that adds and removes apps, and an API create and
# delete, show in `dig @server` within 1 s. Edge 2 (another process, its own public_ips) starts
# with a wrong secret: the update is refused (NOTAUTH, BADSIG), logged and counted on /metrics;
# with the right secret and a SIGHUP it publishes, and the name lists both edges. SIGTERM
# withdraws each edge's own address only: the name keeps the other edge's until it stops too.
# shellcheck disable=SC2317  # functions called through check and wait_until
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

DNS_IP=$ORIGIN_IP
KNOT=$TDIR/knot
mkdir -p "$KNOT/db" # the journal (DDNS fails with "not exists" without it)
SECRET=$(head -c 32 /dev/urandom | base64)
printf '%s\n' "$SECRET" >"$TDIR/tsig.key"
printf '%s\n' "$(head -c 32 /dev/urandom | base64)" >"$TDIR/wrong.key"
chmod 600 "$TDIR/tsig.key" "$TDIR/wrong.key"
cat >"$KNOT/knot.conf" <<EOF2
server:
    listen: $DNS_IP@53
    rundir: $KNOT
log:
  - target: stderr
    any: info
database:
    storage: $KNOT/db
key:
  - id: rampart
    algorithm: hmac-sha256
    secret: $SECRET
acl:
  - id: rampart_update
    key: rampart
    action: update
zone:
  - domain: example.com
    storage: $KNOT
    file: example.com.zone
    acl: rampart_update
    zonefile-sync: -1
EOF2
cat >"$KNOT/example.com.zone" <<'EOF2'
$ORIGIN example.com.
$TTL 60
@   SOA ns.example.com. admin.example.com. 1 60 60 600 60
@   NS  ns.example.com.
ns  A   10.77.2.2
EOF2
rpt_spawn knot "$NS_O" knotd -c "$KNOT/knot.conf"
require "knotd answers on $DNS_IP:53" wait_port "$NS_O" udp 53 10

# names NAME TYPE: the records the server has, sorted, space-separated.
names() { ip netns exec "$NS_O" dig +short +norecurse +time=1 +tries=1 @"$DNS_IP" "$1" "$2" | sort | xargs; }
# shellcheck disable=SC2317  # called through wait_until
has() { [[ $(names "$1" "$2") == "$3" ]]; }
# watch NAME TYPE WANT: in the background (started before a change), polls the server until
# NAME TYPE is WANT and writes the unix time it first saw it to $TDIR/seen (gives up after 8 s).
watch() {
  rm -f "$TDIR/seen"
  # shellcheck disable=SC2016  # expanded by the inner shell
  ip netns exec "$NS_O" bash -c 'end=$((SECONDS + 8)); while ((SECONDS < end)); do
      got=$(dig +short +norecurse +time=1 +tries=1 @"$1" "$2" "$3" | sort | xargs)
      if [[ $got == "$4" ]]; then date +%s.%N >"$5"; exit 0; fi
    done; exit 1' _ "$DNS_IP" "$1" "$2" "$3" "$TDIR/seen" &
  WATCH_PID=$!
}
# seen_within_1s T0 WHAT: the watched record was seen within 1 s of T0 (unix time).
seen_within_1s() {
  wait "$WATCH_PID" || return 1
  python3 -c "import sys; t=float(sys.argv[1]) - $1; print('    %s: %.3f s after the change' % (sys.argv[2], t)); sys.exit(0 if t <= 1.0 else 1)" "$(cat "$TDIR/seen")" "$2"
}
# applied N BEFORE: waits until edge N has logged more than BEFORE "configuration reloaded" lines
# (a change is in force on the data plane) and prints the unix time of the last one.
reloads() { grep -c 'configuration reloaded' "${LOG[$1]}" || true; }
applied() {
  wait_until 10 bash -c "(( \$(grep -c 'configuration reloaded' '${LOG[$1]}') > $2 ))" || return 1
  grep 'configuration reloaded' "${LOG[$1]}" | tail -n 1 | cut -d' ' -f1 |
    python3 -c "import sys,datetime; print(datetime.datetime.strptime(sys.stdin.read().strip(), '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc).timestamp())"
}

# config N KEYFILE [changed]: edge N's config (edge 1: 10.77.1.1, API 8788; edge 2: 10.77.2.1,
# API 8789).
config() {
  local n=$1 key=$2 listen api public
  if ((n == 1)); then
    listen=$EDGE_IP api=8788 public='["198.51.100.1", "2001:db8::1"]'
  else
    listen=$EDGE_EGRESS_IP api=8789 public='["198.51.100.2"]'
  fi
  cat <<YAML
edge:
  colo: E$n
  listen: ["$listen"]
  data_dir: $TDIR/var$n
  drain_timeout: 1s
  public_ips: $public
api:
  listen: 127.0.0.1:$api
  token: test-token-$RPT_ID
dns_publish:
  server: $DNS_IP:53
  zone: example.com.
  tsig: { name: rampart, algorithm: hmac-sha256, secret_file: $key }
  ttl: 30
apps:
  - id: ssh
    protocol: tcp/2222
    dns: { type: CNAME, name: ssh.example.com }
    origin_direct: ["tcp://$ORIGIN_IP:22"]
YAML
  if [[ ${3:-} != changed ]]; then
    cat <<YAML
  - id: v4only
    protocol: tcp/2223
    dns: { type: ADDRESS, name: v4.example.com }
    edge_ips: { type: dynamic, connectivity: ipv4 }
    origin_direct: ["tcp://$ORIGIN_IP:22"]
  - id: elsewhere
    protocol: tcp/2224
    dns: { type: CNAME, name: ssh.example.org }
    origin_direct: ["tcp://$ORIGIN_IP:22"]
YAML
  else
    cat <<YAML
  - id: game
    protocol: udp/27015
    dns: { type: CNAME, name: game.example.com }
    origin_direct: ["udp://$ORIGIN_IP:27015"]
YAML
  fi
}

declare -A PID LOG
start() { # start N: edge N in the edge namespace
  LOG[$1]=$TDIR/edge$1.log
  ip netns exec "$NS_E" "$RAMPART_BIN" serve -c "$TDIR/edge$1.yaml" >>"${LOG[$1]}" 2>&1 &
  PID[$1]=$!
  RPT_PIDS+=("${PID[$1]}")
}
# stop N: SIGTERM edge N and wait for it to exit (up to 10 s).
stop() {
  kill -TERM "${PID[$1]}" 2>/dev/null || return 0
  wait_until 10 bash -c "! kill -0 ${PID[$1]} 2>/dev/null" || kill -KILL "${PID[$1]}"
  wait "${PID[$1]}" 2>/dev/null || true
}
logged() { grep -Eq -- "$2" "${LOG[$1]}"; }
api() { # api N METHOD PATH [BODY]
  local port=$((8787 + $1))
  ip netns exec "$NS_E" curl -s -X "$2" -H "Authorization: Bearer test-token-$RPT_ID" \
    -H 'Content-Type: application/json' ${4:+--data "$4"} "http://127.0.0.1:$port$3"
}
# metric N SERIES: the value of one series line of edge N's /metrics (SERIES as written there).
metric() { api "$1" GET /metrics | awk -v k="$2" '$1 == k {print $NF}'; }
metric_is() { [[ $(metric "$1" "$2") == "$3" ]]; }
metric_positive() { local v; v=$(metric "$1" "$2"); [[ -n $v && $v -gt 0 ]]; }
trap 'rc=$?; if ((rc != 0 || RPT_FAILS != 0)); then for n in 1 2; do echo "---- edge $n"; tail -n 25 "${LOG[$n]:-/dev/null}"; done; echo "---- knot"; tail -n 15 "$TDIR/knot.log"; fi; (exit $rc); rpt_cleanup' EXIT

# ---------------------------------------------------------------- edge 1 publishes at start
config 1 "$TDIR/tsig.key" >"$TDIR/edge1.yaml"
check "rampart check names the name outside the zone" \
  bash -c "'$RAMPART_BIN' check -c '$TDIR/edge1.yaml' 2>&1 | grep -q 'ssh.example.org is outside dns_publish.zone example.com.'"
start 1
check "edge 1 publishes ssh.example.com A" wait_until 10 has ssh.example.com A 198.51.100.1
check "... and AAAA" has ssh.example.com AAAA 2001:db8::1
check "connectivity: ipv4 publishes A only" has v4.example.com A 198.51.100.1
assert_eq "... and no AAAA" "" "$(names v4.example.com AAAA)"
check "the name outside the zone is logged and left out" logged 1 'ssh.example.org.* outside the zone'
# (the server applies an update a moment before the edge reads its answer and books it)
check "/metrics: 3 records published" wait_until 2 metric_is 1 rampart_dns_publish_records 3
check "/metrics: updates ok counted" metric_positive 1 'rampart_dns_publish_updates_total{result="ok"}'

# ---------------------------------------------------------------- SIGHUP: apps added and removed
# "Within 1 s" counts from the moment the change is in force (the edge's "configuration
# reloaded" line) to the moment a `dig` loop started before the change sees it.
config 1 "$TDIR/tsig.key" changed >"$TDIR/edge1.yaml"
n=$(reloads 1)
watch game.example.com A 198.51.100.1
kill -HUP "${PID[1]}"
t0=$(applied 1 "$n")
check "SIGHUP: game.example.com appears within 1 s" seen_within_1s "$t0" game.example.com
check "... and v4.example.com is gone" has v4.example.com A ""
check "ssh.example.com stays" has ssh.example.com A 198.51.100.1

# ---------------------------------------------------------------- API create and delete
n=$(reloads 1)
watch api.example.com A 198.51.100.1
r=$(api 1 POST /client/v4/zones/default/spectrum/apps \
  "{\"protocol\":\"tcp/2300\",\"dns\":{\"type\":\"CNAME\",\"name\":\"api.example.com\"},\"origin_direct\":[\"tcp://$ORIGIN_IP:22\"],\"edge_ips\":{\"type\":\"dynamic\",\"connectivity\":\"all\"}}")
APP=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"]["id"])' "$r")
t0=$(applied 1 "$n")
check "API create: api.example.com A within 1 s" seen_within_1s "$t0" api.example.com
check "... and AAAA" has api.example.com AAAA 2001:db8::1
n=$(reloads 1)
watch api.example.com A ""
api 1 DELETE "/client/v4/zones/default/spectrum/apps/$APP" >/dev/null
t0=$(applied 1 "$n")
check "API delete: api.example.com gone within 1 s" seen_within_1s "$t0" "api.example.com gone"
check "... AAAA too" has api.example.com AAAA ""

# ---------------------------------------------------------------- edge 2: a wrong key, then the right one
config 2 "$TDIR/wrong.key" changed >"$TDIR/edge2.yaml"
start 2
check "edge 2 with a wrong secret: the update is refused and logged (NOTAUTH, BADSIG)" \
  wait_until 10 logged 2 'dns_publish: update of zone example.com. failed: NOTAUTH .*BADSIG'
check "... /metrics counts it" metric_positive 2 'rampart_dns_publish_updates_total{result="notauth"}'
check "... and shows the error" bash -c "ip netns exec $NS_E curl -s -H 'Authorization: Bearer test-token-$RPT_ID' http://127.0.0.1:8789/metrics | grep -q '^rampart_dns_publish_last_error{result=\"notauth\",error=\"NOTAUTH.*BADSIG.*} 1'"
check "... and publishes nothing" has ssh.example.com A 198.51.100.1
check "the secret is never logged" bash -c "! grep -qF -- '$(cat "$TDIR/wrong.key")' '${LOG[2]}'"
cp "$TDIR/tsig.key" "$TDIR/wrong.key"
kill -HUP "${PID[2]}"
check "SIGHUP re-reads the secret: the name lists both edges" \
  wait_until 5 has ssh.example.com A "198.51.100.1 198.51.100.2"
check "... and the error is cleared on /metrics" \
  wait_until 2 metric_is 2 'rampart_dns_publish_last_error{result="",error=""}' 0

# ---------------------------------------------------------------- SIGTERM withdraws one's own
stop 2
check "edge 2's SIGTERM withdrew its address only (at exit)" has ssh.example.com A 198.51.100.1
check "... edge 1's game.example.com stays" has game.example.com A 198.51.100.1
check "edge 2 logged the withdrawal" logged 2 'dns_publish: withdrew'
stop 1
check "edge 1's SIGTERM withdrew its records (at exit)" has ssh.example.com A ""
check "... AAAA too" has ssh.example.com AAAA ""
check "... and the zone's own records are untouched" has ns.example.com A 10.77.2.2

rpt_finish
