#!/usr/bin/env bash
# A checking build and test run under the sanitizers (docs/development.md, "Sanitizer builds"):
#   scripts/sanitize.sh asan [ctest args]   AddressSanitizer + UndefinedBehaviorSanitizer, build-asan/
#   scripts/sanitize.sh tsan [ctest args]   ThreadSanitizer, build-tsan/
# Not part of .ci/run: a sanitizer build of everything takes ~15 minutes on 2 cores.
source "$(dirname "$0")/common.sh"

kind=${1:-}
case "$kind" in
  # float-cast-overflow is not in GCC's `undefined`: a NaN or huge quantity cast to an integer.
  asan) sanitizers=address,undefined,float-cast-overflow ;;
  tsan) sanitizers=thread ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest args]" >&2
    exit 2
    ;;
esac
shift

build_dir="$PLOUTOS_ROOT/build-$kind"
# The benchmarks stay out: they would measure the instrumentation.
ploutos_build "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLOUTOS_SANITIZE="$sanitizers" -DPLOUTOS_BUILD_BENCH=OFF

# A report ends the program with a failing exit code, so the test that ran it fails.
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"
# tests/tsan.supp: reports from uninstrumented libraries whose synchronisation it cannot see.
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:suppressions=$PLOUTOS_ROOT/tests/tsan.supp:${TSAN_OPTIONS:-}"
cd "$build_dir"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "$@"
