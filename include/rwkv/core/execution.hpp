// Which code a kernel runs where. Kernels keep two paths where the host gains from its own:
//   host fast path: raw-pointer simd loops, a thread per row, the kernels' own OpenMP loops;
//   device path:    teams over rows, a thread per channel, as a GPU runs it.
// A build with RWKV_PORTABLE_PATHS (cmake -DRWKV_PORTABLE_PATHS=ON, the `portable` preset) sends
// every space down the device path, so that the GPU code runs, and is tested, on the host too.
#pragma once

#include <Kokkos_Core.hpp>

#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__) || defined(__SYCL_DEVICE_ONLY__)
#define RWKV_DEVICE_PASS 1
#endif

// Kernels may run their own OpenMP loops on Kokkos::OpenMP (a host pass with OpenMP on).
#if defined(KOKKOS_ENABLE_OPENMP) && defined(_OPENMP) && !defined(RWKV_DEVICE_PASS) && !defined(RWKV_PORTABLE_PATHS)
#define RWKV_OPENMP_LOOPS 1
#endif

namespace rwkv {

// Whether kernels on ExecSpace take their host fast path: on every space that reaches host memory,
// unless the build asks for the device paths everywhere.
template <class ExecSpace>
inline constexpr bool host_fast_path =
#if defined(RWKV_PORTABLE_PATHS)
    false;
#else
    Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible;
#endif

}  // namespace rwkv
