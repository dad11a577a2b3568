#!/usr/bin/env bash
# Fuzzes the HDF5 checkpoint loaders with libFuzzer (fuzz/): builds fuzz/ with clang into
# build/fuzz, writes the seed corpus (small valid files from the library's writers) and runs
#   scripts/fuzz.sh [--time SECONDS] [-- LIBFUZZER_OPTIONS...]   (default 60 s)
#   scripts/fuzz.sh --available   exit 0 if clang++ and its fuzzer runtime are installed
# The corpus grows in build/fuzz/corpus across runs; the inputs of this run's findings land in
# build/fuzz/findings/, fuzz/triage.sh sorts them, and the script exits non-zero if one is ours.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

seconds=60
check_only=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds=$2; shift 2 ;;
    --available) check_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# clang with libFuzzer: the one on PATH, else Debian's versioned names.
find_clang() {
  local v
  for v in "" -16 -15 -14; do
    if command -v "clang++$v" >/dev/null && command -v "clang$v" >/dev/null; then
      echo "$v"
      return 0
    fi
  done
  return 1
}
unavailable() {
  echo "fuzz.sh: $*" >&2
  exit 3
}
suffix=$(find_clang) || unavailable "no clang++ found (Debian: clang and libclang-rt-dev)"
cxx=$(command -v "clang++$suffix") cc=$(command -v "clang$suffix")
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/probe.cpp"
"$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/log" ||
  unavailable "$cxx cannot link -fsanitize=fuzzer (libclang_rt.fuzzer missing? Debian: libclang-rt-dev): $(head -n 1 "$probe/log")"
[ $check_only -eq 1 ] && { echo "fuzz.sh: $cxx with libFuzzer available"; exit 0; }

build=$root/build/fuzz
mkdir -p "$build"
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_C_COMPILER="$cc" >"$build/configure.log" 2>&1 || { tail -n 20 "$build/configure.log"; exit 1; }
cmake --build "$build"

rm -rf "$build/findings"
mkdir -p "$build/seeds" "$build/corpus" "$build/findings"
"$build/fuzz_seeds" "$build/seeds"
# libhdf5 mallocs sizes read from a malformed file before checking them (found: H5C_protect asks
# for 0x8000000002c0 bytes); glibc returns NULL for an impossible size and HDF5 reports an error,
# so ASan is told to do the same for anything over 1 GiB (the harness loads at most 48 MiB): ASan
# maps a claimed 16 GiB lazily but poisons its 2 GiB of shadow on free, which libFuzzer counted
# as our RSS running out. libFuzzer's own per-malloc limit is lifted: memory actually used stays
# capped by -rss_limit_mb. fuzz/lsan.supp: leaks inside libhdf5 (not ours).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=1024}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/fuzz/lsan.supp:print_suppressions=0}
echo "fuzz.sh: fuzzing the checkpoint loaders for $seconds s (corpus $build/corpus)"
# Fork mode goes on after a finding: libhdf5 1.10 has its own crashes on malformed files, which
# would otherwise end every run early; fuzz/triage.sh sorts the findings afterwards.
rc=0
"$build/fuzz_checkpoint" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1048576 -print_final_stats=1 \
  -artifact_prefix="$build/findings/" "${extra[@]}" "$build/corpus" "$build/seeds" >"$build/fuzz.log" 2>&1 || rc=$?
grep -E "^#[0-9]+: |^INFO: fuzzed for|^INFO: exiting|^stat::|^Done" "$build/fuzz.log" | tail -n 6
findings=("$build"/findings/*)
if [ ! -e "${findings[0]}" ]; then
  [ $rc -eq 0 ] || { tail -n 30 "$build/fuzz.log"; echo "fuzz.sh: libFuzzer failed (exit $rc; log $build/fuzz.log)" >&2; exit 1; }
  echo "fuzz.sh: no findings"
  exit 0
fi
fuzz/triage.sh "$build/fuzz_checkpoint" "${findings[@]}"
