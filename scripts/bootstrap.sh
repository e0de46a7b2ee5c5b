#!/usr/bin/env bash
# Installs what megalodon needs to build and test (Debian 12 packages) and
# configures + builds the project in ./build. Quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Open MPI: multi-process training (train --dp/--cp under mpirun) and its
# tests; the build works without it, single-process only.
packages=(cmake ninja-build g++ clang-22 lld llvm-22-dev llvm-22-tools
          libmlir-22-dev mlir-22-tools libomp-22-dev libgtest-dev
          openmpi-bin libopenmpi-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# clang-22 + lld build this project faster than g++; both work.
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld
fi
cmake --build build -j "$(nproc)"
