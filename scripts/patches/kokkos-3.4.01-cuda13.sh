#!/usr/bin/env bash
# Our patch making Kokkos 3.4.01 (from Debian's trilinos 13.2.0 source) compile and link with
# CUDA 13 for Hopper. Applied by scripts/setup.sh --cuda to a copy of the sources:
#   kokkos-3.4.01-cuda13.sh KOKKOS_SOURCE_DIR
# Each edit checks that it took, so a changed source fails loudly instead of half-patching.
set -euo pipefail
src=${1:?usage: $0 KOKKOS_SOURCE_DIR}

edit() {  # edit FILE PYTHON_EXPRESSION_ON_s  (the expression must change the file)
  local file=$src/$1
  python3 - "$file" "$2" <<'PY'
import sys
path, expr = sys.argv[1], sys.argv[2]
s = open(path).read()
new = eval(expr, {"s": s})
if new == s:
    sys.exit(f"patch did not apply to {path}: {expr[:80]}")
open(path, "w").write(new)
PY
}

# 1. nvcc 13 rejects nvcc_wrapper's default sm_35 (its oldest target is sm_75), which breaks
#    CMake's compiler check before any arch flag is given.
edit bin/nvcc_wrapper 's.replace("default_arch=\"sm_35\"", "default_arch=\"sm_90\"")'

# 2. nvcc_wrapper hands -std=c++20 to the host compiler only, so nvcc parses the host headers as
#    C++17 (char8_t errors); nvcc 13 takes -std=c++20 itself. Treat it like -std=c++17.
edit bin/nvcc_wrapper 's.replace("  --std=c++17|-std=c++17)\n", "  --std=c++17|-std=c++17|--std=c++20|-std=c++20)\n", 1)'
#    ... and Kokkos' CMake test of the standard flag refuses anything but C++14/17 for nvcc.
edit cmake/kokkos_test_cxx_std.cmake 's.replace("SET(SUPPORTED_NVCC_FLAGS \"-std=c++14;-std=c++17\")", "SET(SUPPORTED_NVCC_FLAGS \"-std=c++14;-std=c++17;-std=c++20\")")'

# 3. No Hopper option in 3.4: add HOPPER90 -> sm_90 (3.4 has no Hopper-specific code paths).
edit cmake/kokkos_arch.cmake 's.replace("KOKKOS_ARCH_OPTION(AMPERE86        GPU  \"NVIDIA Ampere generation CC 8.6\")\n", "KOKKOS_ARCH_OPTION(AMPERE86        GPU  \"NVIDIA Ampere generation CC 8.6\")\nKOKKOS_ARCH_OPTION(HOPPER90        GPU  \"NVIDIA Hopper generation CC 9.0\")\n", 1)'
edit cmake/kokkos_arch.cmake 's.replace("CHECK_CUDA_ARCH(AMPERE86  sm_86)\n", "CHECK_CUDA_ARCH(AMPERE86  sm_86)\nCHECK_CUDA_ARCH(HOPPER90  sm_90)\n", 1)'

# 4. Kokkos_Cuda_Half.hpp hands half_t to the __half2* intrinsics, which take __half (half_t
#    converts to it only explicitly), and calls __half2double, which CUDA does not have.
edit core/src/Cuda/Kokkos_Cuda_Half.hpp '__import__("re").sub(r"return __half2(\w+)\(val\);", r"return __half2\1(static_cast<half_t::impl_type>(val));", s)'
edit core/src/Cuda/Kokkos_Cuda_Half.hpp 's.replace("return __half2double(static_cast<half_t::impl_type>(val));", "return static_cast<double>(__half2float(static_cast<half_t::impl_type>(val)));")'

# 5. CUDA 13 changed cudaMemPrefetchAsync to (ptr, bytes, cudaMemLocation, flags, stream).
edit core/src/Cuda/Kokkos_CudaSpace.cpp 's.replace("cudaMemPrefetchAsync(ptr, bytes, space.cuda_device(),\n                                        space.cuda_stream())", "cudaMemPrefetchAsync(ptr, bytes, cudaMemLocation{cudaMemLocationTypeDevice, space.cuda_device()}, 0,\n                                        space.cuda_stream())", 1)'
