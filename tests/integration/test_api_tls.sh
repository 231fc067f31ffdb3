#!/usr/bin/env bash
# integration: parallel
# The API over HTTPS (api.tls): curl with the test CA gets the apps list; plain HTTP gets no
# answer; only forward-secret suites of TLS 1.2+ are offered (Mozilla "intermediate"); a
# non-loopback api.listen is refused without api.tls and accepted with it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18795
TOKEN="tls-token-$RPT_ID"
# A test CA and a certificate for 127.0.0.1 and the edge's address.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test ca" \
  -keyout "$TDIR/ca.key" -out "$TDIR/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=rampart api" \
  -keyout "$TDIR/api.key" -out "$TDIR/api.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:%s\n' "$EDGE_IP" >"$TDIR/san.ext"
openssl x509 -req -in "$TDIR/api.csr" -CA "$TDIR/ca.pem" -CAkey "$TDIR/ca.key" -CAcreateserial \
  -days 2 -extfile "$TDIR/san.ext" -out "$TDIR/api.pem" 2>/dev/null

# poll SECONDS CMD...: retries CMD every 0.1 s until it succeeds or SECONDS pass.
poll() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

write_config() { # LISTEN WITH_TLS
  {
    edge_config_head "$TDIR/var" | sed "s|listen: 127.0.0.1:8788|listen: $1|;s|token: .*|token: $TOKEN|"
    if [[ $2 == yes ]]; then
      printf '  tls: { certificate: %s, private_key: %s }\n' "$TDIR/api.pem" "$TDIR/api.key"
    fi
    echo "apps: []"
  } >"$TDIR/rampart.yaml"
  # api.tls belongs in the api block, right after its token line.
  python3 - "$TDIR/rampart.yaml" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
tls = [l for l in lines if l.startswith("  tls:")]
out = []
for l in lines:
    if l.startswith("  tls:"):
        continue
    out.append(l)
    if l.startswith("  token:") and tls:
        out.append(tls[0])
open(p, "w").write("\n".join(out) + "\n")
PY
}
write_config "127.0.0.1:$API_PORT" yes
check "config with api.tls is valid" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
https_ok() {
  ip netns exec "$NS_E" curl -sf --cacert "$TDIR/ca.pem" -H "Authorization: Bearer $TOKEN" \
    "https://127.0.0.1:$API_PORT/client/v4/zones/default/spectrum/apps" | grep -q '"success":true'
}
require "the API answers over HTTPS with the test CA" poll 10 https_ok
plain_fails() {
  ! ip netns exec "$NS_E" curl -s -m 3 -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$API_PORT/client/v4/zones/default/spectrum/apps" | grep -q '"success"'
}
check "plain HTTP gets no API answer" plain_fails
no_token_401() {
  [[ $(ip netns exec "$NS_E" curl -s -o /dev/null -w '%{http_code}' --cacert "$TDIR/ca.pem" \
    "https://127.0.0.1:$API_PORT/client/v4/zones/default/spectrum/apps") == 401 ]]
}
check "HTTPS without the token is 401" no_token_401
# Mozilla "intermediate": no suite without forward secrecy, nothing below TLS 1.2.
s_client() { # ARGS...: the "Cipher is" line of a handshake attempt
  ip netns exec "$NS_E" timeout 5 openssl s_client -connect "127.0.0.1:$API_PORT" "$@" \
    </dev/null 2>/dev/null | grep -o 'Cipher is .*' || true
}
assert_eq "TLS 1.2 with AES128-SHA256 (no forward secrecy) is refused" "Cipher is (NONE)" \
  "$(s_client -tls1_2 -cipher AES128-SHA256)"
assert_eq "TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 is accepted" \
  "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256" "$(s_client -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)"
assert_eq "TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305 is accepted" \
  "Cipher is ECDHE-ECDSA-CHACHA20-POLY1305" "$(s_client -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)"
assert_eq "TLS 1.1 is refused" "Cipher is (NONE)" "$(s_client -tls1_1)"
check "TLS 1.3 is accepted" grep -q "TLS_AES_\|TLS_CHACHA20" <<<"$(s_client -tls1_3)"
stop_edge

# A non-loopback api.listen: refused without api.tls, served with it.
write_config "$EDGE_IP:$API_PORT" no
refused() {
  ! ip netns exec "$NS_E" timeout 10 "$RAMPART_BIN" serve -c "$TDIR/rampart.yaml" \
    >"$TDIR/refused.log" 2>&1 && grep -q "api.tls is not set" "$TDIR/refused.log"
}
check "non-loopback api.listen without TLS is refused with a clear message" refused
write_config "$EDGE_IP:$API_PORT" yes
start_edge "$NS_E" "$TDIR/rampart.yaml"
remote_ok() {
  ip netns exec "$NS_C" curl -sf --cacert "$TDIR/ca.pem" -H "Authorization: Bearer $TOKEN" \
    "https://$EDGE_IP:$API_PORT/client/v4/zones/default/spectrum/apps" | grep -q '"success":true'
}
check "with api.tls a remote client reaches the API over HTTPS" poll 10 remote_ok
stop_edge
rpt_finish
