#!/usr/bin/env bash
# integration: parallel
# Origins by name (SPEC §2): the edge resolves origin_dns names with the resolver of its
# namespace (/etc/netns/NS/resolv.conf -> dnsmasq in the origin namespace, TTL 1 s). A changed
# record is followed by new connections within TTL + 1 s while a connection opened before keeps
# its origin; type AAAA with an origin_port range reaches the IPv6 address only, port for port;
# NXDOMAIN keeps the last good answer; a name that never resolved gets the client
# closed at once with a resolveOrigin event, status 531; an app created through the API with
# Spectrum's body resolves too; /metrics shows the lookups.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
# The namespace's resolv.conf goes with the test, even when it fails.
trap 'rc=$?; rm -rf "/etc/netns/$NS_E"; (exit $rc); rpt_cleanup' EXIT

ORIGIN_B=10.77.2.3
ip -n "$NS_O" addr add "$ORIGIN_B/24" dev "${RPT_IF}o0"
# Each origin says who it is, then echoes.
rpt_spawn origin_a "$NS_O" socat "TCP-LISTEN:8100,bind=$ORIGIN_IP,fork,reuseaddr" SYSTEM:'echo A; exec cat'
rpt_spawn origin_b "$NS_O" socat "TCP-LISTEN:8100,bind=$ORIGIN_B,fork,reuseaddr" SYSTEM:'echo B; exec cat'
# IPv6 between edge and origin, for the AAAA app: it says which port it was reached on.
ORIGIN_IP6=fd77:2::3
ip -n "$NS_E" addr add fd77:2::1/64 dev "${RPT_IF}e1" nodad
ip -n "$NS_O" addr add "$ORIGIN_IP6/64" dev "${RPT_IF}o0" nodad
for p in 8100 8101; do
  rpt_spawn "origin6_$p" "$NS_O" socat "TCP6-LISTEN:$p,bind=[$ORIGIN_IP6],fork,reuseaddr" \
    SYSTEM:"echo six-$p; exec cat"
done

HOSTS=$TDIR/hosts
set_hosts() { # TEXT: the records dnsmasq serves from now on
  printf '%b' "$1" >"$HOSTS.new"
  chmod 644 "$HOSTS.new"
  mv "$HOSTS.new" "$HOSTS"
  kill -HUP "$DNS_PID"
}
printf '%s origin.rpt.test\n%s api.rpt.test\n%s six.rpt.test\n%s six.rpt.test\n' \
  "$ORIGIN_IP" "$ORIGIN_IP" "$ORIGIN_IP" "$ORIGIN_IP6" >"$HOSTS"
chmod 644 "$HOSTS"
rpt_spawn dnsmasq "$NS_O" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
  --no-hosts --addn-hosts="$HOSTS" --local-ttl=1 --local=/rpt.test/ --listen-address="$ORIGIN_IP" \
  --bind-interfaces --port=53 --pid-file= --user=root --log-facility=-
DNS_PID=$RPT_LAST_PID
mkdir -p "/etc/netns/$NS_E"
printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$ORIGIN_IP" >"/etc/netns/$NS_E/resolv.conf"
# shellcheck disable=SC2317  # called through wait_until
dns_and_origins_up() {
  port_listening "$NS_O" tcp 8100 && port_listening "$NS_O" tcp 8101 && port_listening "$NS_O" udp 53
}
require "origins and dnsmasq are up" wait_until 10 dns_and_origins_up

TOKEN="test-token-$RPT_ID"
{
  edge_config_head "$TDIR/var"
  cat <<YAML
apps:
  - id: named
    protocol: tcp/8100
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_dns: { name: origin.rpt.test }
    origin_port: 8100
  - id: never
    protocol: tcp/8101
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_dns: { name: never.rpt.test, type: A }
    origin_port: 8100
  - id: six
    protocol: tcp/8110-8111
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_dns: { name: six.rpt.test, type: AAAA }
    origin_port: "8100-8101"
YAML
} >"$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :8100" wait_port "$NS_E" tcp 8100

# banner PORT: the first line the origin behind the edge sends ("A" or "B"; "" when none).
# shellcheck disable=SC2016  # the script's $1.. are bash -c's arguments
banner() {
  ip netns exec "$NS_C" timeout 5 bash -c \
    'exec 3<>"/dev/tcp/$1/$2" || exit 1; IFS= read -r -t 3 line <&3; echo "$line"' _ "$EDGE_IP" "$1" \
    2>/dev/null || true
}
# shellcheck disable=SC2317  # called through wait_until
banner_is() { [[ $(banner "$1") == "$2" ]]; }
assert_eq "origin.rpt.test -> A: a new connection reaches origin A" A "$(banner 8100)"
# six.rpt.test has an A and an AAAA record: type AAAA takes the IPv6 one, edge port N -> origin
# port 8100 + (N - 8110).
check "type AAAA, port range: edge 8110 reaches [$ORIGIN_IP6]:8100" wait_until 10 banner_is 8110 six-8100
assert_eq "type AAAA, port range: edge 8111 reaches [$ORIGIN_IP6]:8101" six-8101 "$(banner 8111)"

# A connection opened now, kept open across the change: it must go on with origin A.
cat >"$TDIR/held.sh" <<'SH'
exec 3<>"/dev/tcp/$1/8100" || exit 1
IFS= read -r -t 5 first <&3
echo "$first" >"$2.banner"
while [[ ! -e $2.go ]]; do sleep 0.05; done
echo held-ping >&3
IFS= read -r -t 5 reply <&3
echo "$first $reply" >"$2.done"
SH
rpt_spawn held "$NS_C" bash "$TDIR/held.sh" "$EDGE_IP" "$TDIR/held"
require "a long-lived connection is open to origin A" wait_until 10 grep -qsx A "$TDIR/held.banner"

# Timed on the edge's side: from the record change to the edge's line saying new connections
# use the new answer (its log time, UTC), so a slow client on a busy machine does not count.
changed='app named: origin_dns answer changed: 10.77.2.3'
t0=$(date -u +%s%3N)
set_hosts "$ORIGIN_B origin.rpt.test\n$ORIGIN_IP api.rpt.test\n"
require "the edge takes the changed record" wait_until 10 edge_log_more "$changed" 0
t1=$(date -u -d "$(grep -m1 "$changed" "$EDGE_LOG" | cut -d' ' -f1)" +%s%3N)
elapsed_ms=$((t1 - t0))
echo "record change followed after ${elapsed_ms} ms"
check "the changed record is followed within TTL + 1 s (${elapsed_ms} ms)" test "$elapsed_ms" -le 2000
check "new connections now reach origin B" wait_until 10 banner_is 8100 B
touch "$TDIR/held.go"
require "the long-lived connection answered" wait_file "$TDIR/held.done" 10
assert_eq "the connection opened before the change still talks to origin A" "A held-ping" \
  "$(cat "$TDIR/held.done")"

# NXDOMAIN: the last good answer (B) stays.
fails=$(edge_log_count 'origin_dns origin.rpt.test: lookup failed \(nxdomain')
# api.rpt.test also answers the cloud metadata address: never used (left out and counted).
set_hosts "$ORIGIN_IP api.rpt.test\n169.254.169.254 api.rpt.test\n"
require "the edge logs the failed lookup with the name" \
  wait_until 10 edge_log_more 'origin_dns origin.rpt.test: lookup failed \(nxdomain' "$fails"
assert_eq "after NXDOMAIN new connections still reach origin B (last good answer)" B "$(banner 8100)"

# jq_ok FILTER (JSON on stdin): the filter holds.
# shellcheck disable=SC2317  # called through check
jq_ok() { jq -e "$1" >/dev/null; }

# Never resolved: accepted, closed at once, resolveOrigin / 531.
EVENTS=$TDIR/var/events.ndjson
r=$(ip netns exec "$NS_C" timeout 15 "${NETUTIL[@]}" probe --connect "$EDGE_IP:8101" --timeout 5 2>&1) ||
  r='{"connect": "probe failed"}'
echo "never resolved: $r"
check "never resolved: the client is accepted and closed in < 1 s" jq_ok \
  '.connect == "ok" and (.closed == "eof" or .closed == "rst") and .elapsed < 1' <<<"$r"
check_event "never resolved: resolveOrigin event with Status 531" "$EVENTS" 5 \
  Event=resolveOrigin Application=never Status=531

# Through the API, with Spectrum's body.
api() { # METHOD PATH [BODY]
  local args=(-sS -X "$1" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8788/client/v4/zones/default$2")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data "$3")
  ip netns exec "$NS_E" curl "${args[@]}"
}
out=$(api POST /spectrum/apps '{"protocol":"tcp/8102","dns":{"type":"CNAME","name":"ssh.example.com"},
  "origin_dns":{"name":"api.rpt.test","ttl":60},"origin_port":8100,
  "edge_ips":{"type":"static","ips":["'"$EDGE_IP"'"]},"proxy_protocol":"off","ip_firewall":false}')
check "API: app with origin_dns created" jq_ok '.success' <<<"$out"
require "edge listens on :8102" wait_port "$NS_E" tcp 8102
for i in 1 2 3 4; do
  assert_eq "API app: new connection $i reaches the resolved origin (A), never 169.254.169.254" \
    A "$(banner 8102)"
done

metrics=$(ip netns exec "$NS_E" curl -sS -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8788/metrics)
check "/metrics counts the NXDOMAIN lookups of the app" \
  grep -Eq 'rampart_origin_dns_lookups_total\{colo="TEST",app="named",result="nxdomain"\} [1-9]' <<<"$metrics"
check "/metrics counts the metadata address of the answer as refused" \
  grep -Eq 'rampart_origin_dns_addresses_refused_total\{colo="TEST",app="[^"]+"\} [1-9]' <<<"$metrics"
check "/metrics shows the stale answer in use" \
  grep -q 'rampart_origin_dns_stale{colo="TEST",app="named"} 1' <<<"$metrics"
check "/metrics shows no address for the name never resolved" \
  grep -q 'rampart_origin_dns_addresses{colo="TEST",app="never",name="never.rpt.test"} 0' <<<"$metrics"
live=$(api GET /spectrum/analytics/live)
check "the dashboard's live view lists the current address of the app" jq_ok \
  '[.result.apps[] | select(.appID == "named") | .origins[].origin] == ["tcp://10.77.2.3:8100"]' \
  <<<"$live"
check "edge still running" edge_alive
rpt_finish
