#!/usr/bin/env bash
# integration: parallel
# Fleet store over TLS (issue #7): etcd serving https with client certificate auth; an edge with
# store_tls (ca, certificate, private_key) registers and stores an app; without the client
# certificate it refuses to start with a message naming store_tls.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/fleet_lib.sh
source "$(dirname "$0")/fleet_lib.sh"
rpt_init
fleet_ns
trap 'rc=$?; if ((rc != 0 || RPT_FAILS != 0)); then fleet_logs; fi; (exit $rc); rpt_cleanup' EXIT

P=$TDIR/pki
mkdir -p "$P"
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
  -keyout "$P/ca.key" -out "$P/ca.pem"
echo "subjectAltName=IP:127.0.0.1" >"$P/san.cnf"
for who in server client; do
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
    -keyout "$P/$who.key" -out "$P/$who.csr"
  ossl x509 -req -in "$P/$who.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
    -extfile "$P/san.cnf" -out "$P/$who.pem"
done
mkdir -p "$TDIR/etcd-tls"
rpt_spawn etcd-tls "$NS_F" etcd --name t1 --data-dir "$TDIR/etcd-tls" \
  --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster t1=http://127.0.0.1:2380 --cert-file "$P/server.pem" --key-file "$P/server.key" \
  --client-cert-auth --trusted-ca-file "$P/ca.pem"
ETCD_ENDPOINTS=127.0.0.1:2379
etcdctl_tls() {
  ip netns exec "$NS_F" env ETCDCTL_API=3 timeout 10 etcdctl --endpoints https://127.0.0.1:2379 \
    --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" "$@"
}
ok=""
wait_until 30 etcdctl_tls put /rampart-test/ping ok >/dev/null 2>&1 && ok=1
require "etcd serves https with client certificates" test -n "$ok"

fleet_config 1 "store_tls: { ca: $P/ca.pem, certificate: $P/client.pem, private_key: $P/client.key }"
rampart_check() { ip netns exec "$NS_F" "$RAMPART_BIN" check -c "$1" >/dev/null; }
check "rampart check accepts store_tls" rampart_check "$TDIR/edge1.yaml"
require "edge starts on etcd over TLS" fleet_edge 1
r=$(fapi 1 POST /spectrum/apps '{"id":"tls","protocol":"tcp/9000","origin_direct":["tcp://127.0.0.1:7000"]}')
assert_eq "create an app -> 200" "200" "$(status_of "$r")"
assert_eq "the app and the edge's registry key are in etcd" "/rampart/apps/default/tls /rampart/edges/" \
  "$(etcdctl_tls get --prefix /rampart/ --keys-only | grep . | sed 's|E1-.*||' | xargs)"

fleet_config 2 "store_tls: { ca: $P/ca.pem }"
set +e
out=$(ip netns exec "$NS_F" timeout 20 "$RAMPART_BIN" serve -c "$TDIR/edge2.yaml" 2>&1)
rc=$?
set -e
assert_eq "without a client certificate the edge does not start (exit 3)" "3" "$rc"
check "... and says to check store_tls" grep -q "check store_tls" <<<"$out"

rpt_finish
