#!/usr/bin/env bash
# integration: parallel
# IP access rules with CIDR, country and ASN targets (test .mmdb databases written with the Perl
# writer, TESTBED.md): blocked clients get clientFiltered 403 with BLOCK_IP / BLOCK_COUNTRY /
# BLOCK_ASN and never reach the origin; allowed and whitelisted ones pass, and their events carry
# ClientCountry / ClientAsn.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
GU=(python3 "$RPT_HELPERS/guardutil.py")
MKDB=$RPT_ROOT/tests/unit/guard/fixtures/make_test_mmdb.pl

# Client addresses: .2 allowed (country OK, AS64500), .3 blocked by CIDR, .4 in blocked country
# BL, .5 in blocked AS64666, .6 in country BL but whitelisted by IP.
for host in 3 4 5 6; do ip -n "$NS_C" addr add "10.77.1.$host/24" dev "${RPT_IF}c0"; done
"$MKDB" country "$TDIR/country.mmdb" 10.77.1.0/24=OK 10.77.1.4/32=BL 10.77.1.6/32=BL
"$MKDB" asn "$TDIR/asn.mmdb" 10.77.1.0/24=64500 10.77.1.5/32=64666

rpt_spawn origin "$NS_O" "${GU[@]}" origin --listen "$ORIGIN_IP:7000" --log "$TDIR/origin.conns"
require "origin listens" wait_port "$NS_O" tcp 7000

cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 2s
api:
  listen: 127.0.0.1:8788
  token: test-token-$RPT_ID
geoip:
  country_db: $TDIR/country.mmdb
  asn_db: $TDIR/asn.mmdb
ip_access_rules:
  - { mode: block, configuration: { target: ip_range, value: 10.77.1.3/32 } }
  - { mode: block, configuration: { target: country, value: BL } }
  - { mode: block, configuration: { target: asn, value: AS64666 } }
  - { mode: whitelist, configuration: { target: ip, value: 10.77.1.6 } }
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: app
    protocol: tcp/7000
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
    ip_firewall: true
YAML
check "rampart check accepts the config" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens" wait_port "$NS_E" tcp 7000
EV=$TDIR/var/events.ndjson
HELLO=68656c6c6f0a

check "allowed client (10.77.1.2) is relayed" ip netns exec "$NS_C" "${GU[@]}" send --connect "$EDGE_IP:7000" --hex "$HELLO" --bind 10.77.1.2
check "whitelisted client in a blocked country (10.77.1.6) is relayed" ip netns exec "$NS_C" "${GU[@]}" send --connect "$EDGE_IP:7000" --hex "$HELLO" --bind 10.77.1.6
for host in 3 4 5; do
  check "blocked client 10.77.1.$host is refused" ip netns exec "$NS_C" "${GU[@]}" refused --connect "$EDGE_IP:7000" --hex "$HELLO" --bind "10.77.1.$host"
done
check_event "connect event with ClientCountry OK and ClientAsn 64500" "$EV" 5 \
  Event=connect ClientIP=10.77.1.2 ClientCountry=OK ClientAsn=64500 ClientMatchedIpFirewall=NONE
check_event "whitelisted client logged WHITELIST_IP" "$EV" 5 \
  Event=connect ClientIP=10.77.1.6 ClientCountry=BL ClientMatchedIpFirewall=WHITELIST_IP
check_event "CIDR block: clientFiltered 403 BLOCK_IP" "$EV" 5 \
  Event=clientFiltered Status=403 ClientIP=10.77.1.3 ClientMatchedIpFirewall=BLOCK_IP
check_event "country block: clientFiltered 403 BLOCK_COUNTRY" "$EV" 5 \
  Event=clientFiltered Status=403 ClientIP=10.77.1.4 ClientCountry=BL ClientMatchedIpFirewall=BLOCK_COUNTRY
check_event "ASN block: clientFiltered 403 BLOCK_ASN" "$EV" 5 \
  Event=clientFiltered Status=403 ClientIP=10.77.1.5 ClientAsn=64666 ClientMatchedIpFirewall=BLOCK_ASN
assert_eq "origin saw only the two allowed clients" 2 "$(grep -c '^open' "$TDIR/origin.conns" || true)"
check "edge still running" edge_alive
stop_edge 10
assert_eq "edge exits 0" 0 "$EDGE_RC"
rpt_finish
