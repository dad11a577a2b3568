#!/usr/bin/env bash
# rwkv-train's checkpoints from the command line: a run stopped and resumed gives bit for bit the
# losses and the final file of an uninterrupted run (also from bfloat16 weights, and with
# --precision bf16), --keep-last, --save-dtype files that h5py reads back as the rounded values,
# rwkv-info and its --check, rwkv-export's inference files, and one clear error with a non-zero
# exit for each bad resume or file and for each floating option that is not a finite number.
#   checkpoint.sh RWKV_TRAIN RWKV_INFO RWKV_EXPORT WORK_DIR
set -u
train=$1 info=$2 export=$3 work=$4
rm -rf "$work"
mkdir -p "$work" && cd "$work" || exit 1
export OMP_PROC_BIND=spread OMP_PLACES=threads
python=/usr/bin/python3
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

printf 'In the beginning God created the heaven and the earth. %.0s' {1..40} >corpus.txt
run=(--data corpus.txt --n-layer 2 --n-embd 32 --ctx-len 16 --micro-batch 2 --warmup-steps 2
  --lr-init 1e-3 --lr-final 1e-4 --weight-decay 0.01 --threads 2)

# Resume == uninterrupted: the same 8 losses, and h5diff finds no difference in weights, moments
# or training attributes. The straight run validates every 3 steps, the resumed one does not:
# validation must not disturb training.
check "8 steps straight" "$train" "${run[@]}" --steps 8 --val-every 3 --save straight.h5
check "the same run stopped after step 4" "$train" "${run[@]}" --steps 8 --stop-at 4 --save half.h5
check "and resumed for the last 4 (options and data file from the checkpoint)" "$train" --resume half.h5 \
  --threads 2
check "8 loss lines after the resume" test "$(losses half.h5.jsonl | wc -l)" -eq 8
check "losses bit for bit equal" cmp <(losses straight.h5.jsonl) <(losses half.h5.jsonl)
check "final checkpoints equal (h5diff)" h5diff straight.h5 half.h5
check "the same from bfloat16 weights (exact weights in train/master)" bash -c "'$train' ${run[*]} --steps 8 --stop-at 5 \
  --save-dtype bfloat16 --save bf.h5 && '$train' --data corpus.txt --resume bf.h5 --save bf.h5 --threads 2"
check "bfloat16 run: losses bit for bit equal" cmp <(losses straight.h5.jsonl) <(losses bf.h5.jsonl)
check "bfloat16 run: moments and exact weights equal the straight run's" $python -c "
import h5py, numpy as np
a = h5py.File('straight.h5', 'r')
b = h5py.File('bf.h5', 'r')
for name in a['train/exp_avg']:
    assert np.array_equal(a[name][()], b['train/master/' + name][()]), name
    for moment in ('train/exp_avg/', 'train/exp_avg_sq/'):
        assert np.array_equal(a[moment + name][()], b[moment + name][()]), moment + name
assert b.attrs['weight_dtype'] == 'bfloat16' and b['train'].attrs['step'] == 8
"
# --precision bf16: the products in bfloat16, float32 master weights in the checkpoint; a bf16 run
# stopped and resumed with --precision bf16 equals an uninterrupted one bit for bit.
check "8 steps with bf16 products" "$train" "${run[@]}" --steps 8 --precision bf16 --save bf16.h5
check "the same bf16 run stopped after step 4 and resumed" bash -c "'$train' ${run[*]} --steps 8 --stop-at 4 \
  --precision bf16 --save bf16-half.h5 && '$train' --resume bf16-half.h5 --precision bf16 --threads 2"
check "bf16 run: losses bit for bit equal after the resume" cmp <(losses bf16.h5.jsonl) <(losses bf16-half.h5.jsonl)
check "bf16 run: checkpoints equal (h5diff)" h5diff bf16.h5 bf16-half.h5
check "bf16 run: float32 weights, losses other than the fp32 run's" $python -c "
import h5py, json
f = h5py.File('bf16.h5', 'r')
assert f['emb.weight'].dtype == 'float32' and f.attrs['weight_dtype'] in ('float32', b'float32')
loss = lambda path: [json.loads(l)['loss'] for l in open(path) if '\"loss\"' in l]
assert loss('bf16.h5.jsonl') != loss('straight.h5.jsonl')
"
fails_with "--precision must be fp32 or bf16, got 'fp16'" "$train" --data corpus.txt --steps 1 --precision fp16 \
  --save refused.h5
check "a run extended with --steps 10" "$train" --data corpus.txt --resume straight.h5 --steps 10 --save longer.h5 --threads 2
check "rwkv-info reports step 10 of 10" grep -q "step 10 of 10" <("$info" longer.h5)

fails_with "--n-embd 64 conflicts with 32 in straight.h5" "$train" --data corpus.txt --resume straight.h5 --n-embd 64
fails_with "--lr-init 0.002 conflicts with 0.001 in straight.h5" "$train" --data corpus.txt --resume straight.h5 --lr-init 2e-3
check "a checkpoint of an unknown version (h5py sets arch rwkv-9)" $python -c "
import h5py, numpy as np, shutil
shutil.copy('straight.h5', 'rwkv9.h5')
with h5py.File('rwkv9.h5', 'a') as f: f.attrs['arch'] = np.bytes_(b'rwkv-9')"
fails_with "rwkv9.h5: attribute 'arch': unknown architecture 'rwkv-9'; this build knows v4 (rwkv-4), v7 (rwkv-7)" \
  "$train" --resume rwkv9.h5
fails_with "unknown architecture 'v9'; this build knows v4 (rwkv-4), v7 (rwkv-7)" "$train" --data corpus.txt --arch v9 --steps 1
check "--arch v4 names the version in the file" bash -c "'$train' ${run[*]} --arch v4 --steps 0 --save v4.h5 &&
  $python -c \"import h5py; assert h5py.File('v4.h5', 'r').attrs['arch'] in ('rwkv-4', b'rwkv-4')\""
fails_with "--data FILE is required (or --resume CKPT)" "$train" --steps 2
fails_with "--steps 4 is fewer than the 8 steps straight.h5 has done" "$train" --data corpus.txt --resume straight.h5 --steps 4
printf 'Other text entirely, long enough for a window or two of sixteen tokens. %.0s' {1..10} >other.txt
fails_with "resume on the same data" "$train" --data other.txt --resume straight.h5 --steps 9
fails_with "corpus.txt: not an HDF5 file" "$train" --data corpus.txt --resume corpus.txt
check "a model file without training state (h5py deletes /train)" $python -c "
import h5py, shutil
shutil.copy('straight.h5', 'model.h5')
with h5py.File('model.h5', 'a') as f: del f['train']"
fails_with "model.h5: no group 'train'" "$train" --data corpus.txt --resume model.h5

# A floating option that is NaN or infinite, on the command line or in --config, is refused before
# anything trains or is written.
fails_with "--lr-init must be a finite number, got nan" "$train" --data corpus.txt --steps 1 --lr-init nan --save refused.h5
fails_with "--lr-final must be a finite number, got inf" "$train" --data corpus.txt --steps 1 --lr-final inf --save refused.h5
fails_with "--val-fraction must be a finite number, got nan" "$train" --data corpus.txt --steps 1 --val-fraction nan \
  --save refused.h5
fails_with "--time-limit must be a finite number, got -inf" "$train" --data corpus.txt --steps 1 --time-limit -inf \
  --save refused.h5
printf 'weight-decay = inf\n' >infinite.ini
fails_with "--weight-decay must be a finite number, got inf" "$train" --data corpus.txt --steps 1 --config infinite.ini \
  --save refused.h5
fails_with "--print-every must be positive, got 0" "$train" --data corpus.txt --steps 1 --print-every 0 --save refused.h5
fails_with "--save-every must be >= 0, got -2" "$train" --data corpus.txt --steps 1 --save-every -2 --save refused.h5
check "no file from a refused run" test ! -e refused.h5 -a ! -e refused.h5.jsonl

# --keep-last 2 with a save every 2 steps: steps 4 and 6 remain, and model.h5 is step 6.
mkdir -p kept
check "--keep-last 2" "$train" "${run[@]}" --steps 6 --save-every 2 --keep-last 2 --save kept/model.h5
check "the two newest numbered checkpoints" test -f kept/model-step000004.h5 -a -f kept/model-step000006.h5
check "older ones deleted" test ! -e kept/model-step000002.h5
check "--save holds the latest" h5diff kept/model.h5 kept/model-step000006.h5
check "no temporary files left" test -z "$(ls kept | grep tmp)"

# --save-dtype: h5py reads float16 as float16 and bfloat16 as float32, equal to the float32
# weights rounded to nearest even (NumPy's float16 cast; the bit trick for bfloat16).
for dtype in float32 float16 bfloat16; do
  check "a fresh model stored as $dtype" "$train" "${run[@]}" --steps 0 --save-dtype "$dtype" --save "init-$dtype.h5"
done
check "h5py reads float16 and bfloat16 as the rounded float32 weights" $python -c "
import h5py, numpy as np
full = h5py.File('init-float32.h5', 'r')
half = h5py.File('init-float16.h5', 'r')
bf = h5py.File('init-bfloat16.h5', 'r')
assert half.attrs['weight_dtype'] == 'float16' and bf.attrs['weight_dtype'] == 'bfloat16'
changed = 0
for name in full:
    if name == 'train':
        continue
    x = full[name][()]
    assert half[name].dtype == np.float16 and bf[name].dtype == np.float32, name
    assert np.array_equal(half[name][()], x.astype(np.float16)), name
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = (((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)
    assert np.array_equal(bf[name][()], rounded), name
    assert half[name].fletcher32 and bf[name].fletcher32, name
    changed += int(not np.array_equal(rounded, x))
assert changed > 0
"
check "rwkv-info names the dtype" grep -q "weights     bfloat16" <("$info" init-bfloat16.h5)

# rwkv-info --check reads every dataset: a flipped byte is named.
check "rwkv-info --check of a good file: all 126 datasets checksummed" grep -q "126 datasets read; 126 of them carry a checksum" \
  <("$info" --check straight.h5)
check "a byte flipped inside emb.weight" $python -c "
import h5py, shutil
shutil.copy('straight.h5', 'corrupt.h5')
with h5py.File('corrupt.h5', 'r') as f:
    chunk = f['emb.weight'].id.get_chunk_info(0)
with open('corrupt.h5', 'r+b') as f:
    f.seek(chunk.byte_offset + chunk.size // 2)
    b = f.read(1)
    f.seek(chunk.byte_offset + chunk.size // 2)
    f.write(bytes([b[0] ^ 0xff]))"
check "rwkv-info without --check reads no data" "$info" corrupt.h5
fails_with "corrupt.h5: cannot read dataset 'emb.weight'" "$info" --check corrupt.h5

# rwkv-export: the weights alone, a bfloat16 export a quarter of the float32 training checkpoint,
# equal to the training file's own bfloat16 rounding; the float32 export keeps the weights exactly.
check "rwkv-export to bfloat16" "$export" straight.h5 export-bf16.h5 --dtype bfloat16
check "rwkv-export to float32" "$export" straight.h5 export-f32.h5
check "the export holds no training state" grep -q "training    none" <("$info" export-bf16.h5)
check "a bfloat16 export is under 27% of the training checkpoint" test \
  $(($(stat -c %s export-bf16.h5) * 100)) -lt $(($(stat -c %s straight.h5) * 27))
check "float32 export: weights identical to the checkpoint's" $python -c "
import h5py, numpy as np
with h5py.File('straight.h5', 'r') as a, h5py.File('export-f32.h5', 'r') as b:
    names = [n for n in a if isinstance(a[n], h5py.Dataset)]
    assert sorted(names) == sorted(b) and len(names) == 42, (len(names), len(b))
    for n in names:
        assert np.array_equal(a[n][()], b[n][()]), n"
fails_with "OUT.h5 is CKPT itself" "$export" straight.h5 straight.h5
fails_with "unknown weight dtype 'int8'" "$export" straight.h5 x.h5 --dtype int8
fails_with "nothing.h5: no such file" "$info" nothing.h5
fails_with "corpus.txt: not an HDF5 file" "$info" corpus.txt
finish
