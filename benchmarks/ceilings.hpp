// The machine's ceilings, measured in the same run as the kernels they judge: the best sgemm rate
// through the library's GEMM path, and the read bandwidth of a streaming sum.
#pragma once

#include <rwkv/kernels/gemm.hpp>
#include <rwkv/vector_math.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace rwkv::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Best of `repeats` timed y = x W^T products on n x n float matrices, in GFLOP/s.
template <class Space = Kokkos::DefaultExecutionSpace>
double sgemm_ceiling_gflops(int n, int repeats) {
  Matrix<Space, float> x("x", n, n), w("w", n, n), y("y", n, n);
  Kokkos::deep_copy(x, 1.0f);
  Kokkos::deep_copy(w, 0.5f);
  Space space;
  matmul_forward(space, y, x, w);
  space.fence();
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    matmul_forward(space, y, x, w);
    space.fence();
    best = std::max(best, 2.0 * n * double(n) * n / seconds_since(t0) / 1e9);
  }
  return best;
}

// Best of `repeats` timed sums over `bytes` of floats, in GB/s: what reading weights once can
// reach. Chunks of 4096 floats per work item, summed in simd loops on the host.
template <class Space = Kokkos::DefaultExecutionSpace>
double read_bandwidth_gbs(std::int64_t bytes, int repeats) {
  constexpr int chunk = 4096;
  const std::int64_t n = bytes / sizeof(float) / chunk * chunk;
  const int chunks = int(n / chunk);
  Kokkos::View<float*, typename Space::memory_space> data("read_bandwidth", n);
  Kokkos::View<float*, typename Space::memory_space> sums("read_bandwidth_sums", chunks);
  Kokkos::deep_copy(data, 1.0f);
  const auto run = [&] {
    Kokkos::parallel_for(
        "rwkv::bench::read", Kokkos::RangePolicy<Space>(0, chunks), KOKKOS_LAMBDA(int c) {
          // Four streams at once, as the RNN-step kernels read four weight rows: the most
          // memory-level parallelism the kernels get, so the floor is not set low.
          constexpr int quarter = chunk / 4;
          const float* p = &data(std::int64_t(c) * chunk);  // raw: vectorizes as the kernels' loops do
          float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          RWKV_HOST_SIMD_REDUCTION(+ : a0, a1, a2, a3)
          for (int i = 0; i < quarter; ++i) {
            a0 += p[i];
            a1 += p[quarter + i];
            a2 += p[2 * quarter + i];
            a3 += p[3 * quarter + i];
          }
          sums(c) = a0 + a1 + a2 + a3;
        });
    Space().fence();
  };
  run();
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    run();
    best = std::max(best, double(n) * sizeof(float) / seconds_since(t0) / 1e9);
  }
  return best;
}

}  // namespace rwkv::bench
