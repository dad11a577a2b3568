// Portable tiled GEMM on Kokkos teams, for the three products of a linear layer (W is [out, in]):
//   y  = x W^T        (forward; overwrites y)
//   dx += dy W        (backward, input gradient)
//   dW += dy^T x      (backward, weight gradient)
// A zero extent as in gemm.hpp: an empty C is not touched, K = 0 gives C = beta C.
// Each team computes one TM x TN tile of C = op(A) op(B) + beta C, walking K in steps of TK: the
// team copies the op(A) and op(B) panels of the step into scratch memory, then every thread
// multiplies its MR x NR micro-tiles out of scratch (GPUs: one micro-tile per thread, summed in
// registers over all of K; hosts: one thread per team, adding each step's sums into C). Sums run
// over K in a fixed order, so results are the same bits every run (the weight gradient needs that).
// This is the path for scalars the vendor libraries lack (e.g. reduced precision) and for spaces
// without one (HIP, for now); gemm.hpp dispatches float and double to the vendor library.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/views.hpp>

#include <type_traits>

namespace rwkv {

namespace gemm_detail {

// Narrow storage types (half, bf16) accumulate in float.
template <class Scalar>
using accumulator_t = std::conditional_t<(sizeof(Scalar) < sizeof(float)), float, Scalar>;

// Tile shapes. GPUs: a 64 x 64 tile per team of 256 threads, each owning a 4 x 4 micro-tile whose
// rows and columns are strided by 16, so that a warp reads scratch without bank conflicts and
// writes runs of consecutive columns of C; a padded scratch row keeps the transposing copies free
// of bank conflicts too. Hosts: one thread per team walks contiguous MR x NR micro-tiles, NR
// columns being one 32-byte vector, so the innermost loop vectorizes; a deeper K step there makes
// fewer passes over C.
template <class ExecSpace, class Scalar>
struct GemmTiling {
  // The memory space, not host_fast_path, decides: host backends cap a team far below the GPU tile's.
  static constexpr bool host = std::is_same_v<typename ExecSpace::memory_space, Kokkos::HostSpace>;
  static constexpr int TM = 64;
  static constexpr int TN = 64;
  static constexpr int TK = host ? 128 : 32;
  static constexpr int MR = 4;
  static constexpr int NR = host ? int(32 / sizeof(Scalar)) : 4;
  static constexpr int pad = host ? 0 : 1;
  static constexpr int micro_rows = TM / MR;  // micro-tiles per tile, down and across
  static constexpr int micro_cols = TN / NR;
  static constexpr int team_size = host ? 1 : micro_rows * micro_cols;
  // Element (i, j) of micro-tile (ur, uc) sits at row ur * MR + i (host) or ur + i * micro_rows (GPU).
  static constexpr int row_step = host ? 1 : micro_rows;
  static constexpr int col_step = host ? 1 : micro_cols;
  static constexpr int row_base = host ? MR : 1;
  static constexpr int col_base = host ? NR : 1;
  static_assert(TM % MR == 0 && TN % NR == 0, "tiles must split into whole micro-tiles");
};

// C [M, N] = op(A) [M, K] op(B) [K, N] + beta C, where op(A) = A^T (A stored [K, M]) if TransA
// and op(B) = B^T (B stored [N, K]) if TransB. beta = 0 never reads C.
template <bool TransA, bool TransB, class ExecSpace, class Scalar>
void gemm_tiled(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& C, ConstMatrix<ExecSpace, Scalar> A,
                ConstMatrix<ExecSpace, Scalar> B, Scalar beta) {
  using Tiling = GemmTiling<ExecSpace, Scalar>;
  using Acc = accumulator_t<Scalar>;
  constexpr int TM = Tiling::TM, TN = Tiling::TN, TK = Tiling::TK, MR = Tiling::MR, NR = Tiling::NR;
  const int M = int(C.extent(0));
  const int N = int(C.extent(1));
  const int K = int(TransA ? A.extent(0) : A.extent(1));
  if (M == 0 || N == 0) return;
  const int tiles_n = (N + TN - 1) / TN;
  const int tiles = ((M + TM - 1) / TM) * tiles_n;
  // K = 0 still takes one (empty) step, which writes beta C.
  const int k_steps = max_of(1, (K + TK - 1) / TK);

  using Scratch = Kokkos::View<Scalar**, Kokkos::LayoutRight, typename ExecSpace::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  const std::size_t scratch_bytes = Scratch::shmem_size(TK, TM + Tiling::pad) + Scratch::shmem_size(TK, TN + Tiling::pad);
  const auto policy = Kokkos::TeamPolicy<ExecSpace>(space, tiles, Tiling::team_size)
                          .set_scratch_size(0, Kokkos::PerTeam(scratch_bytes));
  using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  Kokkos::parallel_for(
      "rwkv::gemm_tiled", policy, KOKKOS_LAMBDA(const Team& team) {
        const int m0 = (team.league_rank() / tiles_n) * TM;
        const int n0 = (team.league_rank() % tiles_n) * TN;
        const Scratch As(team.team_scratch(0), TK, TM + Tiling::pad);  // As(k, m) = op(A)(m0 + m, k0 + k)
        const Scratch Bs(team.team_scratch(0), TK, TN + Tiling::pad);  // Bs(k, n) = op(B)(k0 + k, n0 + n)
        // Copies the panels of the K step at k0 (kn deep) into scratch, zeros past the edges. The
        // copies run along the axis that is contiguous in global memory, so GPU loads coalesce.
        auto load = [&](int k0, int kn) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, TK * TM), [&](int e) {
            const int k = TransA ? e / TM : e % TK;
            const int m = TransA ? e % TM : e / TK;
            const int gm = m0 + m, gk = k0 + k;
            As(k, m) = (gm < M && k < kn) ? (TransA ? A(gk, gm) : A(gm, gk)) : Scalar(0);
          });
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, TK * TN), [&](int e) {
            const int k = TransB ? e % TK : e / TN;
            const int n = TransB ? e / TK : e % TN;
            const int gn = n0 + n, gk = k0 + k;
            Bs(k, n) = (gn < N && k < kn) ? (TransB ? B(gn, gk) : B(gk, gn)) : Scalar(0);
          });
          team.team_barrier();
        };
        // acc += the panels' product on micro-tile u.
        auto multiply = [&](Acc(&acc)[MR][NR], int u, int kn) {
          const int r0 = (u / Tiling::micro_cols) * Tiling::row_base;
          const int c0 = (u % Tiling::micro_cols) * Tiling::col_base;
          for (int k = 0; k < kn; ++k) {
            const Scalar* a_row = &As(k, r0);
            const Scalar* b_row = &Bs(k, c0);
            Acc a[MR];
            for (int i = 0; i < MR; ++i) a[i] = Acc(a_row[i * Tiling::row_step]);
            for (int i = 0; i < MR; ++i)
              for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * Acc(b_row[j * Tiling::col_step]);
          }
        };
        // C = acc + (first ? beta C : C) on micro-tile u; beta = 0 must not read C (it may hold NaN).
        auto store = [&](const Acc(&acc)[MR][NR], int u, bool first) {
          const int r0 = (u / Tiling::micro_cols) * Tiling::row_base;
          const int c0 = (u % Tiling::micro_cols) * Tiling::col_base;
          for (int i = 0; i < MR; ++i) {
            const int gm = m0 + r0 + i * Tiling::row_step;
            if (gm >= M) continue;
            for (int j = 0; j < NR; ++j) {
              const int gn = n0 + c0 + j * Tiling::col_step;
              if (gn >= N) continue;
              const Acc prior = !first ? Acc(C(gm, gn)) : (beta == Scalar(0) ? Acc(0) : Acc(beta) * Acc(C(gm, gn)));
              C(gm, gn) = Scalar(prior + acc[i][j]);
            }
          }
        };
        if (Tiling::host) {
          // One thread walks all micro-tiles of each K step, adding each step's sums into C.
          for (int step = 0; step < k_steps; ++step) {
            const int kn = min_of(TK, K - step * TK);
            load(step * TK, kn);
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, Tiling::micro_rows * Tiling::micro_cols), [&](int u) {
              Acc acc[MR][NR] = {};
              multiply(acc, u, kn);
              store(acc, u, step == 0);
            });
            team.team_barrier();
          }
        } else {
          // One micro-tile per thread: its sums stay in registers over all K steps; C is written once.
          const int u = team.team_rank();
          Acc acc[MR][NR] = {};
          for (int step = 0; step < k_steps; ++step) {
            const int kn = min_of(TK, K - step * TK);
            load(step * TK, kn);
            multiply(acc, u, kn);
            team.team_barrier();
          }
          store(acc, u, true);
        }
      });
}

}  // namespace gemm_detail

// y = x W^T (overwrites y).  x [N, in], W [out, in], y [N, out].
template <class ExecSpace, class Scalar>
void matmul_forward_portable(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y,
                             ConstMatrix<ExecSpace, Scalar> x, ConstMatrix<ExecSpace, Scalar> W) {
  gemm_detail::gemm_tiled<false, true>(space, y, x, W, Scalar(0));
}

// dx += dy W;  dW += dy^T x.  An empty dx or dW (extent 0) is skipped.
template <class ExecSpace, class Scalar>
void matmul_backward_portable(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx,
                              const Matrix<ExecSpace, Scalar>& dW, ConstMatrix<ExecSpace, Scalar> dy,
                              ConstMatrix<ExecSpace, Scalar> x, ConstMatrix<ExecSpace, Scalar> W) {
  if (dx.size() > 0) gemm_detail::gemm_tiled<false, false>(space, dx, dy, W, Scalar(1));
  if (dW.size() > 0) gemm_detail::gemm_tiled<true, false>(space, dW, dy, x, Scalar(1));
}

#define RWKV_GEMM_PORTABLE_INSTANTIATE(PREFIX, SPACE, SCALAR)                                              \
  PREFIX template void matmul_forward_portable<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&, \
                                                              ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>); \
  PREFIX template void matmul_backward_portable<SPACE, SCALAR>(                                            \
      const SPACE&, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,  \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>);

#define RWKV_GEMM_PORTABLE_EXTERN(SPACE, SCALAR) RWKV_GEMM_PORTABLE_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_GEMM_PORTABLE_EXTERN)
#undef RWKV_GEMM_PORTABLE_EXTERN

}  // namespace rwkv
