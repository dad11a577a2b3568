// The execution spaces and scalars the library instantiates explicitly. Kernel headers declare
// these instantiations `extern` so callers do not recompile them; other combinations still
// instantiate implicitly from the header.
#pragma once

#include <Kokkos_Core.hpp>

#if defined(KOKKOS_ENABLE_SERIAL)
#define RWKV_FOR_SERIAL(MACRO, SCALAR) MACRO(Kokkos::Serial, SCALAR)
#else
#define RWKV_FOR_SERIAL(MACRO, SCALAR)
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
#define RWKV_FOR_OPENMP(MACRO, SCALAR) MACRO(Kokkos::OpenMP, SCALAR)
#else
#define RWKV_FOR_OPENMP(MACRO, SCALAR)
#endif
#if defined(KOKKOS_ENABLE_CUDA)
#define RWKV_FOR_CUDA(MACRO, SCALAR) MACRO(Kokkos::Cuda, SCALAR)
#else
#define RWKV_FOR_CUDA(MACRO, SCALAR)
#endif
#if defined(KOKKOS_ENABLE_HIP)
#if KOKKOS_VERSION >= 40000
#define RWKV_FOR_HIP(MACRO, SCALAR) MACRO(Kokkos::HIP, SCALAR)
#else
#define RWKV_FOR_HIP(MACRO, SCALAR) MACRO(Kokkos::Experimental::HIP, SCALAR)
#endif
#else
#define RWKV_FOR_HIP(MACRO, SCALAR)
#endif

#define RWKV_FOR_EACH_SPACE(MACRO, SCALAR) \
  RWKV_FOR_SERIAL(MACRO, SCALAR)           \
  RWKV_FOR_OPENMP(MACRO, SCALAR)           \
  RWKV_FOR_CUDA(MACRO, SCALAR)             \
  RWKV_FOR_HIP(MACRO, SCALAR)

// MACRO(ExecSpace, Scalar) for every enabled space with float and double.
#define RWKV_FOR_EACH_SPACE_AND_SCALAR(MACRO) \
  RWKV_FOR_EACH_SPACE(MACRO, float)           \
  RWKV_FOR_EACH_SPACE(MACRO, double)
