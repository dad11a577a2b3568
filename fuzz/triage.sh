#!/usr/bin/env bash
# Sorts libFuzzer's findings: reruns each input and decides from the sanitizer's stacks whose bug
# it is. A finding is libhdf5's own when the faulting frame (the first one past the sanitizer,
# allocator, libc and libFuzzer frames) is in libhdf5 and, for a bad heap access, so is the frame
# that allocated the block: HDF5 reading its own buffers wrong on a malformed file. Everything
# else (our frames, or HDF5 writing into a buffer we passed) is ours.
#   fuzz/triage.sh FUZZ_BINARY FINDING...   exits 1 if any finding is ours
set -uo pipefail
binary=$(realpath "$1")
shift
# Prints the first frame of stack number $2 (1 = the access, 2 = the allocation) that is not
# sanitizer, allocator, libc or libFuzzer machinery (and with $3 = 1, not in libhdf5 either).
# Frames of the fuzz binary without a source line are the sanitizer runtime linked into it
# (interceptors such as strdup): our code is compiled with -g.
first_frame() {
  awk -v want="$2" -v skip_hdf5="${3:-0}" -v runtime="($binary+0x" '
    /^    #0 / { stack++ }
    stack == want && /^    #[0-9]+ / {
      if (skip_hdf5 && /libhdf5/) next
      if (index($0, runtime)) next
      if ($0 ~ /__interceptor_|__asan|__sanitizer|__lsan|in (malloc|calloc|realloc|free|operator new|operator delete)|in (abort|raise|__pthread_kill|pthread_kill)|libc\.so|sysdeps\/|fuzzer::|in std::/) next
      print; exit
    }' "$1"
}
ours=0
hdf5=0
for input in "$@"; do
  report=$(mktemp)
  "$binary" -runs=1 -rss_limit_mb=2048 -malloc_limit_mb=1048576 -timeout=10 "$input" >"$report" 2>&1
  kind=$(grep -m1 -oE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer): [A-Za-z-]+( signal)?|runtime error: .*|HDF5 objects left open" "$report" | head -n 1)
  access=$(first_frame "$report" 1)
  owner=ours
  if grep -q libhdf5 <<<"$access"; then
    owner=libhdf5
    if grep -q "allocated by thread\|freed by thread" "$report" && ! grep -q libhdf5 <<<"$(first_frame "$report" 2)"; then
      owner=ours
    fi
  fi
  [ -n "$kind" ] || { kind="no failure on rerun"; owner="not reproduced (fixed since, or depends on the heap layout)"; }
  frame() { sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ +(in )?//; s/ \(BuildId.*//; s/\(std::__cxx11::basic_string[^)]*\)/(...)/g' <<<"$1"; }
  where=$(frame "$access")
  caller=$(frame "$(first_frame "$report" 1 1)")
  echo "triage: $(basename "$input"): $owner: $kind${where:+ in $where}${caller:+, called from $caller}"
  if [ "$owner" = ours ]; then ours=$((ours + 1)); sed -n '1,60p' "$report"; else hdf5=$((hdf5 + 1)); fi
  rm -f "$report"
done
echo "triage: $ours finding(s) in our code, $hdf5 inside libhdf5 or not reproducible"
exit $((ours > 0))
