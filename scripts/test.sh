#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone:
#   scripts/test.sh [--preset NAME] [--no-compile-checks]
# 1. scripts/setup.sh (installs whatever is missing; seconds when everything is there);
# 2. configure, build and ctest the preset (default: openmp);
# 3. configure, build and ctest the `portable` preset: the library's tests (rwkv_tests, ctest label
#    `unit`) with every kernel on the code path it takes on a GPU (RWKV_PORTABLE_PATHS), so that the
#    device code runs on every CI run (the programs hold no kernels: their tests run in step 2);
# 4. 60 s of fuzzing the checkpoint loaders (scripts/fuzz.sh), where clang's libFuzzer is installed;
# 5. the portability compile checks: the whole tree against the Kokkos 5.2.2 headers
#    (scripts/check-kokkos5.sh) and the library and programs for CUDA sm_90 (scripts/check-cuda.sh;
#    --whole-tree there adds the tests and benchmarks).
# Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

preset=openmp
compile_checks=1
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --no-compile-checks) compile_checks=0; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

stamp() { printf '[test] %s (%d s)\n' "$*" "$SECONDS"; }

setup_args=()
[ $compile_checks -eq 1 ] && setup_args+=(--cuda --kokkos5-headers)
./scripts/setup.sh "${setup_args[@]}"
stamp "setup done"

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
stamp "build done"
ctest --preset "$preset" --timeout 1200
stamp "ctest done"

if [ "$preset" != portable ]; then
  cmake --preset portable >/dev/null
  cmake --build --preset portable --target rwkv_tests
  stamp "portable build done"
  ctest --preset portable --timeout 1200 -L unit
  stamp "portable ctest done"
fi

if fuzz_status=$(./scripts/fuzz.sh --available 2>&1); then
  ./scripts/fuzz.sh --time 60
  stamp "fuzz done"
else
  stamp "fuzz skipped: $fuzz_status"
fi

if [ $compile_checks -eq 1 ]; then
  ./scripts/check-kokkos5.sh
  stamp "Kokkos 5 compile check done"
  ./scripts/check-cuda.sh
  stamp "CUDA compile check done"
fi
