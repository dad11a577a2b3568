// The loop of the per-head kernels of RWKV-7 (key7.hpp, ln_x7.hpp) over [rows, C] matrices whose
// C = H*N channels form H heads of N: head h owns channels h*N .. h*N+N-1.
//   for_each_row_head(name, space, rows, H, f): f(n, h) for every row n and head h
// f walks its head's N channels itself (sums over the head, then the channels): on the host a
// thread per row (for_each_host_row), its heads in turn and the channels in simd loops; on a
// device a thread per (row, head). rows = 0 or H = 0 calls f never.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

#include <Kokkos_Core.hpp>

namespace rwkv {

// The head count of C channels in heads of N; C must be a multiple of N.
inline int heads_of(int C, int N) {
  if (N <= 0 || C % N != 0) Kokkos::abort("rwkv: the channel count is not a multiple of the head size");
  return C / N;
}

template <class ExecSpace, class F>
void for_each_row_head(const char* name, const ExecSpace& space, int rows, int H, const F& f) {
  if (rows == 0 || H == 0) return;
  if constexpr (host_fast_path<ExecSpace>) {
    for_each_host_row(name, space, rows, KOKKOS_LAMBDA(int n) {
      for (int h = 0; h < H; ++h) f(n, h);
    });
  } else {
    Kokkos::parallel_for(name, Kokkos::RangePolicy<ExecSpace>(space, 0, rows * H),
                         KOKKOS_LAMBDA(int i) { f(i / H, i % H); });
  }
}

}  // namespace rwkv
