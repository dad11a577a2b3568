#!/usr/bin/env bash
# Text-to-image in one command: fetch Twemoji (3,786 emoji with their English names), pack it as an
# image data set, train a small RWKV-4 on caption -> image and image -> caption samples for a
# bounded time, report held-out bits per image token against the unigram baseline, and draw a grid
# of generated images for a few prompts.
#   scripts/txt2img-demo.sh [--minutes M] [--out DIR] [-- extra rwkv-train options]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
minutes=12
out=$root/build/txt2img-demo
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "txt2img-demo: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
export OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}
bin=$root/build/openmp/examples

./scripts/setup.sh
cmake --preset openmp >/dev/null
cmake --build --preset openmp --target rwkv-train rwkv-image-data rwkv-txt2img rwkv-caption
mkdir -p "$out"
./scripts/fetch-twemoji.sh "$root/build/twemoji"
set_file=$root/build/twemoji/twemoji.h5
[ -f "$set_file" ] || "$bin/rwkv-image-data" --tsv "$root/build/twemoji/twemoji.tsv" --out "$set_file"

# The model and its samples; the step count comes from a short calibration run, so the schedule
# (warm-up, decay to lr-final) fits the time budget. --time-limit guards against a slower machine.
model=(--task txt2img --data "$set_file" --n-layer 3 --n-embd 192 --micro-batch 4 --caption-bytes 80
  --lr-init 2e-3 --lr-final 1e-4 --warmup-steps 50 --grad-clip 1 --val-windows 32 --seed 7)
"$bin/rwkv-train" "${model[@]}" --steps 6 --save "$out/calibrate.h5" --val-every 0 "$@" >/dev/null
rate=$(grep -o '"tokens_per_s":[0-9.]*' "$out/calibrate.h5.jsonl" | tail -1 | cut -d: -f2)
rm -f "$out/calibrate.h5" "$out/calibrate.h5.jsonl"
# Validation on all held-out images at the end takes about as long as training on as many tokens.
steps=$(/usr/bin/python3 -c "print(max(20, int(0.85 * $minutes * 60 * $rate / (4 * 1106))))")
echo "txt2img-demo: $rate tokens/s here: $steps steps of 4 samples for about $minutes minutes"
"$bin/rwkv-train" "${model[@]}" --steps "$steps" --val-every 500 --time-limit "$(/usr/bin/python3 -c "print(1.5 * $minutes)")" \
  --save "$out/twemoji.h5" "$@" | tee "$out/train.txt"

prompts=("red apple" "flag: Italy" "smiling face" "red heart" "sun" "dog face" "christmas tree" "blue circle")
args=()
for p in "${prompts[@]}"; do args+=(--prompt "$p"); done
"$bin/rwkv-txt2img" --model "$out/twemoji.h5" "${args[@]}" --n 8 --seed 1 --out "$out/grid.png"
echo "txt2img-demo: rows of $out/grid.png: ${prompts[*]}"
grep -E "held-out|unigram" "$out/train.txt"
