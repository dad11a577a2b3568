#!/usr/bin/env bash
# The main job in one command: install what is missing, build, train a small byte-level RWKV-4 on
# the King James Bible for a few minutes with a progress line, print a short greedy sample, and
# end with the validation bits per byte against the corpus' unigram baseline. --arch v7 trains the
# same size of RWKV-7 instead (into build/demo/kjv-v7.h5).
#   scripts/demo.sh [extra rwkv-train options, e.g. --arch v7 or --steps 200]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
prefix=${RWKV_DEPS_PREFIX:-/opt/rwkv-kokkos}
# Pin OpenMP threads (Kokkos and OpenBLAS share them); also what Kokkos advises at start-up.
export OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}

./scripts/setup.sh
cmake --preset openmp >/dev/null
cmake --build --preset openmp --target rwkv-train

arch=v4
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
  [ "${args[i]}" = --arch ] && arch=${args[i + 1]}
done
out=$root/build/demo
name=kjv$([ "$arch" = v4 ] || echo "-$arch")
mkdir -p "$out"
./build/openmp/examples/rwkv-train --config scripts/demo.ini --data "$prefix/data/kjv.txt" \
  --save "$out/$name.h5" --sample 160 --prompt "And God said" "$@" | tee "$out/$name.log"

val=$(sed -n 's/^rwkv-train: validation: \([0-9.]*\) bits per token.*/\1/p' "$out/$name.log")
unigram=$(sed -n 's/^rwkv-train: unigram baseline: \([0-9.]*\) bits per token.*/\1/p' "$out/$name.log")
[ -n "$val" ] && [ -n "$unigram" ] || { echo "demo: rwkv-train did not report validation figures" >&2; exit 1; }
printf 'validation: %.3f bits per byte (unigram baseline %.3f)\n' "$val" "$unigram"
