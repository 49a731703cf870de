# Shared by demo.sh, test.sh and sanitize.sh: install missing Debian packages, configure and build.
set -euo pipefail
PLOUTOS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deps.sh
source "$PLOUTOS_ROOT/scripts/deps.sh"

# ploutos_build [DIR [CMAKE_ARGS...]]: configure DIR (default build/, Release) when it has no cache
# yet or when CMAKE_ARGS are given, then build it.
ploutos_build() {
  local build_dir="${1:-$PLOUTOS_ROOT/build}"
  [ $# -gt 0 ] && shift
  local jobs
  jobs=$(nproc 2>/dev/null || echo 2)
  ploutos_install_deps
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [ $# -gt 0 ]; then
    cmake -S "$PLOUTOS_ROOT" -B "$build_dir" "${generator[@]}" "$@"
  elif [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$PLOUTOS_ROOT" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
  fi
  local start=$SECONDS
  cmake --build "$build_dir" -j "$jobs"
  echo "[build] done in $((SECONDS - start)) s -> $build_dir"
}
