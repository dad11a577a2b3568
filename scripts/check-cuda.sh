#!/usr/bin/env bash
# Proves the library and the programs (examples/) compile and link for CUDA sm_90 with the CUDA
# build of Kokkos that scripts/setup.sh --cuda makes, and cuBLAS: every kernel's device code is
# in the library, explicitly instantiated. --whole-tree also builds the tests and benchmarks,
# which scripts/gpu-run.sh builds and runs on a GPU (they take about half of a whole-tree build,
# so the default check in scripts/test.sh leaves them to that).
# Nothing runs: this machine has no GPU. The check builds in build/cuda-check with the host code
# unoptimized (-O0 compiles faster), which changes nothing it proves: nvcc still compiles and
# optimizes the device code. scripts/gpu-run.sh builds the optimized binaries in build/cuda on a
# GPU machine.
#   scripts/check-cuda.sh [--whole-tree]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
targets=(rwkv examples/all)
what="the library and the programs"
case "${1:-}" in
  "") ;;
  --whole-tree) targets=(all); what="the whole tree" ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "check-cuda.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac
prefix=${RWKV_DEPS_PREFIX:-/opt/rwkv-kokkos}
kokkos_cuda=$prefix/kokkos-cuda
[ -f "$kokkos_cuda/.rwkv-kokkos-stamp-kokkos-cuda" ] || ./scripts/setup.sh --no-apt --cuda
export PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH

t0=$SECONDS
build=build/cuda-check
cmake --preset cuda -B "$build" -DRWKV_DEPS_PREFIX="$prefix" -DKokkos_ROOT="$kokkos_cuda" \
      -DCMAKE_CXX_COMPILER="$kokkos_cuda/bin/nvcc_wrapper" -DCMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG" >/dev/null
cmake --build "$build" --target "${targets[@]}"
echo "[cuda] $what compile and link for CUDA sm_90 ($((SECONDS - t0)) s)"
