#!/usr/bin/env bash
# Runs every unit test binary of a build tree (BUILD_DIR/rampart_*_tests) whole, JOBS at a time,
# the largest first, and ends with `N binaries passed, N failed`. `make unit` uses it instead of
# ctest: ctest (gtest_discover_tests) starts one process per test, and ~750 sanitizer process
# starts cost about twice the tests' own time on CI's 2 cores. `ctest -R NAME` in the tree still
# runs single tests while working on them.
#   scripts/unit_tests.sh BUILD_DIR [JOBS]
# Each binary's output is kept in BUILD_DIR/unit-logs/; a failing one's failed tests and its last
# lines are printed. A binary gets UNIT_TIMEOUT seconds (default 600).
set -euo pipefail
dir=${1:?usage: scripts/unit_tests.sh BUILD_DIR [JOBS]}
jobs=${2:-2}
timeout_s=${UNIT_TIMEOUT:-600}
logs=$dir/unit-logs
rm -rf "$logs"
mkdir -p "$logs"

mapfile -t bins < <(find "$dir" -maxdepth 1 -type f -name 'rampart_*_tests' -perm -u+x -printf '%s %f\n' |
  sort -rn | cut -d' ' -f2)
if ((${#bins[@]} == 0)); then
  echo "no unit test binaries in $dir" >&2
  exit 1
fi

# run_one NAME: runs one binary, writes "rc seconds" to its .rc file.
run_one() {
  local name=$1 start=$SECONDS rc=0
  (cd "$dir" && timeout --kill-after=10 "$timeout_s" "./$name") >"$logs/$name.log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - start))" >"$logs/$name.rc"
}
export -f run_one
export dir logs timeout_s

printf '%s\n' "${bins[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}

passed=0 failed=0 tests=0
for name in "${bins[@]}"; do
  read -r rc took <"$logs/$name.rc"
  n=$(grep -m1 -oE '^\[==========\] [0-9]+ tests? from [0-9]+ test suites? ran' "$logs/$name.log" |
    awk '{print $2}' || true)
  tests=$((tests + ${n:-0}))
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "PASS $name (${n:-?} tests, ${took}s)"
  else
    failed=$((failed + 1))
    why="exit $rc"
    ((rc == 124 || rc == 137)) && why="timed out after ${timeout_s}s"
    echo "FAIL $name (${took}s, $why; log $logs/$name.log)"
    grep -E '^\[  FAILED  \]' "$logs/$name.log" | sort -u | sed 's/^/    /' || true
    tail -n 80 "$logs/$name.log" | sed 's/^/    | /'
  fi
done
echo "unit: $tests tests in $((passed + failed)) binaries: $passed binaries passed, $failed failed"
((failed == 0))
