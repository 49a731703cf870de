#!/usr/bin/env bash
# design.md: only src/rl/*.cpp (and agent/*.cpp where unavoidable) include LibTorch; no header does.
set -euo pipefail
root=${1:?source root}
offenders=$(grep -rlE '#\s*include\s*[<"](torch|ATen|c10)/' "$root/src" "$root/include" "$root/tests" "$root/bench" 2>/dev/null \
  | grep -vE "^$root/src/(rl|agent)/[^/]+\.cpp$|^$root/tests/rl/|^$root/bench/bench_rl" || true)
if [ -n "$offenders" ]; then
  echo "LibTorch included outside src/rl/*.cpp:"; echo "$offenders"; exit 1
fi
echo "ok: LibTorch headers only in src/rl/*.cpp"
