#!/usr/bin/env bash
# integration: parallel
# TLS termination (tls: flexible | full | strict) with real TLS peers: openssl s_client and a
# Python ssl client in front, a plain echo origin (flexible) and socat OPENSSL-LISTEN origins
# behind (full: self-signed; strict: signed by a test CA made here with openssl).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

# --- a test CA, two edge certificates (picked by SNI) and an origin certificate
pki=$TDIR/pki
mkdir -p "$pki"
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Rampart Test CA" -keyout "$pki/ca.key" -out "$pki/ca.pem"
# leaf NAME FILE_PREFIX SAN: a certificate signed by the test CA
leaf() {
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$pki/$2.key" -out "$pki/$2.csr"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$pki/$2.ext"
  ossl x509 -req -in "$pki/$2.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/$2.ext" -out "$pki/$2.pem"
}
leaf tls.example.test edge-a "DNS:tls.example.test"
leaf other.test edge-b "DNS:*.other.test"
leaf origin.test origin "DNS:origin.test"
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=selfsigned-origin" -keyout "$pki/self.key" -out "$pki/self.pem"
chmod 644 "$pki"/*
require "test PKI created" test -s "$pki/origin.pem" -a -s "$pki/edge-b.pem"

# --- origins: plain echo (:9100), TLS echo signed by the CA (:9200), self-signed TLS echo (:9201)
rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:9100"
rpt_spawn tls-origin "$NS_O" socat "OPENSSL-LISTEN:9200,bind=$ORIGIN_IP,reuseaddr,fork,cert=$pki/origin.pem,key=$pki/origin.key,verify=0" PIPE
rpt_spawn self-origin "$NS_O" socat "OPENSSL-LISTEN:9201,bind=$ORIGIN_IP,reuseaddr,fork,cert=$pki/self.pem,key=$pki/self.key,verify=0" PIPE
require "echo origin listens" wait_port "$NS_O" tcp 9100
require "CA-signed TLS origin listens" wait_port "$NS_O" tcp 9200
require "self-signed TLS origin listens" wait_port "$NS_O" tcp 9201

app() { # id edge_port origin_port tls dns_name [tls_settings]
  cat <<YAML
  - id: $1
    protocol: tcp/$2
    dns: { type: CNAME, name: $5 }
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:$3"]
    tls: $4
    timeouts: { connect: 2s, idle: 1h }
YAML
  if [[ -n ${6:-} ]]; then echo "    tls_settings: $6"; fi
}
certs="certificates: [{ certificate: $pki/edge-a.pem, private_key: $pki/edge-a.key }, { certificate: $pki/edge-b.pem, private_key: $pki/edge-b.key }]"
{
  edge_config_head "$TDIR/var"
  echo "  handshake_timeout: 2s"
  echo "apps:"
  app flex 9101 9100 flexible tls.example.test "{ $certs, min_version: \"1.2\" }"
  app strict 9102 9200 strict strict.example.test \
    "{ origin_ca_file: $pki/ca.pem, origin_server_name: origin.test }"
  app strict-bad 9103 9200 strict strict.example.test \
    "{ origin_ca_file: $pki/ca.pem, origin_server_name: wrong.test }"
  app full 9104 9201 full full.example.test
  app strict-self 9105 9201 strict strict.example.test "{ origin_ca_file: $pki/ca.pem }"
  app flex13 9106 9100 flexible tls.example.test "{ $certs, min_version: \"1.3\" }"
} >"$TDIR/rampart.yaml"
require "config is valid" "$RAMPART_BIN" check -c "$TDIR/rampart.yaml"
start_edge "$NS_E" "$TDIR/rampart.yaml"
for port in 9101 9102 9103 9104 9105 9106; do
  require "edge listens on :$port" wait_port "$NS_E" tcp "$port"
done
events=$TDIR/var/events.ndjson

# tls_echo PORT SNI BYTES: a Python TLS client sends BYTES random bytes and reads them back.
cat >"$TDIR/tls_echo.py" <<'PY'
# One thread and non-blocking I/O: Python's SSLSocket must not be read and written from two
# threads at once (a threaded sendall + recv loses data now and then, with or without the edge).
import os, select, socket, ssl, sys
host, port, sni, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((host, port), timeout=10), server_hostname=sni)
s.setblocking(False)
data = os.urandom(size)
sent, got, idle, eof = 0, bytearray(), 0, False
while len(got) < size and not eof and idle < 10:
    r, w, _ = select.select([s], [s] if sent < size else [], [], 1.0)
    idle = 0 if (r or w or s.pending()) else idle + 1
    if w and sent < size:
        try:
            sent += s.send(data[sent:sent + 16384])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
    try:
        while not eof:
            chunk = s.recv(65536)
            eof = not chunk
            got += chunk
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        pass
print("OK" if bytes(got) == data else f"MISMATCH {len(got)}/{size}", s.version())
PY
tls_echo() {
  ip netns exec "$NS_C" timeout 20 python3 "$TDIR/tls_echo.py" "$EDGE_IP" "$1" "$2" "$3" 2>&1 || true
}
# s_client PORT SNI [ARGS...]: handshake only (stdin is empty); prints s_client's report.
s_client() {
  local port=$1 sni=$2
  shift 2
  ip netns exec "$NS_C" timeout 10 openssl s_client -connect "$EDGE_IP:$port" -servername "$sni" \
    "$@" </dev/null 2>&1 || true
}

# shellcheck disable=SC2317  # both invoked through check
{
  # no_cipher S_CLIENT_OUTPUT: the handshake negotiated nothing ("Cipher is (NONE)" or no report).
  no_cipher() { ! grep -q "Cipher is [^(]" <<<"$1"; }
  not_ok() { [[ $1 != OK* ]]; }
}

# --- flexible: TLS to the edge, plaintext to the origin
r=$(tls_echo 9101 tls.example.test 1048576)
assert_eq "flexible: 1 MiB echoed intact through TLS -> plain origin" "OK" "${r%% *}"
out=$(s_client 9101 tls.example.test -CAfile "$pki/ca.pem" -verify_return_error \
  -verify_hostname tls.example.test)
check "flexible: SNI tls.example.test gets its certificate, verified by the CA" \
  grep -q "Verify return code: 0 (ok)" <<<"$out"
out=$(s_client 9101 x.other.test -CAfile "$pki/ca.pem" -verify_return_error \
  -verify_hostname x.other.test)
check "flexible: SNI x.other.test gets the wildcard certificate *.other.test" \
  grep -q "Verify return code: 0 (ok)" <<<"$out"
out=$(s_client 9101 unknown.test)
check "flexible: an unknown SNI gets the first (default) certificate" \
  grep -q "subject=CN = tls.example.test" <<<"$out"
check_event "connect event with the ClientTls fields" "$events" 30 Event=connect Application=flex \
  ClientTlsStatus=OK ClientTlsClientHelloServerName=tls.example.test
check_event "disconnect 200 with TLS protocol" "$events" 30 Event=disconnect Application=flex \
  Status=200 ClientBytes=1048576 OriginBytes=1048576

# TLS 1.1 is refused (min_version 1.2): the client gets a handshake failure and the edge logs it.
out=$(s_client 9101 tls.example.test -tls1_1 -cipher 'DEFAULT@SECLEVEL=0')
check "TLS 1.1 client is refused" no_cipher "$out"
check_event "TLS 1.1: tlsError 443 HANDSHAKE_FAILED" "$events" 30 Event=tlsError \
  Application=flex Status=443 ClientTlsStatus=HANDSHAKE_FAILED

out=$(s_client 9106 tls.example.test -tls1_2)
check "min_version 1.3: a TLS 1.2 client is refused" no_cipher "$out"
check_event "min_version 1.3: tlsError 443" "$events" 30 Event=tlsError Application=flex13 Status=443
r=$(tls_echo 9106 tls.example.test 1000)
assert_eq "min_version 1.3: a TLS 1.3 client gets through" "OK TLSv1.3" "$r"

# --- strict: TLS both legs, the origin's certificate verified against the test CA
r=$(tls_echo 9102 strict.example.test 262144)
assert_eq "strict: echo through TLS -> TLS origin verified as origin.test" "OK" "${r%% *}"
check_event "strict: connect event" "$events" 30 Event=connect Application=strict Status=0
r=$(tls_echo 9103 strict.example.test 1024)
check "strict with a wrong origin name: the client gets no data" not_ok "$r"
check_event "strict with a wrong origin name: originError 526" "$events" 30 Event=originError \
  Application=strict-bad Status=526
r=$(tls_echo 9105 strict.example.test 1024)
check_event "strict against a self-signed origin: originError 526" "$events" 30 \
  Event=originError Application=strict-self Status=526

# --- full: TLS both legs, the origin's self-signed certificate accepted
r=$(tls_echo 9104 full.example.test 262144)
assert_eq "full: echo through TLS -> self-signed TLS origin" "OK" "${r%% *}"
out=$(s_client 9104 full.example.test)
check "full without certificates: a self-signed certificate for dns.name" \
  grep -q "subject=CN = full.example.test" <<<"$out"
check "the self-signed certificate is logged as a warning" grep -q "self-signed certificate for full.example.test" "$EDGE_LOG"

# --- failed client handshakes: no origin connection, tlsError 443
ip netns exec "$NS_C" timeout 30 "${NETUTIL[@]}" probe --connect "$EDGE_IP:9102" \
  --send $'GET / HTTP/1.0\r\n\r\n' >/dev/null 2>&1 || true
ev=$(wait_event "$events" 30 Event=tlsError Application=strict Status=443 || true)
check "junk instead of a ClientHello: tlsError 443" test -n "$ev"
check "junk: no origin was contacted (OriginPort 0)" grep -q '"OriginPort": 0' <<<"$ev"
out=$(s_client 9102 strict.example.test -CAfile "$pki/ca.pem" -verify_return_error)
check "a client that does not trust the self-signed certificate aborts" \
  grep -q "self-signed certificate\|self signed certificate" <<<"$out"
check_event "unknown CA: tlsError 443 on the full app" "$events" 30 Event=tlsError \
  Application=strict Status=443 ClientTlsClientHelloServerName=strict.example.test
# A client that connects and sends nothing: the handshake times out (handshake_timeout 2s).
ip netns exec "$NS_C" timeout 30 "${NETUTIL[@]}" probe --connect "$EDGE_IP:9104" --timeout 4 \
  >/dev/null 2>&1 || true
check_event "silent client: tlsError 443 after handshake_timeout" "$events" 30 Event=tlsError \
  Application=full Status=443
# Only the one good strict client got as far as the origin.
n=$(grep '"Application":"strict",' "$events" | grep -c '"Event":"connect"' || true)
assert_eq "failed handshakes on the strict app opened no connection" 1 "$n"

# --- reload keeps the self-signed certificate (same dns.name)
fp1=$(s_client 9104 full.example.test | openssl x509 -noout -fingerprint 2>/dev/null || true)
check "SIGHUP applied (same config)" edge_reload_applied
fp2=$(s_client 9104 full.example.test | openssl x509 -noout -fingerprint 2>/dev/null || true)
check "SIGHUP keeps the self-signed certificate" test -n "$fp1" -a "$fp1" = "$fp2"

# --- SIGHUP reloads certificate files: a renewed certificate is presented after the reload
fpa1=$(s_client 9101 tls.example.test | openssl x509 -noout -fingerprint 2>/dev/null || true)
leaf tls.example.test edge-a "DNS:tls.example.test" # renewed: new key, new serial
chmod 644 "$pki"/*
check "SIGHUP applied (renewed certificate)" edge_reload_applied
fpa2=$(s_client 9101 tls.example.test | openssl x509 -noout -fingerprint 2>/dev/null || true)
check "SIGHUP picks up a renewed certificate" test -n "$fpa1" -a -n "$fpa2" -a "$fpa1" != "$fpa2"
r=$(tls_echo 9101 tls.example.test 1000)
assert_eq "echo with the renewed certificate" "OK" "${r%% *}"
check "edge still running" edge_alive
rpt_finish
