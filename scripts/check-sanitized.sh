#!/usr/bin/env bash
# Builds the project with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DMEGALODON_SANITIZE=ON) in ./build-asan and runs the test suite there
# (GoogleTest + lit, via CTest).
#
#   scripts/check-sanitized.sh [CTEST_ARGS...]
#
# Arguments go to ctest, e.g. -R '^lit$' to run part of the suite.
# MEGALODON_SANITIZE_TARGETS (space separated) builds only those targets
# instead of everything; the tests of executables left unbuilt then show up
# as *_NOT_BUILT, which -E NOT_BUILT skips:
#
#   MEGALODON_SANITIZE_TARGETS="RuntimeTests megalodon-opt megalodon-run" \
#     scripts/check-sanitized.sh -E NOT_BUILT
#
# Any sanitizer report fails the test that triggered it: UBSan reports are
# fatal (-fno-sanitize-recover) and every report aborts the process. Code the
# compiler emits at run time (artifacts loaded with dlopen) is not
# instrumented.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan

if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  linker=()
  command -v ld.lld >/dev/null && linker=(-DLLVM_USE_LINKER=lld)
  # RelWithDebInfo: NDEBUG like the normal Release build, so that the code
  # paths under test are the shipped ones, plus line numbers in reports.
  cmake -S . -B "$build" "${generator[@]}" "${linker[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMEGALODON_SANITIZE=ON
fi
targets=()
for t in ${MEGALODON_SANITIZE_TARGETS:-}; do
  targets+=(--target "$t")
done
cmake --build "$build" "${targets[@]}" -j "$(nproc)"

# LeakSanitizer needs ptrace-like access that some containers deny; probe
# it once and turn leak checking off (with a note) when it cannot run.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'int main() { return 0; }\n' >"$probe_dir/probe.c"
leaks=1
if ! clang-22 -fsanitize=address "$probe_dir/probe.c" -o "$probe_dir/probe" ||
   ! ASAN_OPTIONS=detect_leaks=1 "$probe_dir/probe" >/dev/null 2>&1; then
  echo "check-sanitized: LeakSanitizer unusable here; leak checking off" >&2
  leaks=0
fi
# abort_on_error: a report then kills the process with SIGABRT instead of
# exiting with status 1, which a lit test expecting a tool to fail
# (`not megalodon-opt ...`) would otherwise take for the expected failure.
# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons the free part of
# its slabs when the code that inlines it is instrumented. Ours is, the
# LLVM/MLIR libraries are not, and both allocate from the same slabs (the
# MLIRContext's storage allocator, e.g. for a dialect attribute); the
# libraries would then hand out memory our copy poisoned, a false report.
# Heap, stack and global checks are unaffected.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=$leaks:abort_on_error=1:allow_user_poisoning=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:abort_on_error=1}

ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
