#!/usr/bin/env bash
# RWKV-7 through every program: rwkv-train --arch v7 (RWKV-7's AdamW defaults; head size and LoRA
# ranks in the file), a run stopped and resumed equal bit for bit to a straight one (with
# --precision bf16 too), rwkv-info,
# rwkv-export, rwkv-generate with state files and int8 / bfloat16 weights, rwkv-eval (parallel mode,
# int8 RNN mode, --dump-logits), rwkv-embed, and the image task (rwkv-train --task txt2img --arch
# v7, rwkv-txt2img, rwkv-caption); one clear error with a non-zero exit for each bad input.
#   v7.sh RWKV_TRAIN RWKV_INFO RWKV_EXPORT RWKV_GENERATE RWKV_EVAL RWKV_EMBED RWKV_IMAGE_DATA RWKV_TXT2IMG
#         RWKV_CAPTION WORK_DIR
set -u
train=$1 info=$2 export=$3 generate=$4 eval=$5 embed=$6 image_data=$7 txt2img=$8 caption=$9 work=${10}
rm -rf "$work"
mkdir -p "$work" && cd "$work" || exit 1
export OMP_PROC_BIND=spread OMP_PLACES=threads
python=/usr/bin/python3
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

printf 'In the beginning God created the heaven and the earth. %.0s' {1..40} >corpus.txt
run=(--data corpus.txt --arch v7 --n-layer 2 --n-embd 32 --head-size 16 --ctx-len 16 --micro-batch 2
  --warmup-steps 2 --lr-init 1e-3 --threads 2)

check "8 steps of RWKV-7 straight" "$train" "${run[@]}" --steps 8 --val-every 3 --save straight.h5
check "the run names RWKV-7, its heads and ranks" grep -q "RWKV-7 L2 D32" commands.log
check "... 2 heads of 16" grep -q "2 heads of 16; LoRA ranks 32 (decay)" commands.log
check "the file names the version and its shapes; RWKV-7's AdamW defaults" $python -c "
import h5py
f = h5py.File('straight.h5', 'r')
a, t = f.attrs, f['train'].attrs
assert a['arch'] in ('rwkv-7', b'rwkv-7'), a['arch']
assert (a['head_size'], a['rank_w'], a['rank_a'], a['rank_v'], a['rank_g'], a['layer0_value_lora']) == (16, 32, 32, 32, 32, 0)
assert 'blocks.1.att.v1' in f and 'blocks.0.att.v1' not in f and f['blocks.0.att.w1'].shape == (32, 32)
assert (t['adam_eps'], t['weight_decay'], t['lr_final']) == (1e-18, 1e-3, 6e-5), (t['adam_eps'], t['weight_decay'], t['lr_final'])
"
check "the same run stopped after step 4" "$train" "${run[@]}" --steps 8 --stop-at 4 --save half.h5
check "and resumed for the last 4" "$train" --resume half.h5 --threads 2
check "losses bit for bit equal" cmp <(losses straight.h5.jsonl) <(losses half.h5.jsonl)
check "final checkpoints equal (h5diff)" h5diff straight.h5 half.h5
check "6 steps with bf16 products" "$train" "${run[@]}" --steps 6 --precision bf16 --save bf16.h5
check "the same bf16 run stopped after step 3 and resumed" bash -c "'$train' ${run[*]} --steps 6 --stop-at 3 \
  --precision bf16 --save bf16-half.h5 && '$train' --resume bf16-half.h5 --precision bf16 --threads 2"
check "bf16 run: losses bit for bit equal after the resume" cmp <(losses bf16.h5.jsonl) <(losses bf16-half.h5.jsonl)
check "a fp32 run of the same 6 steps" "$train" "${run[@]}" --steps 6 --save fp32.h5
check "bf16 run: losses other than the fp32 run's" test "$(losses bf16.h5.jsonl)" != "$(losses fp32.h5.jsonl)"
fails_with "--head-size 32 conflicts with 16 in straight.h5" "$train" --resume straight.h5 --head-size 32 --steps 9
fails_with "--arch rwkv-4 conflicts with rwkv-7 in straight.h5" "$train" --resume straight.h5 --arch v4 --steps 9
fails_with "--head-size applies to --arch v7 only" "$train" --data corpus.txt --head-size 16 --steps 1 --save refused.h5
fails_with "n_embd 32 is not a multiple of head_size 24" "$train" --data corpus.txt --arch v7 --n-embd 32 \
  --head-size 24 --steps 1 --save refused.h5
fails_with "head_size 4 (the WKV-7 kernel is built for 8, 16, 32 and 64)" "$train" --data corpus.txt --arch v7 \
  --n-embd 32 --head-size 4 --steps 1 --save refused.h5
check "no file from a refused run" test ! -e refused.h5

check "rwkv-info names RWKV-7 and its shapes" bash -c "'$info' straight.h5 | grep -q 'shapes      2 heads of 16; LoRA ranks 32'"
check "rwkv-info --check reads every dataset" bash -c "'$info' --check straight.h5 | grep -q 'datasets read'"
check "rwkv-export writes an inference file" "$export" straight.h5 small.h5 --dtype float16
check "the inference file keeps the version and its shapes" $python -c "
import h5py
f = h5py.File('small.h5', 'r')
assert f.attrs['arch'] in ('rwkv-7', b'rwkv-7') and f.attrs['head_size'] == 16 and 'train' not in f
"

check "generation with a state file" bash -c "'$generate' --model straight.h5 --prompt 'In the' --max-tokens 16 \
  --state-out state.h5 --threads 2 >text.txt 2>speed.txt"
check "16 tokens and the speed line" grep -q "generated 16 tokens at" speed.txt
check "the state file holds the shifts and the WKV-7 state" $python -c "
import h5py
f = h5py.File('state.h5', 'r')
assert f.attrs['arch'] in ('rwkv-7', b'rwkv-7')
assert f['shifts'].shape == (2, 2, 1, 32) and f['wkv'].shape == (2, 1, 2, 16, 16), (f['shifts'].shape, f['wkv'].shape)
"
check "continuing from the state, int8 weights" bash -c "'$generate' --model straight.h5 --prompt ' and' \
  --state-in state.h5 --max-tokens 8 --temperature 0 --int8 --threads 2 2>&1 >/dev/null | grep -q 'int8 weights'"
check "bfloat16 weights" bash -c "'$generate' --model straight.h5 --prompt 'In the' --max-tokens 8 --dtype bfloat16 \
  --threads 2 2>&1 >/dev/null | grep -q '(bfloat16 weights)'"
check "a v4 model refuses the v7 state" bash -c "'$train' --data corpus.txt --n-layer 2 --n-embd 32 --ctx-len 16 \
  --steps 0 --save v4.h5 --threads 2 >/dev/null"
fails_with "state.h5: attribute 'arch' is 'rwkv-7', the model is rwkv-4" "$generate" --model v4.h5 --prompt x \
  --state-in state.h5

check "rwkv-eval in parallel mode" bash -c "'$eval' --model straight.h5 --data corpus.txt --ctx-len 16 --max-windows 4 \
  --threads 2 >parallel.txt"
check "rwkv-eval with int8 weights (RNN mode)" bash -c "'$eval' --model straight.h5 --data corpus.txt --ctx-len 16 \
  --max-windows 4 --int8 --threads 2 | grep -q 'int8 weights, RNN mode'"
check "rwkv-eval --dump-logits" "$eval" --model straight.h5 --data corpus.txt --ctx-len 16 --dump-logits logits.h5 \
  --threads 2
check "logits [16, 256]" $python -c "
import h5py
assert h5py.File('logits.h5', 'r')['logits'].shape == (16, 256)"
check "an embedding of 2 x 32 numbers" bash -c "[ \$('$embed' --model straight.h5 --text 'In the' --threads 2 | wc -w) -eq 64 ]"

# The image task on a data set of 4 two-colour PNGs.
python3 "$(dirname "${BASH_SOURCE[0]}")/two_colour_pngs.py" red blue || exit 1
check "rwkv-image-data packs the PNGs" "$image_data" --tsv list.tsv --out set.h5 --heldout-percent 25
check "2 txt2img steps of RWKV-7 with soft targets" "$train" --task txt2img --data set.h5 --arch v7 --n-layer 1 \
  --n-embd 72 --head-size 8 --micro-batch 2 --caption-bytes 16 --val-windows 1 --soft-targets --steps 2 \
  --save image.h5 --threads 2
check "rwkv-txt2img draws from it" "$txt2img" --model image.h5 --prompt "red and blue" --n 2 --out drawn.png --threads 2
check "a 32x32 PNG" test -s drawn.png
check "rwkv-caption captions one of the PNGs twice" bash -c "'$caption' --model image.h5 --image red-blue.png --n 2 \
  --threads 2 >captions.txt && [ \$(grep -c \$'^red-blue.png\t' captions.txt) -eq 2 ]"
finish
