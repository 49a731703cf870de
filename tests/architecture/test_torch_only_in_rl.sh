#!/usr/bin/env bash
# design.md: only the rl module's sources (src/rl/*.cpp and its private headers src/rl/*.hpp, which
# only those .cpp files include; agent/*.cpp where unavoidable) include LibTorch; no public header
# under include/ does.
set -euo pipefail
root=${1:?source root}
offenders=$(grep -rlE '#\s*include\s*[<"](torch|ATen|c10)/' "$root/src" "$root/include" "$root/tests" "$root/bench" 2>/dev/null \
  | grep -vE "^$root/src/(rl|agent)/[^/]+\.cpp$|^$root/src/rl/[^/]+\.hpp$|^$root/tests/rl/|^$root/bench/bench_rl" || true)
# A private rl header may be included only by rl sources and the rl tests.
leaks=$(grep -rlE '#\s*include\s*"(rl/)?(actor_critic|adam)\.hpp"' "$root/src" "$root/include" "$root/bench" 2>/dev/null \
  | grep -vE "^$root/src/rl/" || true)
if [ -n "$leaks" ]; then
  echo "rl's private LibTorch headers included outside src/rl:"; echo "$leaks"; exit 1
fi
if [ -n "$offenders" ]; then
  echo "LibTorch included outside the rl module:"; echo "$offenders"; exit 1
fi
echo "ok: LibTorch headers only in the rl module (src/rl)"
