#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh (or the ones named as arguments), each under a timeout,
# and ends with the line `N passed, N failed`. Exits non-zero if any failed.
#   RAMPART_BIN        binary under test (default build/rampart)
#   TEST_TIMEOUT       seconds per test (default 150)
#   INTEGRATION_JOBS   how many tests tagged `# integration: parallel` run at once (default 2)
# A test tagged `# integration: parallel` (in its first lines) lives in its own namespaces,
# measures no latency, rate or CPU figure and bounds every wait generously: those run first, two
# at a time (they mostly wait on processes and timers). Every other test runs alone afterwards,
# with the machine to itself, because its figures depend on it.
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
jobs=${INTEGRATION_JOBS:-2}
passed=0
failed=0
failed_names=()
echo "integration: ${#tests[@]} test(s), binary $RAMPART_BIN, logs in $logdir"

# run_one NAME: runs test NAME, cleans up what a timeout left, writes its exit code and time.
run_one() {
  local name=$1 start=$SECONDS rc
  export RPT_NS_FILE=$logdir/$name.namespaces
  : >"$RPT_NS_FILE"
  set +e
  timeout --kill-after=10 "$timeout_s" bash "$here/$name.sh" </dev/null >"$logdir/$name.log" 2>&1
  rc=$?
  set -e
  # A test killed by the timeout could not run its trap: remove what it left behind.
  while read -r ns; do
    if ip netns list | grep -qw "^$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
      echo "  (cleaned up namespace $ns left by $name)" >>"$logdir/$name.cleanup"
    fi
  done <"$RPT_NS_FILE"
  echo "$rc $((SECONDS - start))" >"$logdir/$name.rc"
}

# report NAME: prints the result of a finished test.
report() {
  local name=$1 rc took why
  read -r rc took <"$logdir/$name.rc"
  [[ -f $logdir/$name.cleanup ]] && cat "$logdir/$name.cleanup"
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
}

parallel=()
alone=()
for t in "${tests[@]}"; do
  if head -n 12 "$here/$t" | grep -q '^# integration: parallel'; then
    parallel+=("${t%.sh}")
  else
    alone+=("${t%.sh}")
  fi
done

# The parallel ones, `jobs` at a time; each reported as it ends.
declare -A running=()
for name in "${parallel[@]}"; do
  while ((${#running[@]} >= jobs)); do
    wait -n || true
    for n in "${!running[@]}"; do
      if [[ -f $logdir/$n.rc ]]; then
        report "$n"
        unset "running[$n]"
      fi
    done
  done
  run_one "$name" &
  running[$name]=$!
done
wait
for n in "${!running[@]}"; do report "$n"; done

for name in "${alone[@]}"; do
  run_one "$name"
  report "$name"
done
if ((failed > 0)); then
  echo "failed: ${failed_names[*]} (full logs in $logdir)"
else
  rm -rf "$logdir"
fi
echo "$passed passed, $failed failed"
((failed == 0))
