#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh (or the ones named as arguments), each under a timeout,
# and ends with the line `N passed, N failed`. Exits non-zero if any failed.
#   RAMPART_BIN   binary under test (default build/rampart)
#   TEST_TIMEOUT  seconds per test (default 150)
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
export RAMPART_BIN=${RAMPART_BIN:-$root/build/rampart}
timeout_s=${TEST_TIMEOUT:-150}

if [[ $(id -u) -ne 0 ]]; then
  echo "integration tests need root (network namespaces)" >&2
  exit 1
fi

if (($# > 0)); then
  tests=()
  for t in "$@"; do tests+=("$(basename "${t%.sh}").sh"); done
else
  mapfile -t tests < <(find . -maxdepth 1 -name 'test_*.sh' -printf '%f\n' | sort)
fi

logdir=$(mktemp -d /tmp/rampart-integration.XXXXXX)
passed=0
failed=0
failed_names=()
echo "integration: ${#tests[@]} test(s), binary $RAMPART_BIN, logs in $logdir"
for t in "${tests[@]}"; do
  name=${t%.sh}
  start=$SECONDS
  export RPT_NS_FILE=$logdir/$name.namespaces
  : >"$RPT_NS_FILE"
  set +e
  timeout --kill-after=10 "$timeout_s" bash "$here/$t" </dev/null >"$logdir/$name.log" 2>&1
  rc=$?
  set -e
  # A test killed by the timeout could not run its trap: remove what it left behind.
  while read -r ns; do
    if ip netns list | grep -qw "^$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
      echo "  (cleaned up namespace $ns left by $name)"
    fi
  done <"$RPT_NS_FILE"
  took=$((SECONDS - start))
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "PASS $name (${took}s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    why="exit $rc"
    ((rc == 124 || rc == 137)) && why="timed out after ${timeout_s}s"
    echo "FAIL $name (${took}s, $why)"
    sed 's/^/    | /' "$logdir/$name.log" | tail -n 60
  fi
done
if ((failed > 0)); then
  echo "failed: ${failed_names[*]} (full logs in $logdir)"
else
  rm -rf "$logdir"
fi
echo "$passed passed, $failed failed"
((failed == 0))
