#!/usr/bin/env bash
# rwkv-train --task txt2img from the command line, on a data set that rwkv-image-data packs from PNGs
# written here: the run reports held-out bits per image token against the unigram baseline, a
# stopped and resumed run gives bit for bit the losses of an uninterrupted one (soft targets and
# RandRound included), and each bad option gives one clear error and a non-zero exit.
#   txt2img_train.sh RWKV_TRAIN RWKV_IMAGE_DATA RWKV_INFO RWKV_TXT2IMG WORK_DIR
set -u
train=$1 image_data=$2 info=$3 txt2img=$4 work=$5
rm -rf "$work"
mkdir -p "$work" && cd "$work" || exit 1
export OMP_PROC_BIND=spread OMP_PLACES=threads
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# 16 PNGs of two colours each (left and right halves), 32x32 RGB, written with the standard library.
python3 "$(dirname "${BASH_SOURCE[0]}")/two_colour_pngs.py" red green blue white || exit 1
check "rwkv-image-data packs the 16 PNGs" "$image_data" --tsv list.tsv --out set.h5 --heldout-percent 25
run=(--task txt2img --data set.h5 --n-layer 1 --n-embd 72 --micro-batch 2 --caption-bytes 16 --lr-init 2e-3
  --lr-final 1e-4 --val-windows 2 --threads 2)

check "8 steps straight, soft targets" "$train" "${run[@]}" --soft-targets --steps 8 --val-every 3 --save straight.h5
check "the run reports held-out bits per image token and the unigram baseline" \
  grep -q "bits per image token" commands.log
check "... in the log too" grep -q '"val_bits_per_image_token"' straight.h5.jsonl
check "the same run stopped after step 3" "$train" "${run[@]}" --soft-targets --steps 8 --stop-at 3 --save half.h5
check "and resumed (task, sample options and data from the checkpoint)" "$train" --resume half.h5 --threads 2
check "losses bit for bit equal" cmp <(losses straight.h5.jsonl) <(losses half.h5.jsonl)
check "final checkpoints equal (h5diff)" h5diff straight.h5 half.h5
check "rwkv-info shows the position channels" bash -c "'$info' straight.h5 | grep -q 'image_positions on'"
check "without position channels the model has them off" bash -c "'$train' ${run[*]} --image-positions false \
  --rounding nearest --steps 2 --save nopos.h5 && '$info' nopos.h5 | grep -q 'image_positions off'"
check "rwkv-txt2img takes the caption field (16) from the training run" bash -c "'$txt2img' --model straight.h5 \
  --prompt 'red and green, then white' --n 1 --out grid.png 2>&1 | grep -q 'longer than --caption-bytes 16'"
check "--time-limit stops after the step that passes it, saved for --resume" bash -c "'$train' ${run[*]} --steps 50 \
  --time-limit 0.00001 --save limited.h5 | grep -q 'stopped after step 1 of 50; saved limited.h5'"

fails_with "--ctx-len 100: a txt2img sample is 1042 tokens" "$train" "${run[@]}" --ctx-len 100 --steps 1
fails_with "--rounding must be random or nearest, got 'up'" "$train" "${run[@]}" --rounding up --steps 1
fails_with "--soft-targets applies to --task txt2img only" "$train" --data list.tsv --soft-targets --steps 1
fails_with "--task must be text or txt2img, got 'img'" "$train" --data set.h5 --task img --steps 1
fails_with "--rounding nearest conflicts with random in half.h5" "$train" --resume half.h5 --rounding nearest
fails_with "list.tsv" "$train" --task txt2img --data list.tsv --steps 1
finish
