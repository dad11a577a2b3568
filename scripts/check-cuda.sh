#!/usr/bin/env bash
# Proves the whole tree (library, tests, examples, benchmarks) compiles and links for CUDA sm_90
# with the CUDA build of Kokkos that scripts/setup.sh --cuda makes, and cuBLAS.
# Nothing runs: this machine has no GPU. The binaries in build/cuda run on a Hopper GPU.
#   scripts/check-cuda.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
prefix=${RWKV_DEPS_PREFIX:-/opt/rwkv-kokkos}
kokkos_cuda=$prefix/kokkos-cuda
[ -f "$kokkos_cuda/.rwkv-kokkos-stamp-kokkos-cuda" ] || ./scripts/setup.sh --no-apt --cuda
export PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH

t0=$SECONDS
cmake --preset cuda -DRWKV_DEPS_PREFIX="$prefix" -DKokkos_ROOT="$kokkos_cuda" \
      -DCMAKE_CXX_COMPILER="$kokkos_cuda/bin/nvcc_wrapper" >/dev/null
cmake --build --preset cuda
echo "[cuda] the whole tree compiles and links for CUDA sm_90 ($((SECONDS - t0)) s)"
