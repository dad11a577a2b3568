// The two loops the pointwise kernels run over [rows, C] matrices (LayoutRight):
//   for_each_element(name, space, rows, C, f):         f(n, c) for every element
//   accumulate_column_sums(name, space, out, rows, C, f): out(c) += sum_n f(n, c), deterministic
// f is a KOKKOS_LAMBDA (captures by value); it is called on the device.
// rows = 0 or C = 0 calls f never; column sums over no rows add 0 to out.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>

#include <Kokkos_Core.hpp>

#include <type_traits>

namespace rwkv {

// Host spaces on their fast path whose kernels finish before parallel_for returns, so that a loop
// run in place on the calling thread keeps its order among them.
template <class ExecSpace>
inline constexpr bool synchronous_host_space = host_fast_path<ExecSpace> && (
#if defined(KOKKOS_ENABLE_OPENMP)
    std::is_same_v<ExecSpace, Kokkos::OpenMP> ||
#endif
#if defined(KOKKOS_ENABLE_SERIAL)
    std::is_same_v<ExecSpace, Kokkos::Serial> ||
#endif
    false);

// f(n) for every row n < rows on a host space, a work item per row. A single row (an RNN step's
// row kernels: 13 pointwise ones, two layer norms and, in int8, seven activation quantizations
// a layer) runs in place: waking the thread team for 768 channels takes longer than the loop
// (docs/PERFORMANCE.md#single-row-kernels-in-place).
template <class ExecSpace, class F>
void for_each_host_row(const char* name, const ExecSpace& space, int rows, const F& f) {
  if constexpr (synchronous_host_space<ExecSpace>) {
    if (rows == 1) {
      f(0);
      return;
    }
  }
  Kokkos::parallel_for(name, Kokkos::RangePolicy<ExecSpace>(space, 0, rows), f);
}

// Rows across threads, channels contiguous and no division per element:
//   device: a team per row, its threads across the channels (coalesced);
//   host:   a thread per row (for_each_host_row), the channels in a simd loop (a team-thread loop
//           strides by the team size, which the compiler cannot vectorize).
template <class ExecSpace, class F>
void for_each_element(const char* name, const ExecSpace& space, int rows, int C, const F& f) {
  if constexpr (host_fast_path<ExecSpace>) {
    for_each_host_row(name, space, rows, KOKKOS_LAMBDA(int n) {
      RWKV_HOST_SIMD
      for (int c = 0; c < C; ++c) f(n, c);
    });
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        name, Kokkos::TeamPolicy<ExecSpace>(space, rows, Kokkos::AUTO), KOKKOS_LAMBDA(const Team& team) {
          const int n = team.league_rank();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, C), [&](int c) { f(n, c); });
        });
  }
}

// A team owns a block of column_sum_width channels. Its column_sum_lanes x width slots are
// fixed, whatever the team size: slot (l, w) sums f(n, c0 + w) over rows n = l, l + lanes, ...
// in order; then each channel adds its lanes in order. So the result has the same bits on every
// run, for every thread count and team size. Only the loop nesting differs between spaces:
//   device: a thread per slot; a warp takes consecutive channels of one lane (coalesced);
//   host:   a thread per lane, channels innermost (contiguous, vectorizable).
inline constexpr int column_sum_width = 32;
inline constexpr int column_sum_lanes = 32;

template <class ExecSpace, class Out, class F>
void accumulate_column_sums(const char* name, const ExecSpace& space, const Out& out, int rows, int C, const F& f) {
  using Scalar = typename Out::non_const_value_type;
  using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  using Slots = Kokkos::View<Scalar**, Kokkos::LayoutRight, typename ExecSpace::scratch_memory_space,
                             Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  constexpr bool host = host_fast_path<ExecSpace>;
  constexpr int W = column_sum_width, L = column_sum_lanes;
  const int blocks = (C + W - 1) / W;
  const auto policy = Kokkos::TeamPolicy<ExecSpace>(space, blocks, Kokkos::AUTO)
                          .set_scratch_size(0, Kokkos::PerTeam(Slots::shmem_size(L, W)));
  Kokkos::parallel_for(
      name, policy, KOKKOS_LAMBDA(const Team& team) {
        const int c0 = team.league_rank() * W;
        const int width = min_of(W, C - c0);
        Slots slots(team.team_scratch(0), L, W);
        if (host) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, L), [&](int l) {
            for (int w = 0; w < W; ++w) slots(l, w) = 0;
            for (int n = l; n < rows; n += L) {
              RWKV_HOST_SIMD
              for (int w = 0; w < width; ++w) slots(l, w) += f(n, c0 + w);
            }
          });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, L * W), [&](int s) {
            const int l = s / W, w = s % W;
            Scalar acc = 0;
            if (w < width)
              for (int n = l; n < rows; n += L) acc += f(n, c0 + w);
            slots(l, w) = acc;
          });
        }
        team.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, width), [&](int w) {
          Scalar acc = 0;
          for (int l = 0; l < L; ++l) acc += slots(l, w);
          out(c0 + w) += acc;
        });
      });
}

}  // namespace rwkv
