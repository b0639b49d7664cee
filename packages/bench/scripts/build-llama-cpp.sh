#!/usr/bin/env bash
# Builds llama.cpp's CPU tools (llama-bench, llama-completion, llama-simple, llama-quantize)
# from the llama.cpp source that the npm package `node-llama-cpp` ships as a git bundle
# (package/llama/gitRelease.bundle). Needs only npm, git, cmake and a C++ compiler
# (Debian: apt-get install -y cmake g++ git). Nothing is written inside the repository.
#
# Usage: build-llama-cpp.sh [WORKDIR] [NODE_LLAMA_CPP_VERSION]
#   WORKDIR defaults to /work/llama-baseline, the version to 3.22.1.
#   JOBS (env) sets the parallel build jobs (default: nproc).
#   LLAMA_AMX=1 (env) keeps Intel AMX when -march=native enables it. Default: off, because ggml's AMX
#   path dies with SIGILL (tilezero in a worker thread) on this project's VMs although CPUID reports
#   AMX (known upstream: ggml-org/llama.cpp PR #26954); AVX-512/VNNI stay on.
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
NO_AMX=""
if [ "${LLAMA_AMX:-0}" != "1" ]; then
  NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
cmake -S llama.cpp -B build \
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
