#!/usr/bin/env bash
# Training throughput of rwkv-kokkos against its FLOP floor and against our plain-PyTorch reference
# of the same version (benchmarks/pytorch), both measured in this run, for two shapes each:
#   v4: L6-D512 V256 ctx 256 batch 8, and the 169M shape L12-D768 V50277 ctx 256 batch 4;
#   v7: L6-D512 V256 ctx 256 batch 8, and the 0.1B shape L12-D768 V65536 ctx 256 batch 4, heads of
#       64 and the LoRA ranks RWKV-LM suggests for both widths (64/64/32/128), which bench_train takes
#       by default.
#   benchmarks/train_vs_pytorch.sh [--arch v4|v7] [--threads N] [--steps N]
# Prints the JSON lines of every run, then a summary table. Needs Debian's python3-torch
# (installed here if missing) and a built tree (cmake --build --preset openmp).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
threads=$(nproc)
steps=3
arch=v4
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    *) echo "train_vs_pytorch.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "[bench] installing Debian's python3-torch (CPU PyTorch, the reference)"
  apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
bench=build/openmp/benchmarks/bench_train
[ -x "$bench" ] || cmake --build --preset openmp --target bench_train

case "$arch" in
  v4) reference=benchmarks/pytorch/rwkv4_reference.py ;;
  v7) reference=benchmarks/pytorch/rwkv7_reference.py ;;
  *) echo "train_vs_pytorch.sh: --arch must be v4 or v7, got '$arch'" >&2; exit 2 ;;
esac
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run_shape() {  # name, the PyTorch reference's own flags in one word, then the shape flags of both
  local name=$1 reference_flags=$2
  shift 2
  echo "[bench] $name: rwkv-kokkos"
  OMP_PROC_BIND=spread OMP_PLACES=threads "$bench" --arch "$arch" "$@" --threads "$threads" --steps "$steps" \
    --warmup 1 | sed "s/^{/{\"shape\":\"$name\",/" | tee -a "$out"
  echo "[bench] $name: pytorch"
  # shellcheck disable=SC2086
  /usr/bin/python3 "$reference" bench "$@" $reference_flags --threads "$threads" --steps "$steps" --warmup 1 |
    sed "s/^{/{\"shape\":\"$name\",/" | tee -a "$out"
}
if [ "$arch" = v4 ]; then
  run_shape L6-D512 "" --n-layer 6 --n-embd 512 --vocab 256 --ctx-len 256 --batch 8
  run_shape 169M "" --n-layer 12 --n-embd 768 --vocab 50277 --ctx-len 256 --batch 4
else
  run_shape L6-D512 "--head-size 64 --ranks 64,64,32,128" --n-layer 6 --n-embd 512 --vocab 256 --ctx-len 256 --batch 8
  run_shape 0.1B "--head-size 64 --ranks 64,64,32,128" --n-layer 12 --n-embd 768 --vocab 65536 --ctx-len 256 --batch 4
fi

/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(f"{'shape':8} {'rwkv-kokkos tok/s':>18} {'floor tok/s':>12} {'of floor':>9} {'pytorch tok/s':>14} {'ratio':>6}")
for shape in dict.fromkeys(r["shape"] for r in rows):
    ours = next(r for r in rows if r["shape"] == shape and r["impl"] == "rwkv-kokkos")
    ref = next(r for r in rows if r["shape"] == shape and r["impl"] == "pytorch")
    print(f"{shape:8} {ours['tokens_per_s']:18.1f} {ours['floor_tokens_per_s']:12.1f} "
          f"{ours['fraction_of_floor']:9.1%} {ref['tokens_per_s']:14.1f} {ours['tokens_per_s'] / ref['tokens_per_s']:5.2f}x")
print(f"floor: 6 x non-embedding parameters per token at the best sgemm rate of this run "
      f"({rows[0]['sgemm_ceiling_gflops']:.0f} GFLOP/s)")
PY
