// Linear-layer GEMMs. Weights are [out, in] (the PyTorch state_dict layout), so
//   forward:  y  = x W^T        x [N, in], W [out, in], y [N, out]   (overwrites y)
//   backward: dx += dy W        dx [N, in]
//             dW += dy^T x      dW [out, in]
// N = 0 or out = 0 writes no y; in = 0 gives y = 0 (the empty sum); a product over none adds 0.
// float and double go through Kokkos Kernels' KokkosBlas::gemm to the vendor BLAS of the space
// (OpenBLAS on the host, cuBLAS on CUDA), which pick their kernels for the machine at run time and
// beat the portable kernel at RWKV shapes (docs/PERFORMANCE.md#gemm-dispatch; bench_gemm measures).
// Every other scalar, and every build without Kokkos Kernels, uses the portable tiled kernel of
// gemm_portable.hpp, which can also be called directly.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/gemm_portable.hpp>
#include <rwkv/kernels/row_dot.hpp>
#include <rwkv/kernels/row_shares.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

#include <type_traits>

// The library links Kokkos Kernels; the header check serves compile-only builds against a Kokkos
// that comes without it (scripts/check-kokkos5.sh), where the portable kernel takes every call.
#if __has_include(<KokkosBlas3_gemm.hpp>)
#include <KokkosBlas3_gemm.hpp>
#define RWKV_GEMM_HAS_KOKKOS_KERNELS 1
#else
#define RWKV_GEMM_HAS_KOKKOS_KERNELS 0
#endif

namespace rwkv {

namespace gemm_detail {

// The scalars Kokkos Kernels hands to the vendor BLAS.
template <class Scalar>
inline constexpr bool use_vendor_blas =
    RWKV_GEMM_HAS_KOKKOS_KERNELS && (std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>);

#if RWKV_GEMM_HAS_KOKKOS_KERNELS
// C = op(A) op(B) + beta C through KokkosBlas::gemm; trans_a / trans_b are "N" or "T".
template <class ExecSpace, class Scalar>
void vendor_gemm(const ExecSpace& space, const char* trans_a, const char* trans_b, ConstMatrix<ExecSpace, Scalar> A,
                 ConstMatrix<ExecSpace, Scalar> B, Scalar beta, const Matrix<ExecSpace, Scalar>& C) {
  const std::size_t K = trans_a[0] == 'N' ? A.extent(1) : A.extent(0);
  // Kokkos Kernels returns early on K = 0 without applying beta.
  if (K == 0) {
    if (beta == Scalar(0)) Kokkos::deep_copy(space, C, Scalar(0));
    return;
  }
  // The views' own execution space (e.g. OpenMP for host views when `space` is Serial).
  using ViewSpace = typename Matrix<ExecSpace, Scalar>::execution_space;
  if constexpr (std::is_same_v<ExecSpace, ViewSpace>) {
#if KOKKOS_VERSION >= 40000
    KokkosBlas::gemm(space, trans_a, trans_b, Scalar(1), A, B, beta, C);
#else
    // Kokkos Kernels 3.x has no instance argument: gemm runs on the default instance, which on
    // CUDA is the legacy default stream, ordered with every other (blocking) stream, and on the
    // host is synchronous; so no fences are needed.
    KokkosBlas::gemm(trans_a, trans_b, Scalar(1), A, B, beta, C);
#endif
  } else {
    // Another space sharing the memory (Serial beside OpenMP): order the two explicitly.
    space.fence();
    KokkosBlas::gemm(trans_a, trans_b, Scalar(1), A, B, beta, C);
    ViewSpace().fence();
  }
}

#endif

#if defined(RWKV_OPENMP_LOOPS)
// y = W x for one row x on Kokkos::OpenMP, as a plain OpenMP region (the Kokkos backend is
// synchronous, so the region keeps its place among the space's kernels), which reads faster than a
// Kokkos parallel_for over the rows; the rows are shared as row_shares.hpp says.
// The dot product is row_dot's simd loop (the explicit template argument passes over its AVX-512
// overload, slower here), called rather than written out inside the lambda, where GCC 12 kept the
// accumulator in memory. Figures: docs/PERFORMANCE.md#one-row-products (lab experiment
// row_dot_variants in benchmarks/lab/).
template <class Scalar>
void one_row_product_openmp(const Kokkos::OpenMP& space, Scalar* y, const Scalar* x, const Scalar* W,
                            std::size_t w_stride, int in, int out) {
  const int threads = space.concurrency();
  RowShares shares(out, threads, w_stride * sizeof(Scalar));
#pragma omp parallel num_threads(threads)
  shares.run([&](int i) { y[i] = row_dot<Scalar>(W + i * w_stride, x, in); });
}
#endif

}  // namespace gemm_detail

// y = x W^T for a few rows x (RNN-mode steps), where every weight is read once and the product
// is bound by memory bandwidth: a dot product per output, over contiguous rows of W (a one-row
// gemm wastes the bandwidth on packing, and Kokkos Kernels' gemv does not reach the vendor BLAS
// for LayoutRight vectors).
//   device: a team per output, its threads across the inputs;
//   host:   a work item per output row (row_dot.hpp; one row of x on OpenMP:
//           gemm_detail::one_row_product_openmp). Each thread reads contiguous runs of rows as
//           one stream, faster than rows read side by side (docs/PERFORMANCE.md#one-stream-a-thread;
//           lab experiment row_streams in benchmarks/lab/).
template <class ExecSpace, class Scalar>
void matmul_forward_few_rows(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y,
                             ConstMatrix<ExecSpace, Scalar> x, ConstMatrix<ExecSpace, Scalar> W) {
  const int N = int(x.extent(0)), in = int(x.extent(1)), out = int(W.extent(0));
  if constexpr (host_fast_path<ExecSpace>) {
    // Raw pointers, and a kernel of its own for one row of x: through the views' accessors, or in a
    // loop over the rows of x, these loops read slower (docs/PERFORMANCE.md#one-row-products).
    const Scalar* w = W.data();
    const Scalar* xp = x.data();
    Scalar* yp = y.data();
    const std::size_t w_stride = W.stride(0);
#if defined(RWKV_OPENMP_LOOPS)
    if constexpr (std::is_same_v<ExecSpace, Kokkos::OpenMP>) {
      if (N == 1) return gemm_detail::one_row_product_openmp(space, yp, xp, w, w_stride, in, out);
    }
#endif
    if (N == 1) {
      Kokkos::parallel_for(
          "rwkv::matmul_forward_few_rows", Kokkos::RangePolicy<ExecSpace>(space, 0, out),
          KOKKOS_LAMBDA(int i) { yp[i] = gemm_detail::row_dot(w + i * w_stride, xp, in); });
    } else {
      const std::size_t x_stride = x.stride(0), y_stride = y.stride(0);
      Kokkos::parallel_for(
          "rwkv::matmul_forward_few_rows", Kokkos::RangePolicy<ExecSpace>(space, 0, out), KOKKOS_LAMBDA(int i) {
            for (int n = 0; n < N; ++n) yp[n * y_stride + i] = gemm_detail::row_dot(w + i * w_stride, xp + n * x_stride, in);
          });
    }
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "rwkv::matmul_forward_few_rows", Kokkos::TeamPolicy<ExecSpace>(space, out, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int i = team.league_rank();
          for (int n = 0; n < N; ++n) {
            Scalar acc = 0;
            Kokkos::parallel_reduce(
                Kokkos::TeamThreadRange(team, in), [&](int j, Scalar& sum) { sum += W(i, j) * x(n, j); }, acc);
            Kokkos::single(Kokkos::PerTeam(team), [&]() { y(n, i) = acc; });
          }
        });
  }
}

// Rows up to which matmul_forward takes matmul_forward_few_rows.
inline constexpr int matmul_few_rows = 1;

// y = x W^T (overwrites y); a single row goes to matmul_forward_few_rows.
template <class ExecSpace, class Scalar>
void matmul_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> x,
                    ConstMatrix<ExecSpace, Scalar> W) {
#if RWKV_GEMM_HAS_KOKKOS_KERNELS
  if constexpr (gemm_detail::use_vendor_blas<Scalar>) {
    if (int(x.extent(0)) <= matmul_few_rows)
      matmul_forward_few_rows(space, y, x, W);
    else
      gemm_detail::vendor_gemm(space, "N", "T", x, W, Scalar(0), y);
    return;
  }
#endif
  matmul_forward_portable(space, y, x, W);
}

// dx += dy W;  dW += dy^T x.  An empty dx or dW (extent 0) is skipped.
template <class ExecSpace, class Scalar>
void matmul_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx, const Matrix<ExecSpace, Scalar>& dW,
                     ConstMatrix<ExecSpace, Scalar> dy, ConstMatrix<ExecSpace, Scalar> x,
                     ConstMatrix<ExecSpace, Scalar> W) {
#if RWKV_GEMM_HAS_KOKKOS_KERNELS
  if constexpr (gemm_detail::use_vendor_blas<Scalar>) {
    if (dx.size() > 0) gemm_detail::vendor_gemm(space, "N", "N", dy, W, Scalar(1), dx);
    if (dW.size() > 0) gemm_detail::vendor_gemm(space, "T", "N", dy, x, Scalar(1), dW);
    return;
  }
#endif
  matmul_backward_portable(space, dx, dW, dy, x, W);
}

#define RWKV_GEMM_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                          \
  PREFIX template void matmul_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,              \
                                                     ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>); \
  PREFIX template void matmul_backward<SPACE, SCALAR>(                                                        \
      const SPACE&, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,     \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>);                                               \
  PREFIX template void matmul_forward_few_rows<SPACE, SCALAR>(                                                \
      const SPACE&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>);

#define RWKV_GEMM_EXTERN(SPACE, SCALAR) RWKV_GEMM_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_GEMM_EXTERN)
#undef RWKV_GEMM_EXTERN

}  // namespace rwkv
