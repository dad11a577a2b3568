#!/usr/bin/env bash
# rwkv-generate and rwkv-embed from the command line: text out, state files, int8 and bfloat16
# weights (rwkv-eval's too), and one clear error with a non-zero exit for each kind of bad input.
#   generate.sh RWKV_TRAIN RWKV_GENERATE RWKV_EMBED RWKV_EVAL WORK_DIR
set -u
train=$1 generate=$2 embed=$3 eval=$4 work=$5
mkdir -p "$work" && cd "$work" || exit 1
export OMP_PROC_BIND=spread OMP_PLACES=threads
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

printf 'In the beginning God created the heaven and the earth. %.0s' {1..40} >corpus.txt
check "a fresh model" bash -c "'$train' --data corpus.txt --n-layer 2 --n-embd 32 --ctx-len 16 --steps 0 \
  --save model.h5 --threads 2 >/dev/null"
check "generation with a state file" bash -c "'$generate' --model model.h5 --prompt 'In the' --max-tokens 24 \
  --state-out state.h5 --threads 2 >text.txt 2>speed.txt"
check "24 tokens and the speed line" grep -q "generated 24 tokens at" speed.txt
check "continuing from the state" bash -c "'$generate' --model model.h5 --prompt ' and' --state-in state.h5 \
  --max-tokens 8 --temperature 0 --int8 --threads 2 >/dev/null 2>&1"
check "bfloat16 weights" bash -c "'$generate' --model model.h5 --prompt 'In the' --max-tokens 8 --dtype bfloat16 \
  --threads 2 2>&1 >/dev/null | grep -q 'generated 8 tokens at .* (bfloat16 weights)'"
check "a checkpoint saved in bfloat16" bash -c "'$train' --data corpus.txt --n-layer 2 --n-embd 32 --ctx-len 16 --steps 0 \
  --save model16.h5 --save-dtype bfloat16 --threads 2 >/dev/null"
check "--dtype stored takes its bfloat16" bash -c "'$generate' --model model16.h5 --prompt 'In the' --max-tokens 4 \
  --dtype stored --threads 2 2>&1 >/dev/null | grep -q '(bfloat16 weights)'"
check "--dtype stored keeps float32 weights" bash -c "'$generate' --model model.h5 --prompt 'In the' --max-tokens 4 \
  --dtype stored --threads 2 2>&1 >/dev/null | grep -q 'tokens/s$'"
check "rwkv-eval with bfloat16 weights" bash -c "'$eval' --model model.h5 --data corpus.txt --ctx-len 16 --max-windows 4 \
  --dtype bfloat16 --threads 2 | grep -q 'in 4 windows of 16 (bfloat16 weights, RNN mode)'"
check "an embedding of 2 x 32 numbers" bash -c "[ \$('$embed' --model model.h5 --text 'In the' --threads 2 | wc -w) -eq 64 ]"

fails_with "missing.h5: no such file" "$generate" --model missing.h5 --prompt x
fails_with "outside the model's 256-token vocabulary" "$generate" --model model.h5 --prompt "Hello world" \
  --tokenizer "$RWKV_NEOX_TOKENIZER"
fails_with "more than --max-prompt-tokens 3" "$generate" --model model.h5 --prompt "In the beginning" --max-prompt-tokens 3
fails_with "give exactly one of --prompt and --prompt-file" "$generate" --model model.h5
fails_with "top_p = 1.5" "$generate" --model model.h5 --prompt x --top-p 1.5
fails_with "model.h5: missing dataset 'state'" "$generate" --model model.h5 --prompt x --state-in model.h5
fails_with "cannot open prompt file" "$generate" --model model.h5 --prompt-file nowhere.txt
fails_with "--int8 and --dtype bfloat16 exclude each other" "$generate" --model model.h5 --prompt x --int8 --dtype bfloat16
fails_with "--int8 and --dtype bfloat16 exclude each other" "$eval" --model model.h5 --data corpus.txt --int8 \
  --dtype bfloat16
fails_with "--dtype float16: expected float32, bfloat16 or stored" "$generate" --model model.h5 --prompt x --dtype float16
finish
