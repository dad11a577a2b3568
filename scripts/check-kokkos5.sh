#!/usr/bin/env bash
# Forward-compatibility check: compiles every translation unit of the tree (library, tests,
# examples, benchmarks, image) against sid's Kokkos 5.2.2 headers with g++ -std=c++20.
# Syntax and template instantiation only: Debian 12 cannot link Kokkos 5's libraries.
#   scripts/check-kokkos5.sh    (scripts/setup.sh --kokkos5-headers provides the headers)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
prefix=${RWKV_DEPS_PREFIX:-/opt/rwkv-kokkos}
kokkos5=$prefix/kokkos5/include/kokkos
[ -f "$kokkos5/KokkosCore_config.h" ] || ./scripts/setup.sh --no-apt --kokkos5-headers

version=$(awk '/define KOKKOS_VERSION /{print $3}' "$kokkos5/KokkosCore_config.h" 2>/dev/null || true)
[ -n "$version" ] || version=$(grep -rh "define KOKKOS_VERSION_MAJOR\|define KOKKOS_VERSION_MINOR\|define KOKKOS_VERSION_PATCH" "$kokkos5" | awk '{printf "%s.", $3}')

# A pass leaves a stamp; the next one (a second scripts/test.sh run) is skipped while no source,
# header, this script or the Kokkos 5 headers are newer.
stamp=build/kokkos5-check.stamp
if [ -f "$stamp" ] && [ -z "$(find include src kernels tests examples benchmarks image scripts/check-kokkos5.sh "$prefix/kokkos5/.rwkv-kokkos-stamp" -newer "$stamp" -type f -print -quit)" ]; then
  echo "[kokkos5] no source changed since the last pass ($stamp): skipped"
  exit 0
fi
rm -f "$stamp"

mapfile -t sources < <(find src kernels tests examples benchmarks image -name '*.cpp' -not -path 'tests/downstream/*' 2>/dev/null | sort)
echo "[kokkos5] compiling ${#sources[@]} translation units against Kokkos $version headers in $kokkos5"
t0=$SECONDS
flags=(-std=c++20 -fopenmp -fsyntax-only -Wall -Wno-unknown-pragmas -DRWKV_TEST_DATA_DIR=\"$root/tests/data\"
       -DRWKV_DEPS_DATA_DIR=\"$prefix/data\" -DRWKV_IMAGE_DATA_PROGRAM=\"rwkv-image-data\"
       -DRWKV_HOST_GEMM_DEFAULT=onednn -DRWKV_HAVE_ONEDNN=1 -DRWKV_TEST_HOST_GEMM=\"onednn\"
       -I"$root/include" -I"$root/kernels/include" -I"$root/image/include" -I"$root/examples" -I"$root/benchmarks" -isystem "$kokkos5" -isystem /usr/include/hdf5/serial)
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -I{} sh -c 'g++ "$@" {} || { echo "[kokkos5] FAILED: {}"; exit 255; }' g++ "${flags[@]}"
echo "[kokkos5] all ${#sources[@]} translation units compile against Kokkos $version ($((SECONDS - t0)) s)"
mkdir -p build && touch "$stamp"
