#!/usr/bin/env bash
# Builds llama.cpp's CPU tools (llama-bench, llama-completion, llama-simple, llama-quantize)
# from the llama.cpp source that the npm package `node-llama-cpp` ships as a git bundle
# (package/llama/gitRelease.bundle). Needs only npm, git, cmake and a C++ compiler
# (Debian: apt-get install -y cmake git clang-16, or g++). Nothing is written inside the repository.
#
# Usage: build-llama-cpp.sh [WORKDIR] [NODE_LLAMA_CPP_VERSION]
#   WORKDIR defaults to /work/llama-baseline, the version to 3.22.1.
#   JOBS (env) sets the parallel build jobs (default: nproc).
#   CC / CXX (env) choose the compiler; default clang-16 / clang++-16 where installed, else cc / c++.
#   LLAMA_AMX (env): 1 keeps Intel AMX where -march=native enables it, 0 removes it. Default: 1 with
#   clang, 0 with GCC. GCC 12's _tile_loadconfig tells the compiler that it reads only 8 bytes of the
#   tile configuration, so the stores that fill it are dropped and ggml's first tile instruction
#   (tilezero) dies with SIGILL; clang's intrinsic is a builtin and works (measured here: clang-16 with
#   AMX decodes TinyLlama Q4_0 at 30-36 tok/s where the GCC 12 build without AMX gets 17-18).
# Binaries end up in WORKDIR/build/bin/.
set -euo pipefail

WORKDIR="${1:-/work/llama-baseline}"
VERSION="${2:-3.22.1}"
JOBS="${JOBS:-$(nproc)}"
TARGETS=(llama-bench llama-completion llama-simple llama-quantize)

mkdir -p "$WORKDIR"
cd "$WORKDIR"

# 1. The npm tarball (registry only; no install scripts run, nothing downloaded from elsewhere).
TARBALL="node-llama-cpp-${VERSION}.tgz"
if [ ! -f "$TARBALL" ]; then
  npm pack "node-llama-cpp@${VERSION}" >/dev/null
fi
rm -rf package
tar xzf "$TARBALL"
echo "llama.cpp release per node-llama-cpp: $(tr -d '\n ' < package/llama/llama.cpp.info.json)"

# 2. The llama.cpp source: a git bundle inside the package.
if [ ! -d llama.cpp/.git ]; then
  git clone --quiet package/llama/gitRelease.bundle llama.cpp
fi
echo "llama.cpp commit: $(git -C llama.cpp rev-parse HEAD)"

# 3. Configure: CPU only, Release, tuned for this CPU, no HTTPS/network features, static libs.
if [ -z "${CC:-}" ] && command -v clang-16 >/dev/null 2>&1 && command -v clang++-16 >/dev/null 2>&1; then
  export CC=clang-16 CXX=clang++-16
fi
CC="${CC:-cc}"; CXX="${CXX:-c++}"
case "$("$CC" --version | head -1)" in
  *clang*) AMX_DEFAULT=1 ;;
  *) AMX_DEFAULT=0 ;;
esac
NO_AMX=""
if [ "${LLAMA_AMX:-$AMX_DEFAULT}" != "1" ]; then
  NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
echo "compilers: $CC / $CXX; AMX: ${NO_AMX:+off}${NO_AMX:-on}"
cmake -S llama.cpp -B build \
  -DCMAKE_C_COMPILER="$CC" \
  -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$NO_AMX" \
  -DCMAKE_CXX_FLAGS="$NO_AMX" \
  -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON \
  -DGGML_CPU=ON \
  -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_UI=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF

# 4. Build only the tools we use.
time cmake --build build --config Release -j "$JOBS" --target "${TARGETS[@]}"

for t in "${TARGETS[@]}"; do
  ls -l "build/bin/$t"
done
