#!/usr/bin/env bash
# Attacks on the edge's own API (issue #10; docs/hardening.md, "API"). The edge runs under
# prlimit --nofile=1024 with an echo app that a legitimate client uses throughout; the API listens
# on the edge's address (allow_insecure_remote, for the test) with request_timeout 5s.
#  - gzip bombs (1 GiB of zeros, ~1 MB compressed) to /dashboard/login and to an API path: 415
#    before the body is read; peak RSS flat;
#  - 8 slowloris connections (a byte every 8 s), then 1,000 idle connections: /healthz, /metrics
#    and the API answer in < 1 s, the data plane keeps serving (>= 99%), descriptors bounded;
#  - token guessing: 429 after 5 wrong tokens, the right token still works from another address;
#  - the Host check (DNS rebinding), an 8 KiB sign-in form, extreme analytics times, certificate
#    paths through the API, one audit line per write, token reload on SIGHUP, file modes.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology
ATTACK=(python3 "$RPT_HELPERS/api_attack.py")
LEGIT_IP=10.77.1.3 # a second address of the client namespace: "another source"
ip -n "$NS_C" addr add "$LEGIT_IP/24" dev "${RPT_IF}c0"

TOKEN="attack-token-$RPT_ID-0123"
API="http://$EDGE_IP:8788"
BASE="$API/client/v4/zones/default"
write_config() { # TOKEN
  cat >"$TDIR/rampart.yaml" <<YAML
edge:
  colo: TEST
  listen: ["$EDGE_IP"]
  data_dir: $TDIR/var
  drain_timeout: 1s
api:
  listen: $EDGE_IP:8788
  token: $1
  allow_insecure_remote: true
  request_timeout: 5s
  max_connections: 256
  max_connections_per_source: 0   # the attacks come from one address: this measures the global cap
protection:
  per_ip: { max_connections: 0, new_connections_per_second: 0, udp_packets_per_second: 0 }
  max_connections: 0
apps:
  - id: echo
    protocol: tcp/7000
    origin_direct: ["tcp://$ORIGIN_IP:7000"]
YAML
}
write_config "$TOKEN"
rpt_spawn origin "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
EDGE_LOG=$TDIR/edge.log
ip netns exec "$NS_E" prlimit --nofile=1024 "$RAMPART_BIN" serve -c "$TDIR/rampart.yaml" \
  >"$EDGE_LOG" 2>&1 &
EDGE_PID=$!
RPT_PIDS+=("$EDGE_PID")
require "edge API up (under a 1024-descriptor limit)" wait_port "$NS_E" tcp 8788 10
require "echo app up" wait_port "$NS_E" tcp 7000 10

# c [ARGS...]: curl from the client namespace, from LEGIT_IP; prints body then the status line.
c() { ip netns exec "$NS_C" curl -sS -m 10 --interface "$LEGIT_IP" -w '\n%{http_code}' "$@"; }
metric() { # NAME{labels}: its value from /metrics
  c -H "Authorization: Bearer $TOKEN" "$API/metrics" | grep -F "$1 " | head -n 1 | awk '{print $2}'
}
hwm_mb() { echo $(($(proc_hwm_kb "$EDGE_PID") / 1024)); }
# cpu_ms: the edge's user+system CPU time so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$EDGE_PID/stat"; }
# log_has TEXT: poll the edge log (5 s) for TEXT.
log_has() {
  for _ in $(seq 100); do
    grep -qF "$1" "$EDGE_LOG" && return 0
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------- gzip bombs
# 1,024 gzip members of 1 MiB of zeros each (gunzip reads them as one 1 GiB stream): ~1 MB.
python3 -c '
import gzip, sys
member = gzip.compress(bytes(1 << 20), 9)
open(sys.argv[1], "wb").write(member * 1024)' "$TDIR/bomb.gz"
bomb_kb=$(($(stat -c %s "$TDIR/bomb.gz") / 1024))
hwm_before=$(hwm_mb)
r=$(c -H "Content-Encoding: gzip" -H "Content-Type: application/x-www-form-urlencoded" \
  --data-binary @"$TDIR/bomb.gz" "$API/dashboard/login" 2>/dev/null || true)
assert_eq "gzip bomb (${bomb_kb} KB -> 1 GiB) to /dashboard/login: 415" 415 "$(status_of "$r")"
r=$(c -H "Content-Encoding: gzip" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  --data-binary @"$TDIR/bomb.gz" "$BASE/spectrum/apps" 2>/dev/null || true)
assert_eq "gzip bomb to POST .../spectrum/apps: 415" 415 "$(status_of "$r")"
check "... with the envelope's message" grep -q "compressed request bodies are not accepted" <<<"$r"
r=$(c -H "Content-Encoding: br" --data-binary @"$TDIR/bomb.gz" "$BASE/spectrum/apps" 2>/dev/null || true)
assert_eq "brotli-labelled body without a token: 415 too (before anything else)" 415 "$(status_of "$r")"
hwm_after=$(hwm_mb)
echo "  edge peak RSS: ${hwm_before} MB before the bombs, ${hwm_after} MB after"
check "peak RSS flat across the bombs (grew < 16 MB)" test $((hwm_after - hwm_before)) -lt 16
check "edge alive after the bombs" edge_alive

# ---------------------------------------------------------------- slowloris, then 1,000 idle connections
cpu_before=$(cpu_ms)
attack_start=$SECONDS
rpt_spawn legit "$NS_C" "${ATTACK[@]}" echo-loop --connect "$EDGE_IP:7000" --seconds 13 --rate 25
LEGIT_PID=$RPT_LAST_PID
rpt_spawn slowloris "$NS_C" "${ATTACK[@]}" slowloris --connect "$EDGE_IP:8788" --conns 8 \
  --interval 8 --seconds 7
SLOW_PID=$RPT_LAST_PID
probe_urls=(--url "$API/healthz" --url "$API/metrics" --url "$BASE/spectrum/apps")
p1=$(ip netns exec "$NS_C" "${ATTACK[@]}" probe "${probe_urls[@]}" --token "$TOKEN" --seconds 5)
wait "$SLOW_PID" || true
slow=$(cat "$TDIR/slowloris.log")
echo "  slowloris: $slow"
echo "  probes during slowloris: $p1"
assert_eq "slowloris: all 8 closed by the server" 8 "$(jget "$slow" 'j["closed"]')"
check "... at the 5 s request deadline" python3 -c '
import json, sys; t = json.loads(sys.argv[1])["closed_after_s"]; sys.exit(0 if t and min(t) >= 4.5 and max(t) < 6.5 else 1)' "$slow"
check "during slowloris, /healthz, /metrics and the API answered every probe" \
  test "$(jget "$p1" 'j["failures"]')" -eq 0 -a "$(jget "$p1" 'j["count"]')" -ge 20
check "... each in < 1 s (max $(jget "$p1" 'j["max_ms"]') ms)" python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["max_ms"] < 1000 else 1)' "$p1"

# The edge's descriptors, sampled every 50 ms while the idle connections come and stay.
(
  peak=0
  while [[ ! -e $TDIR/fds.stop ]]; do
    f=$(proc_fds "$EDGE_PID")
    if ((f > peak)); then peak=$f; echo "$peak" >"$TDIR/fds.peak"; fi
    sleep 0.05
  done
) &
SAMPLER_PID=$!
rpt_spawn idle "$NS_C" "${ATTACK[@]}" idle --connect "$EDGE_IP:8788" --conns 1000 --seconds 4 \
  --ready "$TDIR/idle.ready"
IDLE_PID=$RPT_LAST_PID
wait_file "$TDIR/idle.ready" 20 || true
p2=$(ip netns exec "$NS_C" "${ATTACK[@]}" probe "${probe_urls[@]}" --token "$TOKEN" --seconds 3)
wait "$IDLE_PID" || true
wait "$LEGIT_PID" || true
touch "$TDIR/fds.stop"
wait "$SAMPLER_PID" || true
peak_fds=$(cat "$TDIR/fds.peak" 2>/dev/null || echo 0)
idle=$(cat "$TDIR/idle.log")
legit=$(cat "$TDIR/legit.log")
echo "  idle: $idle"
echo "  probes during 1,000 idle connections: $p2"
echo "  legit data-plane client during both: $legit"
echo "  edge descriptors at most $peak_fds of 1024; edge CPU $(($(cpu_ms) - cpu_before)) ms over the $((SECONDS - attack_start)) s of slowloris + idle"
check "1,000 idle connections opened" test "$(jget "$idle" 'j["opened"]')" -ge 990
check "during them, /healthz, /metrics and the API answered every probe" \
  test "$(jget "$p2" 'j["failures"]')" -eq 0 -a "$(jget "$p2" 'j["count"]')" -ge 15
check "... each in < 1 s (max $(jget "$p2" 'j["max_ms"]') ms)" python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["max_ms"] < 1000 else 1)' "$p2"
check "the data plane served >= 99% (got $(jget "$legit" 'j["success_pct"]')%, p99 $(jget "$legit" 'j["p99_ms"]') ms)" \
  python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["success_pct"] >= 99 else 1)' "$legit"
check "the idle connections reached the edge (its descriptors rose past 200)" test "$peak_fds" -gt 200
check "edge descriptors stayed bounded by api.max_connections ($peak_fds < 400)" test "$peak_fds" -lt 400
evicted=$(metric 'rampart_api_connections_shed_total{reason="evicted"}')
timeouts=$(metric 'rampart_api_timeouts_total{phase="header"}')
echo "  counters: rampart_api_connections_shed_total{evicted} $evicted, rampart_api_timeouts_total{header} $timeouts"
check "evictions counted (>= 700 of the idle connections made room)" test "${evicted:-0}" -ge 700
check "slowloris timeouts counted (>= 8)" test "${timeouts:-0}" -ge 8

# ---------------------------------------------------------------- token guessing
g=$(ip netns exec "$NS_C" "${ATTACK[@]}" guess --url "$BASE/spectrum/apps" --count 7 \
  --source "$CLIENT_IP" --right "$TOKEN")
r=$(c -o /dev/null -H "Authorization: Bearer $TOKEN" "$BASE/spectrum/apps")
echo "  guesses from $CLIENT_IP (the last with the right token): $g"
assert_eq "5 wrong tokens: 401; the 6th: 401 with a wait; the 7th: 429" \
  "401 401 401 401 401 401 429" "$(jget "$g" '" ".join(str(x["status"]) for x in j[:7])')"
check "... the 6th and the 429 say when to retry (Retry-After)" \
  test -n "$(jget "$g" '(j[5]["retry_after"] or "") and (j[6]["retry_after"] or "")')"
assert_eq "while the guessing address waits, even the right token from it gets 429" 429 \
  "$(jget "$g" 'j[7]["status"]')"
assert_eq "the right token from another address still works" 200 "$(status_of "$r")"
check "wrong tokens are logged with their source" grep -q "wrong bearer token from $CLIENT_IP" "$EDGE_LOG"
check "rampart_api_auth_failures_total{kind=\"bearer\"} counts them" test "$(metric 'rampart_api_auth_failures_total{kind="bearer"}')" -ge 6

# ---------------------------------------------------------------- Host check, forms, queries, files
r=$(c -o /dev/null -H "Host: rebind.attacker.example" -H "Authorization: Bearer $TOKEN" "$BASE/spectrum/apps")
assert_eq "Host of another site (DNS rebinding): 421" 421 "$(status_of "$r")"
r=$(c -o /dev/null -H "Host: localhost:9999" -H "Authorization: Bearer $TOKEN" "$BASE/spectrum/apps")
assert_eq "Host localhost (an SSH tunnel's): 200" 200 "$(status_of "$r")"
head -c 9000 /dev/zero | tr '\0' 'a' | sed 's/^/token=/' >"$TDIR/form.txt"
r=$(c -H "Content-Type: application/x-www-form-urlencoded" --data-binary @"$TDIR/form.txt" "$API/dashboard/login")
assert_eq "a 9000-byte sign-in form: 413" 413 "$(status_of "$r")"
check "... that says the form is larger than 8 KiB" grep -q "sign-in form is larger than 8 KiB" <<<"$r"
r=$(c -G -H "Authorization: Bearer $TOKEN" --data-urlencode "since=-9223372036854775808" \
  "$BASE/spectrum/analytics/events/summary")
assert_eq "since=-9223372036854775808: 400" 400 "$(status_of "$r")"
check "... naming since" grep -q "since: " <<<"$r"
msgs=""
for f in /etc/shadow /nonexistent/cert.pem "$TDIR" /dev/zero; do
  r=$(c -H "Authorization: Bearer $TOKEN" --data "{\"id\":\"certprobe\",\"protocol\":\"tcp/7443\",\"tls\":\"flexible\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"],\"tls_settings\":{\"certificates\":[{\"certificate\":\"$f\",\"private_key\":\"$f\"}]}}" "$BASE/spectrum/apps")
  assert_eq "certificate path $f through the API: 400" 400 "$(status_of "$r")"
  msgs+="$(jget "$(body_of "$r")" 'j["errors"][0]["message"]')"$'\n'
done
assert_eq "... with one and the same message for all four" 1 "$(sort -u <<<"${msgs%$'\n'}" | wc -l)"

# ---------------------------------------------------------------- audit lines
r=$(c -H "Authorization: Bearer $TOKEN" --data "{\"id\":\"audited\",\"protocol\":\"tcp/7100\",\"origin_direct\":[\"tcp://$ORIGIN_IP:7000\"]}" "$BASE/spectrum/apps")
assert_eq "create an app" 200 "$(status_of "$r")"
r=$(c -X DELETE -H "Authorization: Bearer $TOKEN" "$BASE/spectrum/apps/audited")
assert_eq "delete it" 200 "$(status_of "$r")"
audit_ok() {
  python3 - "$EDGE_LOG" "$LEGIT_IP" "$1" "$2" <<'PY'
import json, sys
log, ip, method, status = sys.argv[1:5]
for line in open(log, errors="replace"):
    if " audit {" not in line:
        continue
    a = json.loads(line.split(" audit ", 1)[1])
    if (a["method"], a["object"], str(a["status"])) == (method, "audited", status) and \
            a["from"].startswith(ip + ":") and a["who"].startswith("token:") and \
            a["path"].endswith("/spectrum/apps" + ("/audited" if method == "DELETE" else "")):
        sys.exit(0)
sys.exit(1)
PY
}
check "audit line for the POST (who, what, from, outcome)" audit_ok POST 200
check "audit line for the DELETE" audit_ok DELETE 200
check "no token in the log" bash -c "! grep -qF '$TOKEN' '$EDGE_LOG'"

# ---------------------------------------------------------------- token reload on SIGHUP
write_config "short"
edge_reload
check "a too-short new token: reload refused, saying why" log_has "api.token: the token is 5 characters long"
r=$(c -o /dev/null -H "Authorization: Bearer $TOKEN" "$BASE/spectrum/apps")
assert_eq "... and the old token still works" 200 "$(status_of "$r")"
NEW_TOKEN="attack-token-new-$RPT_ID-0123"
write_config "$NEW_TOKEN"
edge_reload
check "reload logs the token change" log_has "api.token or api.tokens changed"
TOKEN_OLD=$TOKEN
TOKEN=$NEW_TOKEN
r=$(c -o /dev/null -H "Authorization: Bearer $NEW_TOKEN" "$BASE/spectrum/apps")
assert_eq "after SIGHUP the new token works" 200 "$(status_of "$r")"
r=$(c -o /dev/null -H "Authorization: Bearer $TOKEN_OLD" "$BASE/spectrum/apps")
assert_eq "... and the old one is refused" 401 "$(status_of "$r")"

# ---------------------------------------------------------------- file modes
assert_eq "data_dir is 0700" 700 "$(stat -c %a "$TDIR/var")"
for f in rampart.db rampart.db-wal rampart.db-shm analytics.db analytics.db-wal analytics.db-shm; do
  [[ -e $TDIR/var/$f ]] && assert_eq "$f is 0600" 600 "$(stat -c %a "$TDIR/var/$f")"
done
check "edge alive at the end" edge_alive
echo "  edge peak RSS over the whole test: $(hwm_mb) MB"
rpt_finish
