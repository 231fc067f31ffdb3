#!/usr/bin/env bash
# The Debian package (SPEC §7): `make deb` builds build/rampart_<version>_<arch>.deb; lintian
# reports no error; dpkg -i on this machine installs the binary, the conffile, the unit (clean
# under systemd-analyze verify, its exposure printed), the man pages, the system user rampart,
# /var/lib/rampart (0700 rampart) and a random API token (0640 root:rampart); the installed edge
# starts with the shipped config in a namespace and answers its API with that token; a reinstall
# (the upgrade path) keeps the token, a changed conffile and the data; dpkg -r stops at the
# conffile and the data; dpkg --purge removes them. The machine is left as it was even on
# failure: the EXIT trap purges the package and removes the user and group this test made. It
# refuses to run where rampart is already installed or the user exists (not ours to remove).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"
rpt_init

# shellcheck disable=SC2016  # ${...} is dpkg-query's format
if [[ -n $(dpkg-query -W -f='${db:Status-Status}' rampart 2>/dev/null) ]] ||
  getent passwd rampart >/dev/null || getent group rampart >/dev/null ||
  [[ -e /etc/rampart || -e /var/lib/rampart ]]; then
  echo "FAIL: rampart is installed here already (package, user, /etc/rampart or /var/lib/rampart);" \
    "this test installs and purges it and will not touch an existing one" >&2
  exit 1
fi

# shellcheck disable=SC2317  # invoked from the EXIT trap
pkg_cleanup() {
  set +e
  [[ -n ${EDGE_PID:-} ]] && kill -KILL "$EDGE_PID" 2>/dev/null
  dpkg --purge rampart >/dev/null 2>&1
  getent passwd rampart >/dev/null && deluser --system --quiet rampart >/dev/null 2>&1
  getent group rampart >/dev/null && delgroup --system --quiet rampart >/dev/null 2>&1
  rm -rf /etc/rampart /var/lib/rampart /run/rampart
  rm -f /etc/systemd/system/rampart.service /etc/systemd/system/multi-user.target.wants/rampart.service
}
trap 'rc=$?; pkg_cleanup; (exit $rc); rpt_cleanup' EXIT

# ---------------------------------------------------------------- build and lint
version=$(sed -n 's/^project(rampart VERSION \([0-9.]*\).*/\1/p' "$RPT_ROOT/CMakeLists.txt")
deb=$RPT_ROOT/build/rampart_${version}_$(dpkg --print-architecture).deb
require "make deb" make -s -C "$RPT_ROOT" deb JOBS="${JOBS:-2}"
require "make deb leaves $deb" test -s "$deb"
lintian --allow-root -I --pedantic "$deb" >"$TDIR/lintian.out" 2>&1 || true
sed 's/^/    lintian: /' "$TDIR/lintian.out"
assert_eq "lintian: no errors" 0 "$(grep -c '^E:' "$TDIR/lintian.out" || true)"
assert_eq "lintian: no warnings" 0 "$(grep -c '^W:' "$TDIR/lintian.out" || true)"

# ---------------------------------------------------------------- install
require "dpkg -i" dpkg -i "$deb"
# mode_of PATH: "MODE OWNER:GROUP"
mode_of() { stat -c '%a %U:%G' "$1"; }
assert_eq "/usr/bin/rampart" "755 root:root" "$(mode_of /usr/bin/rampart)"
check "the installed binary runs" /usr/bin/rampart version
assert_eq "/etc/rampart/rampart.yaml" "644 root:root" "$(mode_of /etc/rampart/rampart.yaml)"
check "rampart.yaml is a conffile" \
  grep -q '^ /etc/rampart/rampart.yaml ' <(dpkg-query -W -f='${Conffiles}\n' rampart)
check "the unit is installed" test -f /lib/systemd/system/rampart.service
check "rampart(8)" man -w 8 rampart
check "rampart.yaml(5)" man -w 5 rampart.yaml
passwd=$(getent passwd rampart)
check "user rampart is a system user with no login ($passwd)" \
  test "$(cut -d: -f3 <<<"$passwd")" -lt 1000 -a "$(cut -d: -f7 <<<"$passwd")" = /usr/sbin/nologin
check "group rampart" getent group rampart
assert_eq "/var/lib/rampart (data_dir)" "700 rampart:rampart" "$(mode_of /var/lib/rampart)"
assert_eq "/etc/rampart/api.token" "640 root:rampart" "$(mode_of /etc/rampart/api.token)"
token=$(cat /etc/rampart/api.token)
check "the token is 32 random bytes in hex" grep -Eq '^[0-9a-f]{64}$' <<<"$token"
check "the config names the token file" grep -q '^  token_file: /etc/rampart/api.token' /etc/rampart/rampart.yaml
check "the API listens on loopback only" grep -q '^  listen: 127.0.0.1:' /etc/rampart/rampart.yaml
check "rampart check accepts the shipped config" /usr/bin/rampart check -c /etc/rampart/rampart.yaml

# ---------------------------------------------------------------- the unit
verify_rc=0
systemd-analyze verify /lib/systemd/system/rampart.service >"$TDIR/verify.out" 2>&1 || verify_rc=$?
sed 's/^/    verify: /' "$TDIR/verify.out"
check "systemd-analyze verify: clean (exit $verify_rc, no output)" \
  test "$verify_rc" -eq 0 -a ! -s "$TDIR/verify.out"
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/rampart.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for rampart.service: \([0-9.]*\).*/\1/p')
echo "    systemd-analyze security: exposure $exposure"
check "systemd-analyze security: exposure $exposure is at most 3.5 (docs/operations.md)" \
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 3.5) }'
for key in "Type=notify" "ExecReload=/bin/kill -HUP \$MAINPID" "NoNewPrivileges=yes" \
  "ProtectSystem=strict" "ReadWritePaths=/var/lib/rampart" "WatchdogSec=" "LimitNOFILE="; do
  check "the unit sets $key" grep -q -F "$key" /lib/systemd/system/rampart.service
done

# ---------------------------------------------------------------- the installed edge serves
# In a namespace of its own (its loopback API cannot meet anything else's), as the unit runs it.
rpt_topology
EDGE_LOG=$TDIR/edge.log
ip netns exec "$NS_E" /usr/bin/rampart serve -c /etc/rampart/rampart.yaml >"$EDGE_LOG" 2>&1 &
EDGE_PID=$!
RPT_PIDS+=("$EDGE_PID")
# api_settled: the API answers (any status), or the edge has exited.
# shellcheck disable=SC2317  # called through wait_until
api_settled() {
  ! edge_alive || ip netns exec "$NS_E" curl -s -o /dev/null -m 2 http://127.0.0.1:8788/healthz
}
wait_until 20 api_settled || true
require "the installed edge runs with the shipped config" edge_alive
check "its API answers with the generated token" \
  ip netns exec "$NS_E" /usr/bin/rampart apps list --api http://127.0.0.1:8788 --token "$token"
# shellcheck disable=SC2317  # called through check
refused() {
  local out
  out=$(ip netns exec "$NS_E" /usr/bin/rampart apps list --api http://127.0.0.1:8788 \
    --token "$1" 2>&1) && return 1
  grep -q 'authentication error' <<<"$out"
}
check "a wrong token is refused (authentication error)" refused "wrong-token-wrong-token-0123456789"
check "its store is in /var/lib/rampart, owned by rampart (edge.user)" \
  test "$(stat -c %U /var/lib/rampart/rampart.db 2>/dev/null)" = rampart
# ---------------------------------------------------------------- upgrade (reinstall)
# With the edge running: postinst replaces it in place (`rampart upgrade --pid-file`). dpkg runs
# in the edge's namespace because `rampart upgrade` hears back on an abstract unix socket, which
# belongs to a network namespace.
old_pid=$EDGE_PID
echo "# changed by the administrator" >>/etc/rampart/rampart.yaml
echo "keep me" >/var/lib/rampart/marker
uid=$(id -u rampart)
out=$(ip netns exec "$NS_E" dpkg -i --force-confold "$deb" 2>&1) || { echo "$out"; false; }
check "dpkg -i again upgrades the running edge in place" \
  grep -q "running edge upgraded in place" <<<"$out"
new_pid=$(cat /run/rampart/rampart.pid 2>/dev/null || true)
check "the pid file names the new process ($new_pid, was $old_pid)" \
  bash -c "[[ -n '$new_pid' && '$new_pid' != '$old_pid' ]] && kill -0 '$new_pid'"
check "the new process answers the API with the token" \
  ip netns exec "$NS_E" /usr/bin/rampart apps list --api http://127.0.0.1:8788 --token "$token"
# shellcheck disable=SC2317  # called through wait_until
old_gone() { ! kill -0 "$old_pid" 2>/dev/null; }
check "the old process exits by itself (nothing to drain)" wait_until 40 old_gone
wait "$old_pid" 2>/dev/null || true
EDGE_PID=$new_pid
RPT_PIDS+=("$new_pid")
kill -TERM "$new_pid" 2>/dev/null || true
# shellcheck disable=SC2317  # called through wait_until
new_gone() { ! kill -0 "$new_pid" 2>/dev/null; }
check "the new process stops on SIGTERM" wait_until 40 new_gone
EDGE_PID=""
assert_eq "the token is kept across an upgrade" "$token" "$(cat /etc/rampart/api.token)"
check "the administrator's change to the conffile is kept" \
  grep -q '^# changed by the administrator' /etc/rampart/rampart.yaml
check "the data is kept" test -f /var/lib/rampart/marker
assert_eq "the user keeps its uid" "$uid" "$(id -u rampart)"

# ---------------------------------------------------------------- remove, purge
require "dpkg -r" dpkg -r rampart
check "dpkg -r removes the binary" test ! -e /usr/bin/rampart
check "dpkg -r removes the unit" test ! -e /lib/systemd/system/rampart.service
check "dpkg -r keeps the conffile" test -f /etc/rampart/rampart.yaml
check "dpkg -r keeps the token" test -f /etc/rampart/api.token
check "dpkg -r keeps the data" test -f /var/lib/rampart/marker
require "dpkg --purge" dpkg --purge rampart
check "purge removes /etc/rampart (conffile and token)" test ! -e /etc/rampart
check "purge removes /var/lib/rampart" test ! -e /var/lib/rampart
check "purge leaves no enablement or mask behind" \
  test ! -e /etc/systemd/system/rampart.service -a ! -e /etc/systemd/system/multi-user.target.wants/rampart.service
# shellcheck disable=SC2016
assert_eq "dpkg knows the package no more" "" \
  "$(dpkg-query -W -f='${db:Status-Status}' rampart 2>/dev/null || true)"
rpt_finish
