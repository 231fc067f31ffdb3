#!/usr/bin/env bash
# `make run`: a demo origin on 127.0.0.1:2022 (a real sshd on loopback with a throwaway key, or a
# socat banner + echo when sshd is missing / RAMPART_DEMO_ORIGIN=socat) behind Rampart on
# 127.0.0.1:2222. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${RAMPART_BIN:-build/rampart}
CONFIG=${RAMPART_CONFIG:-examples/rampart.yaml}
ORIGIN_PORT=2022

[[ -x $BIN ]] || { echo "run_demo: $BIN not found; run 'make build' first" >&2; exit 1; }
command -v socat >/dev/null || { echo "run_demo: socat missing; run 'make deps'" >&2; exit 1; }

tmp=$(mktemp -d /tmp/rampart-demo.XXXXXX)
origin_pid=""
edge_pid=""

# shellcheck disable=SC2317  # invoked from the trap
cleanup() {
  trap - INT TERM EXIT
  if [[ -n $edge_pid ]] && kill -0 "$edge_pid" 2>/dev/null; then
    kill -TERM "$edge_pid" 2>/dev/null || true
    # SIGTERM drains (edge.drain_timeout); give it a moment, then insist.
    for _ in $(seq 50); do kill -0 "$edge_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$edge_pid" 2>/dev/null || true
  fi
  if [[ -n $origin_pid ]]; then
    pkill -TERM -P "$origin_pid" 2>/dev/null || true   # per-connection children (socat, sshd)
    kill -TERM "$origin_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$tmp"
  echo
  echo "demo stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -f $CONFIG ]]; then
  # The example config is the normal source; this fallback keeps the demo runnable without it.
  CONFIG=$tmp/rampart.yaml
  cat >"$CONFIG" <<'YAML'
edge:
  colo: DEMO
  listen: ["127.0.0.1"]
  data_dir: ./var
api:
  listen: 127.0.0.1:8788
  token: ${RAMPART_API_TOKEN}
apps:
  - id: ssh-demo
    protocol: tcp/2222
    edge_ips: { type: static, ips: ["127.0.0.1"] }
    origin_direct: ["tcp://127.0.0.1:2022"]
    proxy_protocol: "off"
    timeouts: { connect: 5s, idle: 1h }
YAML
fi

if [[ -z ${RAMPART_API_TOKEN:-} ]]; then
  RAMPART_API_TOKEN=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  export RAMPART_API_TOKEN
fi

user=$(id -un)
if [[ -x /usr/sbin/sshd && ${RAMPART_DEMO_ORIGIN:-sshd} == sshd ]]; then
  # A real OpenSSH server on loopback only, key authentication only, with a key generated for this
  # demo (deleted on exit): the Spectrum SSH walkthrough on one machine.
  mkdir -p /run/sshd 2>/dev/null || true
  ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey" -C rampart-demo-host
  ssh-keygen -q -t ed25519 -N '' -f "$tmp/id" -C rampart-demo-client
  cp "$tmp/id.pub" "$tmp/authorized_keys"
  cat >"$tmp/sshd_config" <<CFG
Port $ORIGIN_PORT
ListenAddress 127.0.0.1
HostKey $tmp/hostkey
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
CFG
  /usr/sbin/sshd -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
  origin_pid=$!
  origin_desc="OpenSSH on 127.0.0.1:$ORIGIN_PORT (key auth, demo key)"
  connect_hint="ssh -i $tmp/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p 2222 $user@127.0.0.1
               (then: echo \$SSH_CONNECTION  -> the origin sees Rampart, not you)"
else
  # No sshd: a socat origin that greets, then echoes every line back.
  cat >"$tmp/origin.sh" <<'SH'
#!/bin/sh
echo "Hello from the demo origin on 127.0.0.1:2022, you came from ${SOCAT_PEERADDR}:${SOCAT_PEERPORT}"
echo "(that is Rampart's address: the origin never sees yours). Type lines; they are echoed back."
exec cat
SH
  chmod +x "$tmp/origin.sh"
  socat "TCP-LISTEN:$ORIGIN_PORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:$tmp/origin.sh" &
  origin_pid=$!
  origin_desc="socat banner + echo on 127.0.0.1:$ORIGIN_PORT"
  connect_hint="nc 127.0.0.1 2222   (apps with 'validate: ssh' only let SSH clients through)"
fi

mkdir -p var
cat <<MSG
================================================================================
 Rampart demo
   origin    : $origin_desc
   connect   : $connect_hint
   API       : http://127.0.0.1:8788/client/v4/zones/default/spectrum/apps
   API token : $RAMPART_API_TOKEN
               curl -H "Authorization: Bearer $RAMPART_API_TOKEN" http://127.0.0.1:8788/client/v4/zones/default/spectrum/apps
   dashboard : http://127.0.0.1:8788/dashboard  (sign in with the API token above)
   metrics   : curl -H "Authorization: Bearer $RAMPART_API_TOKEN" http://127.0.0.1:8788/metrics
   live view : $BIN top --api http://127.0.0.1:8788 --token $RAMPART_API_TOKEN
   events    : ./var/events.ndjson
   config    : $CONFIG
 Ctrl-C stops everything.
================================================================================
MSG

"$BIN" serve -c "$CONFIG" &
edge_pid=$!
set +e
wait "$edge_pid"
rc=$?
set -e
edge_pid=""
echo "rampart exited with status $rc"
exit "$rc"
