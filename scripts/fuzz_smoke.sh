#!/usr/bin/env bash
# Fuzz smoke (`make fuzz`): every tests/fuzz/<name>_fuzz.cc target, built in BUILD_DIR, runs
# SECONDS on a scratch copy of tests/fuzz/corpus/<name>/ (the committed corpus is never
# modified), JOBS targets at a time. Logs and crash artifacts stay in BUILD_DIR.
#   scripts/fuzz_smoke.sh BUILD_DIR SECONDS [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/fuzz_smoke.sh BUILD_DIR SECONDS [JOBS]}
seconds=${2:?seconds per target}
jobs=${3:-2}

# fuzz_one TARGET: runs one target; writes its result line to BUILD_DIR/TARGET.result.
fuzz_one() {
  local target=$1 name=${1%_fuzz} work
  work=$(mktemp -d)
  if [[ -d tests/fuzz/corpus/$name ]]; then cp -a "tests/fuzz/corpus/$name/." "$work/"; fi
  if ASAN_OPTIONS=detect_leaks=1 "$dir/$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$dir/$target-" "$work" >"$dir/$target.log" 2>&1; then
    echo "PASS $target ($seconds s, corpus tests/fuzz/corpus/$name): $(grep -m1 -o \
      'stat::number_of_executed_units: *[0-9]*' "$dir/$target.log" || true)" >"$dir/$target.result"
  else
    echo "FAIL $target (log: $dir/$target.log)" >"$dir/$target.result"
  fi
  rm -rf "$work"
}
export -f fuzz_one
export dir seconds

shopt -s nullglob
targets=()
for src in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$src" .cc)"); done
rm -f "$dir"/*_fuzz.result
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one "$1"' _ {}

status=0
for target in "${targets[@]}"; do
  cat "$dir/$target.result"
  if grep -q '^FAIL' "$dir/$target.result"; then
    tail -n 40 "$dir/$target.log"
    status=1
  fi
done
echo "fuzz: ${#targets[@]} target(s) run"
exit $status
