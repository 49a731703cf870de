#!/usr/bin/env bash
# Install what is missing, build Release into build/, run the whole test suite.
source "$(dirname "$0")/common.sh"
ploutos_build
cd "$PLOUTOS_ROOT/build"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "$@"
