#!/usr/bin/env bash
# rwkv-txt2img and rwkv-caption from the command line on a fresh model with the txt2img vocabulary
# and image positions: grid and image files of the right size, the same seed gives the same bytes
# and another seed other ones, whatever the batch size; caption lines; one clear error with a
# non-zero exit for each kind of bad input.
#   txt2img.sh RWKV_TRAIN RWKV_TXT2IMG RWKV_CAPTION WORK_DIR
set -u
train=$1 txt2img=$2 caption=$3 work=$4
rm -rf "$work"
mkdir -p "$work" && cd "$work" || exit 1
export OMP_PROC_BIND=spread OMP_PLACES=threads
python=/usr/bin/python3
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
png_size() {  # PNG, then the expected "WIDTHxHEIGHT" (read from the IHDR chunk)
  $python -c "
import struct, sys
data = open(sys.argv[1], 'rb').read(24)
assert data[:8] == b'\x89PNG\r\n\x1a\n' and data[12:16] == b'IHDR', 'not a PNG'
w, h = struct.unpack('>II', data[16:24])
sys.exit(0 if f'{w}x{h}' == sys.argv[2] else f'{sys.argv[1]} is {w}x{h}, not {sys.argv[2]}')" "$1" "$2"
}

printf 'a red apple on a white plate %.0s' {1..40} >corpus.txt
check "a fresh model of 773 tokens" "$train" --data corpus.txt --vocab-size 773 --n-layer 2 --n-embd 72 \
  --ctx-len 16 --steps 0 --save model.h5 --threads 2
check "image positions switched on (h5py)" $python -c "
import h5py
with h5py.File('model.h5', 'r+') as f: f.attrs['image_positions'] = 1"
printf 'red apple\n\nblue sky\n' >prompts.txt

run() {  # grid file, then more options: 2 prompts x 2 images, 32 * 3 pixels each
  local out=$1
  shift
  "$txt2img" --model model.h5 --prompt "red apple" --prompt "blue sky" --n 2 --scale 3 --out "$out" --threads 2 "$@"
}
check "2 prompts x 2 images" run grid.png --seed 5 --out-dir images
check "the grid is 2 x 2 images of 96 pixels" png_size grid.png 192x192
check "4 image files of 32x32" bash -c "[ \$(ls images | wc -l) -eq 4 ]"
for f in images/000-00.png images/000-01.png images/001-00.png images/001-01.png; do
  check "$f is 32x32" png_size "$f" 32x32
done
check "the same seed: the same grid" bash -c "$(declare -f run); txt2img='$txt2img'; run again.png --seed 5 && cmp grid.png again.png"
check "the same seed one image at a time: the same grid" \
  bash -c "$(declare -f run); txt2img='$txt2img'; run batch1.png --seed 5 --batch 1 && cmp grid.png batch1.png"
check "another seed: another grid" bash -c "$(declare -f run); txt2img='$txt2img'; run other.png --seed 6 && ! cmp -s grid.png other.png"
check "prompts from a file, 3 columns, int8" "$txt2img" --model model.h5 --prompts-file prompts.txt --n 2 --columns 3 \
  --scale 1 --int8 --out file.png --threads 2
check "the file's 2 prompts x 2 images in rows of 3" png_size file.png 96x64
check "the speed line" bash -c "'$txt2img' --model model.h5 --prompt x --n 1 --out one.png --threads 2 2>&1 | \
  grep -q '1 images (1 prompts x 1) in .* tokens/s'"

check "captions of 2 images x 2" bash -c "'$caption' --model model.h5 --image images/000-00.png --image grid.png --n 2 \
  --caption-bytes 16 --threads 2 >captions.txt"
check "4 lines PATH<TAB>caption" bash -c "[ \$(wc -l <captions.txt) -eq 4 ] && \
  [ \$(grep -c \$'^images/000-00.png\t' captions.txt) -eq 2 ] && [ \$(grep -c \$'^grid.png\t' captions.txt) -eq 2 ]"
check "greedy captions repeat" bash -c "'$caption' --model model.h5 grid.png --temperature 0 --threads 2 >g1.txt && \
  '$caption' --model model.h5 grid.png --temperature 0 --threads 2 >g2.txt && cmp g1.txt g2.txt && [ -s g1.txt ]"

check "a model of 256 tokens" "$train" --data corpus.txt --n-layer 1 --n-embd 8 --ctx-len 8 --steps 0 --save bytes.h5 --threads 2
fails_with "missing.h5: no such file" "$txt2img" --model missing.h5 --prompt x --out x.png
fails_with "bytes.h5: vocab_size is 256, not the 773 tokens" "$txt2img" --model bytes.h5 --prompt x --out x.png
fails_with "--n must be at least 1, got 0" "$txt2img" --model model.h5 --prompt x --n 0 --out x.png
fails_with "no prompts" "$txt2img" --model model.h5 --out x.png
fails_with "nowhere.txt: cannot open prompts file" "$txt2img" --model model.h5 --prompts-file nowhere.txt --out x.png
fails_with "top_p = 0" "$txt2img" --model model.h5 --prompt x --top-p 0 --out x.png
fails_with "missing.h5: no such file" "$caption" --model missing.h5 --image grid.png
fails_with "bytes.h5: vocab_size is 256" "$caption" --model bytes.h5 --image grid.png
fails_with "missing.png: no such file" "$caption" --model model.h5 --image missing.png
fails_with "corpus.txt: not a PNG file" "$caption" --model model.h5 --image corpus.txt
fails_with "no images" "$caption" --model model.h5
check "no grid from failed runs" test ! -e x.png
finish
