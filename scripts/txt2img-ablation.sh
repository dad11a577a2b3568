#!/usr/bin/env bash
# The txt2img ablation table: the same model, data, seed and number of steps, with one switch
# changed a row: position channels off, plain rounding instead of RandRound, soft targets on. Each
# row gives the held-out bits per image token (caption first, nearest-rounded targets: the same
# measure for every row), per sub-pixel, and the captions' bits per byte given their image.
#   scripts/txt2img-ablation.sh [--steps N] [--out DIR] [-- extra rwkv-train options]
# Needs the built programs (cmake --build --preset openmp) and the Twemoji set
# (scripts/fetch-twemoji.sh, then rwkv-image-data; scripts/txt2img-demo.sh does both).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
steps=1500
out=$root/build/txt2img-ablation
data=$root/build/twemoji/twemoji.h5
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "txt2img-ablation: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$data" ] || { echo "txt2img-ablation: $data: no such data set (run scripts/txt2img-demo.sh first)" >&2; exit 1; }
export OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}
train=$root/build/openmp/examples/rwkv-train
mkdir -p "$out"
base=(--task txt2img --data "$data" --n-layer 2 --n-embd 128 --micro-batch 4 --caption-bytes 80 --lr-init 2e-3
  --lr-final 1e-4 --warmup-steps 50 --val-every 0 --seed 7 --steps "$steps")
names=(baseline no-positions plain-rounding soft-targets)
switches=("" "--image-positions false" "--rounding nearest" "--soft-targets")
table=$out/ablation.md
{
  echo "| run | switch | bits per image token | bits per sub-pixel | caption bits per byte | minutes |"
  echo "| --- | --- | ---: | ---: | ---: | ---: |"
} >"$table.tmp"
for i in "${!names[@]}"; do
  name=${names[$i]}
  echo "txt2img-ablation: $name (${switches[$i]:-defaults}), $steps steps"
  start=$SECONDS
  # shellcheck disable=SC2086  # the switch is split into option and value on purpose
  "$train" "${base[@]}" ${switches[$i]} --save "$out/$name.h5" "$@" | tee "$out/$name.txt"
  minutes=$(( (SECONDS - start + 30) / 60 ))
  image=$(sed -n 's/.*caption first): \([0-9.]*\) bits per image token (\([0-9.]*\) per sub-pixel).*/\1 | \2/p' "$out/$name.txt")
  caption=$(sed -n 's/.*captions given their image: \([0-9.]*\) bits per byte.*/\1/p' "$out/$name.txt")
  [ -n "$image" ] && [ -n "$caption" ] || { echo "txt2img-ablation: $name reported no held-out figures" >&2; exit 1; }
  echo "| $name | ${switches[$i]:-(positions on, RandRound, hard targets)} | $image | $caption | $minutes |" >>"$table.tmp"
done
unigram=$(sed -n 's/.*unigram baseline: \([0-9.]*\) bits per image token.*/\1/p' "$out/baseline.txt")
echo "| unigram baseline | pixel-token frequencies of the training images | $unigram | - | - | - |" >>"$table.tmp"
mv "$table.tmp" "$table"
cat "$table"
