#!/usr/bin/env bash
# Installs the Debian packages Ploutos needs, only those that are missing.
# Sourced by demo.sh and test.sh; also runnable on its own.
set -euo pipefail

PLOUTOS_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread
  libeigen3-dev libcurl4-openssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev libhowardhinnant-date-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev libsqlitecpp-dev libsqlite3-dev zlib1g-dev
  chromium  # tests open report.html headless
)

ploutos_missing_packages() {
  local p
  for p in "${PLOUTOS_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "$p"
    fi
  done
}

ploutos_install_deps() {
  local missing
  missing=$(ploutos_missing_packages)
  if [ -z "$missing" ]; then
    echo "[deps] all ${#PLOUTOS_PACKAGES[@]} Debian packages already installed"
  else
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || { echo "[deps] error: not root and no sudo; install: $missing" >&2; return 1; }
      sudo="sudo"
    fi
    echo "[deps] installing:" $missing
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $missing
  fi
  ploutos_check_blas
}

# LibTorch from Debian calls libblas.so.3; the reference BLAS behind it is ~25x slower than OpenBLAS.
ploutos_check_blas() {
  local blas
  blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || readlink -f "$(ldconfig -p | awk '/libblas.so.3 /{print $NF; exit}')" 2>/dev/null || true)
  if [[ "$blas" == *openblas* ]]; then
    echo "[deps] libblas.so.3 -> $blas (OpenBLAS: good)"
  else
    cat >&2 <<MSG
[deps] ############################################################
[deps] WARNING: libblas.so.3 resolves to '${blas:-nothing}', not OpenBLAS.
[deps] LibTorch will run about 25x slower. Fix:
[deps]   apt-get install libopenblas0-pthread
[deps]   update-alternatives --config libblas.so.3-x86_64-linux-gnu
[deps] ############################################################
MSG
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ploutos_install_deps
fi
