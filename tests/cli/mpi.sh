#!/usr/bin/env bash
# rwkv-train under MPI on this machine's loopback: 2 ranks x micro-batch 2 follow 1 rank x
# micro-batch 4 over 20 steps (the same sequences; only the gradient sums' order differs; RWKV-7
# too, over 10), a
# 2-rank run stopped and resumed equals the straight one bit for bit, and a rank killed with
# SIGKILL ends the whole job with an error well before a bounded timeout instead of hanging.
#   mpi.sh RWKV_TRAIN MPIEXEC WORK_DIR
set -u
train=$1 mpiexec=$2 work=$3
rm -rf "$work"
mkdir -p "$work" && cd "$work" || exit 1
# Containers run tests as root and often forbid the cross-memory attach of the shared-memory
# transport; neither matters on loopback.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1
mpirun=("$mpiexec" -np 2)
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
losses() { grep -o '"loss":[^,]*' "$1" | cut -d: -f2; }

printf 'In the beginning God created the heaven and the earth. %.0s' {1..200} >corpus.txt
run=(--data corpus.txt --n-layer 2 --n-embd 32 --ctx-len 16 --val-every 0 --threads 1 --lr-init 1e-3 --check-every 5)

check "1 rank x micro-batch 4, 20 steps" "$train" "${run[@]}" --steps 20 --micro-batch 4 --save one.h5
check "2 ranks x micro-batch 2, 20 steps" timeout 300 "${mpirun[@]}" "$train" "${run[@]}" --steps 20 --micro-batch 2 --save two.h5
check "20 losses each" test "$(losses one.h5.jsonl | wc -l)" -eq 20 -a "$(losses two.h5.jsonl | wc -l)" -eq 20
check "the same loss curve within 1e-6 relative" awk 'NR == FNR { a[FNR] = $1; next }
  { d = a[FNR] - $1; if (d < 0) d = -d; if (d > 1e-6 * a[FNR]) { print "step " FNR ": " a[FNR] " vs " $1; bad = 1 } }
  END { exit bad || NR != 40 }' <(losses one.h5.jsonl) <(losses two.h5.jsonl)
check "the losses fall" awk 'NR == 1 { first = $1 } END { exit !(NR == 20 && $1 < first - 0.5) }' <(losses two.h5.jsonl)
check "rank 0 alone wrote the log: all-reduce time per step logged" grep -q '"allreduce_s"' two.h5.jsonl
check "RWKV-7: 1 rank x micro-batch 4, 10 steps" "$train" "${run[@]}" --arch v7 --head-size 16 --steps 10 \
  --micro-batch 4 --save one7.h5
check "RWKV-7: 2 ranks x micro-batch 2, 10 steps" timeout 300 "${mpirun[@]}" "$train" "${run[@]}" --arch v7 \
  --head-size 16 --steps 10 --micro-batch 2 --save two7.h5
check "RWKV-7: the same loss curve within 1e-6 relative" awk 'NR == FNR { a[FNR] = $1; next }
  { d = a[FNR] - $1; if (d < 0) d = -d; if (d > 1e-6 * a[FNR]) { print "step " FNR ": " a[FNR] " vs " $1; bad = 1 } }
  END { exit bad || NR != 20 }' <(losses one7.h5.jsonl) <(losses two7.h5.jsonl)

check "2 ranks stopped after step 4 of 8" timeout 300 "${mpirun[@]}" "$train" "${run[@]}" --steps 8 --micro-batch 2 \
  --stop-at 4 --save half.h5
check "and resumed by 2 ranks" timeout 300 "${mpirun[@]}" "$train" --resume half.h5 --threads 1
check "2 ranks, 8 steps straight" timeout 300 "${mpirun[@]}" "$train" "${run[@]}" --steps 8 --micro-batch 2 --save straight.h5
check "resumed losses bit for bit equal" bash -c "test \$(grep -c '\"loss\"' straight.h5.jsonl) -eq 8 &&
  cmp <(grep -o '\"loss\":[^,]*' straight.h5.jsonl) <(grep -o '\"loss\":[^,]*' half.h5.jsonl)"
check "resumed final checkpoint equal (h5diff)" h5diff straight.h5 half.h5
check "the 2-rank checkpoint resumes on 1 rank with the whole batch" "$train" --resume straight.h5 --steps 9 \
  --save single.h5 --threads 1

# A rank killed mid-run: the job must end (non-zero) on its own, far inside the timeout.
"${mpirun[@]}" "$train" "${run[@]}" --steps 1000000 --micro-batch 2 --save killed.h5 >killed.log 2>&1 &
job=$!
for _ in $(seq 100); do
  [ -s killed.h5.jsonl ] && break
  sleep 0.2
done
victim=$(pgrep -f -- "--save killed.h5" | while read -r p; do [ "$(ps -o comm= -p "$p")" = rwkv-train ] && echo "$p"; done | tail -1)
if [ -n "$victim" ]; then
  start=$SECONDS
  kill -9 "$victim"
  timeout 60 tail --pid=$job -f /dev/null
  wait $job
  rc=$?
  elapsed=$((SECONDS - start))
  if [ $rc -ne 0 ] && [ $elapsed -lt 60 ]; then
    echo "ok: a killed rank ended the job in ${elapsed} s with exit $rc"
  else
    echo "FAILED: after a killed rank the job exited $rc after ${elapsed} s"
    kill -9 $job 2>/dev/null
    failures=$((failures + 1))
  fi
else
  echo "FAILED: no rank of the 2-rank job to kill (see killed.log)"
  kill -9 $job 2>/dev/null
  failures=$((failures + 1))
fi
finish
