#!/usr/bin/env bash
# The REST API against a real edge: Spectrum's create request works as is (origin changed) and the
# app relays within 1 s; list/get/put/patch/delete; auth; every invalid case's error code;
# access rules; apps survive a restart; DELETE closes only its listener while a stream on another
# app continues; 20 concurrent writers; kill -9 mid-write keeps every acknowledged write and an
# intact database.
# shellcheck disable=SC2317  # helpers below are invoked through check/require
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

API_PORT=18791
TOKEN="api-token-$RPT_ID"
BASE="http://127.0.0.1:$API_PORT/client/v4/zones/default"
DB="$TDIR/var/rampart.db"

rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000" --listen "$ORIGIN_IP:7001"
require "echo origin listens on :7000" wait_port "$NS_O" tcp 7000
require "echo origin listens on :7001" wait_port "$NS_O" tcp 7001
# The SPEC §3 request asks for tls: full: TLS both legs, so its origin speaks TLS.
start_tls_echo tls-origin "$NS_O" "$ORIGIN_IP" 7443
require "TLS echo origin listens on :7443" wait_port "$NS_O" tcp 7443

{
  edge_api_yaml "127.0.0.1:$API_PORT" "$TOKEN"
  limits_off_yaml
  cat <<YAML
apps:
  - id: stream
    protocol: tcp/7000
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
YAML
} >"$TDIR/rampart.yaml"

# api METHOD PATH [BODY]: prints the response body, then a line with the HTTP status.
api() {
  local method=$1 path=$2 body=${3-}
  local args=(-sS -X "$method" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$BASE$path")
  if [[ -n $body ]]; then args+=(-H "Content-Type: application/json" --data-binary "$body"); fi
  ip netns exec "$NS_E" curl "${args[@]}"
}
echo_ok() { # port: one echo round trip from the client namespace
  ip netns exec "$NS_C" timeout 10 "${NETUTIL[@]}" echo-check --connect "$EDGE_IP:$1" --count 1 \
    --timeout "${2:-3}" >/dev/null 2>&1
}
api_up() { ip netns exec "$NS_E" curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null; }
wait_api() {
  wait_until 30 api_up
}
# expect_error DESCRIPTION HTTP_STATUS CODE METHOD PATH [BODY]
expect_error() {
  local what=$1 want_status=$2 want_code=$3
  shift 3
  local r
  r=$(api "$@")
  local got_code
  got_code=$(jget "$(body_of "$r")" 'j["errors"][0]["code"] if not j["success"] else "success"' 2>/dev/null || echo '?')
  assert_eq "$what -> HTTP $want_status, code $want_code" "$want_status $want_code" "$(status_of "$r") $got_code"
}

start_edge "$NS_E" "$TDIR/rampart.yaml"
require "API answers /healthz" wait_api
require "file app listens on :7000" wait_port "$NS_E" tcp 7000

# ---------------------------------------------------------------- auth
r=$(ip netns exec "$NS_E" curl -sS -w '\n%{http_code}' "$BASE/spectrum/apps")
assert_eq "no token -> 401 code 10000" "401 10000" "$(status_of "$r") $(jget "$(body_of "$r")" 'j["errors"][0]["code"]')"
r=$(ip netns exec "$NS_E" curl -sS -w '\n%{http_code}' -H "Authorization: Bearer wrong" "$BASE/spectrum/apps")
assert_eq "wrong token -> 401 code 10000" "401 10000" "$(status_of "$r") $(jget "$(body_of "$r")" 'j["errors"][0]["code"]')"

# ---------------------------------------------------------------- SPEC §3 create request
# A probe in the client namespace, started before the POST, tries an echo through :22 every
# 10 ms and writes the wall-clock time of the first success (so the measure includes no
# process start-up after the POST).
cat >"$TDIR/probe.py" <<'PY'
import socket, ssl, sys, time
addr, out = (sys.argv[1], int(sys.argv[2])), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # the app is tls: full (self-signed certificate)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
deadline = time.time() + 30
while time.time() < deadline:
    try:
        with ctx.wrap_socket(socket.create_connection(addr, timeout=1),
                             server_hostname="ssh.example.com") as s:
            s.settimeout(1)
            s.sendall(b"probe\n")
            if s.recv(16) == b"probe\n":
                open(out, "w").write("%.6f\n" % time.time())
                break
    except OSError:
        pass
    time.sleep(0.01)
PY
rpt_spawn probe "$NS_C" python3 "$TDIR/probe.py" "$EDGE_IP" 22 "$TDIR/probe.ok"
sleep 1 # let the probe start (and fail) before the app exists
SPEC_BODY='{"protocol":"tcp/22","dns":{"type":"CNAME","name":"ssh.example.com"},
  "origin_direct":["tcp://'$ORIGIN_IP':7443"],"proxy_protocol":"off","ip_firewall":true,"tls":"full",
  "edge_ips":{"type":"dynamic","connectivity":"all"},"traffic_type":"direct","argo_smart_routing":true}'
r=$(api POST /spectrum/apps "$SPEC_BODY")
t_post=$(date +%s.%N)
body=$(body_of "$r")
assert_eq "SPEC §3 create request succeeds" "200 True" "$(status_of "$r") $(jget "$body" 'j["success"]')"
SSH_ID=$(jget "$body" 'j["result"]["id"]')
check "app id is 32 hex characters" grep -Eq '^[0-9a-f]{32}$' <<<"$SSH_ID"
assert_eq "created_on is RFC 3339" "True" "$(jget "$body" '__import__("re").match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", j["result"]["created_on"]) is not None')"
assert_eq "messages mention the self-signed certificate and argo" "True True" \
  "$(jget "$body" '" ".join(str(any(w in m["message"] for m in j["messages"])) for w in ["self-signed", "argo"])')"
require "TCP through the new app works" wait_file "$TDIR/probe.ok" 10
elapsed=$(python3 -c "import sys; print(round(float(open(sys.argv[1]).read()) - float(sys.argv[2]), 3))" \
  "$TDIR/probe.ok" "$t_post")
echo "  first echo through the new app ${elapsed}s after the POST returned"
check "... within 1 s of the POST" python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$elapsed"
check "echo through the new app (TLS both legs)" tls_echo_ok "$NS_C" "$EDGE_IP" 22

# ---------------------------------------------------------------- list / get / put / patch
r=$(api GET "/spectrum/apps?page=1&per_page=50&order=protocol&direction=asc")
body=$(body_of "$r")
assert_eq "list: 2 apps (file + API), result_info.total_count" "2 2" \
  "$(jget "$body" 'len(j["result"])') $(jget "$body" 'j["result_info"]["total_count"]')"
assert_eq "list: ordered by protocol, sources marked" "tcp/22:api tcp/7000:file" \
  "$(jget "$body" '" ".join(a["protocol"] + ":" + a["source"] for a in j["result"])')"
r=$(api GET "/spectrum/apps/$SSH_ID")
assert_eq "get: dns.name" "ssh.example.com" "$(jget "$(body_of "$r")" 'j["result"]["dns"]["name"]')"
r=$(api PUT "/spectrum/apps/$SSH_ID" '{"protocol":"tcp/22","dns":{"type":"CNAME","name":"ssh2.example.com"},"origin_direct":["tcp://'$ORIGIN_IP':7001"]}')
assert_eq "put: replaced (tls back to default off)" "200 ssh2.example.com off" \
  "$(status_of "$r") $(jget "$(body_of "$r")" 'j["result"]["dns"]["name"] + " " + j["result"]["tls"]')"
check "put: app relays to the new origin" echo_ok 22
r=$(api PATCH "/spectrum/apps/$SSH_ID" '{"ip_firewall":true,"timeouts":{"idle":"10m"}}')
assert_eq "patch: changed fields, others kept" "200 True 10m ssh2.example.com" \
  "$(status_of "$r") $(jget "$(body_of "$r")" '" ".join(str(x) for x in [j["result"]["ip_firewall"], j["result"]["timeouts"]["idle"], j["result"]["dns"]["name"]])')"

# ---------------------------------------------------------------- invalid requests change nothing
O='"origin_direct":["tcp://'$ORIGIN_IP':7000"]'
expect_error "neither origin" 400 11000 POST /spectrum/apps '{"protocol":"tcp/2300"}'
expect_error "both origins" 400 11000 POST /spectrum/apps '{"protocol":"tcp/2300",'"$O"',"origin_dns":{"name":"o.example.com"},"origin_port":22}'
expect_error "IPv6 origin without brackets" 400 11002 POST /spectrum/apps '{"protocol":"tcp/2300","origin_direct":["tcp://2001:db8::1:22"]}'
expect_error "hostname in origin_direct" 400 11002 POST /spectrum/apps '{"protocol":"tcp/2300","origin_direct":["tcp://origin.example.com:22"]}'
expect_error "origin_dns without origin_port" 400 11001 POST /spectrum/apps '{"protocol":"tcp/2300","origin_dns":{"name":"o.example.com"}}'
expect_error "bad dns type" 400 11004 POST /spectrum/apps '{"protocol":"tcp/2300",'"$O"',"dns":{"type":"TXT","name":"a.example.com"}}'
expect_error "unknown field" 400 10012 POST /spectrum/apps '{"protocol":"tcp/2300",'"$O"',"colour":"red"}'
expect_error "wrong type" 400 10001 POST /spectrum/apps '{"protocol":"tcp/2300",'"$O"',"ip_firewall":"yes"}'
expect_error "simple proxy protocol on tcp" 400 10001 POST /spectrum/apps '{"protocol":"tcp/2300",'"$O"',"proxy_protocol":"simple"}'
expect_error "malformed JSON" 400 6007 POST /spectrum/apps '{"protocol":'
expect_error "port taken by the file app" 409 10009 POST /spectrum/apps '{"protocol":"tcp/7000",'"$O"'}'
expect_error "edit a file app" 409 10009 PATCH /spectrum/apps/stream '{"tls":"off"}'
expect_error "delete a file app" 409 10009 DELETE /spectrum/apps/stream
expect_error "unknown app" 404 10007 GET /spectrum/apps/0123456789abcdef0123456789abcdef
expect_error "unknown zone" 404 7003 GET /../other/spectrum/apps
head -c 1100000 /dev/zero | tr '\0' ' ' >"$TDIR/big.json"
r=$(ip netns exec "$NS_E" curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" \
  --data-binary @"$TDIR/big.json" "$BASE/spectrum/apps")
assert_eq "body over 1 MiB -> 413 code 10013" "413 10013" "$(status_of "$r") $(jget "$(body_of "$r")" 'j["errors"][0]["code"]')"
r=$(api GET /spectrum/apps)
assert_eq "nothing changed by the invalid requests" 2 "$(jget "$(body_of "$r")" 'len(j["result"])')"
check "edge did not listen on :2300" wait_port_closed "$NS_E" tcp 2300 1

# ---------------------------------------------------------------- access rules
r=$(api POST /firewall/access_rules/rules '{"mode":"block","configuration":{"target":"ip_range","value":"198.51.100.0/24"},"notes":"abusive"}')
assert_eq "access rule created" "200 block" "$(status_of "$r") $(jget "$(body_of "$r")" 'j["result"]["mode"]')"
RULE_ID=$(jget "$(body_of "$r")" 'j["result"]["id"]')
expect_error "access rule: challenge mode" 400 10001 POST /firewall/access_rules/rules '{"mode":"challenge","configuration":{"target":"ip","value":"198.51.100.1"}}'
expect_error "access rule: bad ip" 400 10001 POST /firewall/access_rules/rules '{"mode":"block","configuration":{"target":"ip","value":"198.51.100"}}'
r=$(api PATCH "/firewall/access_rules/rules/$RULE_ID" '{"notes":"still abusive"}')
assert_eq "access rule patched" "200 still abusive" "$(status_of "$r") $(jget "$(body_of "$r")" 'j["result"]["notes"]')"
r=$(api GET /firewall/access_rules/rules)
assert_eq "access rules listed" 1 "$(jget "$(body_of "$r")" 'len(j["result"])')"

# ---------------------------------------------------------------- DELETE while another app streams
rpt_spawn stream "$NS_C" "${NETUTIL[@]}" stream --connect "$EDGE_IP:7000" --conns 20 \
  --rate 32768 --ready "$TDIR/stream.ready" --stop "$TDIR/stream.stop" --max-seconds 60 --drain-seconds 10
stream_pid=$RPT_LAST_PID
require "20 streaming connections through the file app" wait_file "$TDIR/stream.ready" 20
r=$(api POST /spectrum/apps '{"protocol":"tcp/7500",'"$O"'}')
TMP_ID=$(jget "$(body_of "$r")" 'j["result"]["id"]')
check "temporary app on :7500 relays" echo_ok 7500
r=$(api DELETE "/spectrum/apps/$TMP_ID")
assert_eq "delete returns the id" "200 $TMP_ID" "$(status_of "$r") $(jget "$(body_of "$r")" 'j["result"]["id"]')"
check "deleted app stops listening within 1 s" wait_port_closed "$NS_E" tcp 7500 1
expect_error "deleted app is gone" 404 10007 GET "/spectrum/apps/$TMP_ID"
sleep 0.5
check "streaming client still running" kill -0 "$stream_pid"
touch "$TDIR/stream.stop"
set +e
wait "$stream_pid"
stream_rc=$?
set -e
assert_eq "stream on the other app unharmed (every byte echoed)" 0 "$stream_rc"

# ---------------------------------------------------------------- restart keeps API apps
rpt_stop "$EDGE_PID"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "API back after restart" wait_api
r=$(api GET "/spectrum/apps/$SSH_ID")
assert_eq "API app survives the restart" "200 ssh2.example.com" "$(status_of "$r") $(jget "$(body_of "$r")" 'j["result"]["dns"]["name"]')"
check "... and listens again" wait_port "$NS_E" tcp 22 5
check "... echo through it" echo_ok 22
r=$(api GET /firewall/access_rules/rules)
assert_eq "access rule survives the restart" 1 "$(jget "$(body_of "$r")" 'len(j["result"])')"

# ---------------------------------------------------------------- 20 concurrent writers
cat >"$TDIR/writers.py" <<'PY'
"""20 threads x 25 mixed writes (create / patch / delete) on their own port ranges; records what
the API acknowledged, then compares with the final list. Mode "crash": create only, logging each
acknowledged id (flushed) until the edge goes away."""
import http.client, json, os, random, sys, threading
port, token, mode, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
origin = sys.argv[5]
H = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
P = "/client/v4/zones/default/spectrum/apps"
lock = threading.Lock()
model, acked, errors = {}, open(out, "a"), []

def call(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=H)
    r = conn.getresponse()
    return r.status, json.loads(r.read())

def writer(t):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    rnd, mine, n = random.Random(t), {}, 0
    base = 20000 + t * 100 if mode == "mixed" else 30000 + t * 1000
    for i in range(25 if mode == "mixed" else 1000):
        try:
            op = "create" if not mine or mode == "crash" else rnd.choice(["create", "patch", "delete"])
            if op == "create":
                name = "w%d-%d.example.com" % (t, i)
                s, j = call(conn, "POST", P, {"protocol": "tcp/%d" % (base + n), "dns": {"type": "CNAME", "name": name},
                                              "origin_direct": ["tcp://%s:7000" % origin]})
                n += 1
                if s == 200 and j["success"]:
                    mine[j["result"]["id"]] = name
                    if mode == "crash":
                        acked.write(j["result"]["id"] + "\n"); acked.flush()
                elif mode == "mixed":
                    errors.append((op, s, j["errors"]))
            elif op == "patch":
                aid = rnd.choice(list(mine)); name = "p%d-%d.example.com" % (t, i)
                s, j = call(conn, "PATCH", P + "/" + aid, {"dns": {"type": "CNAME", "name": name}})
                if s == 200: mine[aid] = name
                else: errors.append((op, s, j["errors"]))
            else:
                aid = rnd.choice(list(mine))
                s, j = call(conn, "DELETE", P + "/" + aid)
                if s == 200: del mine[aid]
                else: errors.append((op, s, j["errors"]))
        except Exception as e:  # the edge was killed (crash mode)
            if mode == "mixed": errors.append(("exception", str(e)))
            return
    with lock: model.update(mine)

threads = [threading.Thread(target=writer, args=(t,)) for t in range(20)]
for th in threads: th.start()
for th in threads: th.join()
if mode == "mixed":
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    s, j = call(conn, "GET", P + "?per_page=1000")
    final = {a["id"]: a.get("dns", {}).get("name", "") for a in j["result"]
             if a["source"] == "api" and a.get("dns", {}).get("name", " ")[0] in "wp"}
    print(json.dumps({"acked_apps": len(model), "listed": len(final), "equal": final == model, "errors": errors[:5]}))
    sys.exit(0 if final == model and not errors else 1)
PY
set +e
summary=$(ip netns exec "$NS_E" python3 "$TDIR/writers.py" "$API_PORT" "$TOKEN" mixed "$TDIR/acked-mixed" "$ORIGIN_IP")
rc=$?
set -e
echo "  writers: $summary"
assert_eq "20 concurrent writers x 25 mixed writes: final state equals the acknowledged writes" 0 "$rc"
check "edge alive after the concurrent writes" edge_alive

# ---------------------------------------------------------------- kill -9 mid-write
: >"$TDIR/acked-crash"
ip netns exec "$NS_E" python3 "$TDIR/writers.py" "$API_PORT" "$TOKEN" crash "$TDIR/acked-crash" "$ORIGIN_IP" \
  >"$TDIR/crash-writers.log" 2>&1 &
writers_pid=$!
sleep 1.5
kill -KILL "$EDGE_PID"
wait "$writers_pid" 2>/dev/null || true
acked=$(wc -l <"$TDIR/acked-crash")
echo "  $acked creates acknowledged before kill -9"
check "some writes were acknowledged before the kill" test "$acked" -gt 0
assert_eq "database integrity after kill -9" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "API back after kill -9" wait_api
api GET "/spectrum/apps?per_page=1000" | sed '$d' >"$TDIR/final.json"
missing=$(python3 -c '
import json, sys
ids = {a["id"] for a in json.load(open(sys.argv[1]))["result"]}
print(sum(1 for line in open(sys.argv[2]) if line.strip() and line.strip() not in ids))' "$TDIR/final.json" "$TDIR/acked-crash")
assert_eq "every acknowledged write is present after kill -9 and restart" 0 "$missing"
check "edge alive at the end" edge_alive
rpt_finish
