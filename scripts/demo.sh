#!/usr/bin/env bash
# The main job in one command: install what is missing, build, train a small byte-level RWKV-4 on
# the King James Bible for a few minutes with a progress line, print a short greedy sample, and
# end with the validation bits per byte against the corpus' unigram baseline.
#   scripts/demo.sh [extra rwkv-train options, e.g. --steps 200]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
prefix=${RWKV_DEPS_PREFIX:-/opt/rwkv-kokkos}
# Pin OpenMP threads (Kokkos and OpenBLAS share them); also what Kokkos advises at start-up.
export OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}

./scripts/setup.sh
cmake --preset openmp >/dev/null
cmake --build --preset openmp --target rwkv-train

out=$root/build/demo
mkdir -p "$out"
./build/openmp/examples/rwkv-train --config scripts/demo.ini --data "$prefix/data/kjv.txt" \
  --save "$out/kjv.h5" --sample 160 --prompt "And God said" "$@" | tee "$out/train.txt"

val=$(sed -n 's/^rwkv-train: validation: \([0-9.]*\) bits per token.*/\1/p' "$out/train.txt")
unigram=$(sed -n 's/^rwkv-train: unigram baseline: \([0-9.]*\) bits per token.*/\1/p' "$out/train.txt")
[ -n "$val" ] && [ -n "$unigram" ] || { echo "demo: rwkv-train did not report validation figures" >&2; exit 1; }
printf 'validation: %.3f bits per byte (unigram baseline %.3f)\n' "$val" "$unigram"
