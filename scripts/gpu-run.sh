#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and the CUDA toolkit, from a clean checkout: builds the
# dependencies (scripts/setup.sh --cuda), builds the cuda and openmp presets, runs the whole ctest
# on the GPU, then rwkv-bench on the GPU and on the host CPUs, and plots the two side by side.
#   scripts/gpu-run.sh [--no-setup] [--quick] [OUT_DIR]
#   --no-setup  skip scripts/setup.sh (the prefix is already built)
#   --quick     rwkv-bench --quick (smaller sizes) instead of the full run
# OUT_DIR (default gpu-run-<host>-<date>) receives nvidia-smi.txt, ctest-cuda.log,
# rwkv-bench-cuda.{json,txt}, rwkv-bench-openmp.{json,txt} and rwkv-bench.png. Compare machines by
# plotting their JSON files together: /usr/bin/python3 scripts/plot-bench.py A/*.json B/*.json -o all.png
# CUDA_HOME (default /usr/local/cuda) and RWKV_DEPS_PREFIX (default /opt/rwkv-kokkos) are honoured.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

run_setup=1
bench_args=()
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-setup) run_setup=0; shift ;;
    --quick) bench_args+=(--quick); shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gpu-run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done

say() { printf '[gpu-run] %s\n' "$*"; }
die() { printf '[gpu-run] error: %s\n' "$*" >&2; exit 1; }

cuda_home=${CUDA_HOME:-/usr/local/cuda}
prefix=${RWKV_DEPS_PREFIX:-/opt/rwkv-kokkos}
command -v nvidia-smi >/dev/null || die "no nvidia-smi: this script needs a machine with an NVIDIA GPU and its driver"
nvidia-smi -L >/dev/null 2>&1 || die "nvidia-smi finds no GPU (driver not loaded?)"
[ -x "$cuda_home/bin/nvcc" ] || die "no nvcc in $cuda_home/bin: install the CUDA toolkit or set CUDA_HOME"
export CUDA_HOME=$cuda_home
export PATH=$cuda_home/bin:$PATH

out=${out:-gpu-run-$(hostname -s)-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv >"$out/nvidia-smi.txt"
say "GPU: $(sed -n 2p "$out/nvidia-smi.txt"); results in $out"

if [ $run_setup -eq 1 ]; then
  say "scripts/setup.sh --cuda (skips what is already built)"
  ./scripts/setup.sh --prefix "$prefix" --cuda
fi

kokkos_cuda=$prefix/kokkos-cuda
[ -f "$kokkos_cuda/.rwkv-kokkos-stamp-kokkos-cuda" ] ||
  die "$kokkos_cuda has no CUDA Kokkos: run scripts/setup.sh --cuda (or drop --no-setup)"

say "building preset cuda"
cmake --preset cuda -DRWKV_DEPS_PREFIX="$prefix" -DKokkos_ROOT="$kokkos_cuda" \
      -DCMAKE_CXX_COMPILER="$kokkos_cuda/bin/nvcc_wrapper" >/dev/null
cmake --build --preset cuda -j "$(nproc)"
say "building preset openmp (the host run to compare with)"
cmake --preset openmp -DRWKV_DEPS_PREFIX="$prefix" >/dev/null
cmake --build --preset openmp -j "$(nproc)"

say "ctest on the GPU (log: $out/ctest-cuda.log)"
if ! ctest --test-dir build/cuda --output-on-failure >"$out/ctest-cuda.log" 2>&1; then
  tail -n 30 "$out/ctest-cuda.log" >&2
  die "tests failed on the GPU: see $out/ctest-cuda.log (benchmarks not run)"
fi
tail -n 3 "$out/ctest-cuda.log"

say "rwkv-bench on the GPU"
build/cuda/benchmarks/rwkv-bench "${bench_args[@]}" --json "$out/rwkv-bench-cuda.json" | tee "$out/rwkv-bench-cuda.txt"
say "rwkv-bench on the host"
OMP_PROC_BIND=spread OMP_PLACES=threads \
  build/openmp/benchmarks/rwkv-bench "${bench_args[@]}" --json "$out/rwkv-bench-openmp.json" | tee "$out/rwkv-bench-openmp.txt"

if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  /usr/bin/python3 scripts/plot-bench.py "$out/rwkv-bench-cuda.json" "$out/rwkv-bench-openmp.json" -o "$out/rwkv-bench.png"
else
  say "no matplotlib for /usr/bin/python3 (apt-get install python3-matplotlib): plot skipped; the JSON files are in $out"
fi
say "done: $out"
