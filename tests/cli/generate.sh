#!/usr/bin/env bash
# rwkv-generate and rwkv-embed from the command line: text out, state files, and one clear error
# with a non-zero exit for each kind of bad input.
#   generate.sh RWKV_TRAIN RWKV_GENERATE RWKV_EMBED WORK_DIR
set -u
train=$1 generate=$2 embed=$3 work=$4
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
check "an embedding of 2 x 32 numbers" bash -c "[ \$('$embed' --model model.h5 --text 'In the' --threads 2 | wc -w) -eq 64 ]"

fails_with "missing.h5: no such file" "$generate" --model missing.h5 --prompt x
fails_with "outside the model's 256-token vocabulary" "$generate" --model model.h5 --prompt "Hello world" \
  --tokenizer "$RWKV_NEOX_TOKENIZER"
fails_with "more than --max-prompt-tokens 3" "$generate" --model model.h5 --prompt "In the beginning" --max-prompt-tokens 3
fails_with "give exactly one of --prompt and --prompt-file" "$generate" --model model.h5
fails_with "top_p = 1.5" "$generate" --model model.h5 --prompt x --top-p 1.5
fails_with "model.h5: missing dataset 'state'" "$generate" --model model.h5 --prompt x --state-in model.h5
fails_with "cannot open prompt file" "$generate" --model model.h5 --prompt-file nowhere.txt
finish
