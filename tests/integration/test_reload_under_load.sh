#!/usr/bin/env bash
# SIGHUP reloads under load: 200 long-lived connections stream a checked byte pattern both ways
# through an echo origin while the config is rewritten and reloaded 20 times (apps added and
# removed, timeouts changed). No connection may break and no byte may be lost; each added app
# must be reachable after its reload and each removed one must stop listening.
# test_reload_under_load_kernel_relay.sh runs it again with kernel_relay: on (RPT_KERNEL_RELAY).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init
rpt_topology

CONNS=${RELOAD_CONNS:-200}
RELOADS=${RELOAD_COUNT:-20}

# Two origin processes: the streams' (:7000) and the reachability checks' (:7001), so that a
# check of a new app measures the edge, not the queue of a single-threaded origin busy echoing
# the 200 streams on a loaded machine.
rpt_spawn echo "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7000"
rpt_spawn echo-checks "$NS_O" "${NETUTIL[@]}" echo --listen "$ORIGIN_IP:7001"
require "echo origin listens on :7000" wait_port "$NS_O" tcp 7000
require "echo origin listens on :7001" wait_port "$NS_O" tcp 7001

app() { # id port origin_port connect idle
  cat <<YAML
  - id: $1
    protocol: tcp/$2
    edge_ips: { type: static, ips: ["$EDGE_IP"] }
    origin_direct: ["tcp://$ORIGIN_IP:$3"]
    proxy_protocol: "off"
    timeouts: { connect: $4, idle: $5 }
$(kernel_relay_yaml 4)
YAML
}
# Generation I: the streaming app always (timeouts alternate); app "extra" on :7101 in even
# generations only; app "gen-I" on :7300+I in generation I only (added, then removed next time).
write_config() {
  local i=$1
  {
    edge_config_head "$TDIR/var"
    echo "apps:"
    if ((i % 2 == 0)); then app stream 7000 7000 2s 1h; else app stream 7000 7000 3s 2h; fi
    if ((i % 2 == 0)); then app extra 7101 7001 2s 10m; fi
    if ((i > 0)); then app "gen-$i" $((7300 + i)) 7001 2s 30m; fi
  } >"$TDIR/rampart.yaml.new"
  mv -f "$TDIR/rampart.yaml.new" "$TDIR/rampart.yaml" # atomic: the edge never reads half a file
}

# shellcheck disable=SC2317  # invoked through wait_until
echo_ok() { tcp_echo_ok "$NS_C" "$EDGE_IP" "$1" 3; } # port: one echo round trip from the client

write_config 0
start_edge "$NS_E" "$TDIR/rampart.yaml"
require "edge listens on :7000" wait_port "$NS_E" tcp 7000
require "edge listens on :7101 (extra)" wait_port "$NS_E" tcp 7101

rpt_spawn stream "$NS_C" "${NETUTIL[@]}" stream --connect "$EDGE_IP:7000" --conns "$CONNS" \
  --rate 32768 --ready "$TDIR/stream.ready" --stop "$TDIR/stream.stop" --max-seconds 280 --drain-seconds 20
stream_pid=$RPT_LAST_PID
require "$CONNS streaming connections established through the edge" wait_file "$TDIR/stream.ready" 30

added_ok=0 removed_ok=0 extra_ok=0 problems=()
for i in $(seq 1 "$RELOADS"); do
  write_config "$i"
  port=$((7300 + i))
  if ! edge_reload_applied 30; then
    problems+=("reload $i: the edge did not log \"configuration reloaded\" within 30 s")
  fi
  # Reachable = a listener in the namespace, then an echo round trip through it (retried until
  # the deadline: the workers pick the snapshot up one by one, and a busy machine is slow).
  if wait_port "$NS_E" tcp "$port" 10 && wait_until 30 echo_ok "$port"; then
    added_ok=$((added_ok + 1))
  else
    problems+=("reload $i: new app gen-$i on :$port not reachable")
    rpt_log "reload $i: listeners in the edge namespace: $(ip netns exec "$NS_E" ss -Hltn | awk '{print $4}' | tr '\n' ' ')"
  fi
  if ((i > 1)); then
    if wait_port_closed "$NS_E" tcp $((port - 1)) 10; then
      removed_ok=$((removed_ok + 1))
    else
      problems+=("reload $i: removed app gen-$((i - 1)) still listening on :$((port - 1))")
    fi
  else
    removed_ok=$((removed_ok + 1))
  fi
  if ((i % 2 == 0)); then
    if wait_port "$NS_E" tcp 7101 10 && wait_until 30 echo_ok 7101; then extra_ok=$((extra_ok + 1)); else
      problems+=("reload $i: re-added app extra on :7101 not reachable")
    fi
  else
    if wait_port_closed "$NS_E" tcp 7101 10; then extra_ok=$((extra_ok + 1)); else
      problems+=("reload $i: removed app extra still listening on :7101")
    fi
  fi
  if ! kill -0 "$stream_pid" 2>/dev/null; then
    problems+=("reload $i: the streaming client ended early (a connection broke)")
    break
  fi
  if ! edge_alive; then
    problems+=("reload $i: the edge exited")
    break
  fi
  sleep 0.25 # pace the reloads so that data keeps flowing across each of them
done
for p in "${problems[@]}"; do echo "  $p"; done
assert_eq "added apps reachable after their reload" "$RELOADS" "$added_ok"
assert_eq "removed apps stopped listening after the next reload" "$RELOADS" "$removed_ok"
assert_eq "app 'extra' toggled on/off with each reload" "$RELOADS" "$extra_ok"

touch "$TDIR/stream.stop"
set +e
wait "$stream_pid"
stream_rc=$?
set -e
summary=$(tail -n 1 "$TDIR/stream.log")
echo "stream client: $summary"
assert_eq "streaming client exit status (0 = every byte echoed on every connection)" 0 "$stream_rc"
broken=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("broken"))' "$summary" 2>/dev/null || echo '?')
assert_eq "connections broken during $RELOADS reloads" 0 "$broken"
lost=$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print(s["bytes_sent"] - s["bytes_echoed"])' \
  "$summary" 2>/dev/null || echo '?')
assert_eq "bytes lost" 0 "$lost"
kernel_relay_check "$CONNS"
check "edge still running after $RELOADS reloads" edge_alive
rpt_finish
