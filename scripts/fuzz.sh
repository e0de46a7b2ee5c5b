#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in ./build-fuzz (clang-22,
# -DMEGALODON_FUZZ=ON) and runs each for a fixed time, one at a time.
#
#   scripts/fuzz.sh [SECONDS [TARGET...]]
#
# SECONDS per target defaults to 60; TARGETs default to all seven. Each run
# starts from the committed seeds in test/fuzz/<target>/ (never written to)
# plus the inputs earlier runs found, kept in build-fuzz/corpus/<target>/.
# Crashing inputs go to build-fuzz/crashes/<target>/, full logs to
# build-fuzz/logs/<target>.log. Extra libFuzzer flags can be passed in
# MEGALODON_FUZZ_FLAGS. Exits non-zero if any target crashed, leaked, hung or
# ran out of memory; a fixed crash's input belongs in a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(SafetensorsFuzzer ManifestFuzzer ConfigFuzzer TokenFileFuzzer
           DecodeStateFuzzer IRFuzzer TuningDatabaseFuzzer)
fi
build=build-fuzz

if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  linker=()
  command -v ld.lld >/dev/null && linker=(-DLLVM_USE_LINKER=lld)
  # -O1 -g without NDEBUG: assertions in this project and in the LLVM headers
  # (cast<>, ArrayRef bounds) stay on and turn misuse into a finding.
  cmake -S . -B "$build" "${generator[@]}" "${linker[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DMEGALODON_FUZZ=ON
fi
cmake --build "$build" --target megalodon-fuzzers -j "$(nproc)"

# Stack traces for UBSan reports; leak checking stays on (LeakSanitizer runs
# after each input under libFuzzer).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
read -r -a extra <<<"${MEGALODON_FUZZ_FLAGS:-}"

failed=()
summary=()
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  crashes=$build/crashes/$target
  log=$build/logs/$target.log
  mkdir -p "$corpus" "$crashes" "$build/logs"
  dict=()
  [ -f "test/fuzz/$target.dict" ] && dict=(-dict="test/fuzz/$target.dict")
  echo "== $target: ${seconds}s (log: $log)"
  status=0
  "$build/bin/$target" "$corpus" "test/fuzz/$target" "${dict[@]}" \
    -max_total_time="$seconds" -workers=1 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "${extra[@]}" \
    >"$log" 2>&1 || status=$?

  # The last status line carries the final coverage ("cov:" edges, "ft:"
  # features); the stats block the number of executions.
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" || echo 'cov: ?')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" || echo 'ft: ?')
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" |
         grep -oE '[0-9]+$' || echo '?')
  speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" |
          grep -oE '[0-9]+$' || echo '?')
  line="$target: $runs executions ($speed/s), $cov, $ft"
  if [ "$status" -ne 0 ]; then
    line="$line, FAILED (exit $status)"
    failed+=("$target")
    grep -E 'ERROR: |SUMMARY: |fuzz check failed|runtime error' "$log" |
      head -n 20 || true
    grep -E 'Test unit written' "$log" || true
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; inputs under $build/crashes/" >&2
  exit 1
fi
