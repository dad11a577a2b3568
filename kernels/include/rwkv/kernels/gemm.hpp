// Linear-layer GEMMs. Weights are [out, in] (the PyTorch state_dict layout), so
//   forward:  y  = x W^T        x [N, in], W [out, in], y [N, out]   (overwrites y)
//   backward: dx += dy W        dx [N, in]
//             dW += dy^T x      dW [out, in]
// N = 0 or out = 0 writes no y; in = 0 gives y = 0 (the empty sum); a product over none adds 0.
// float and double go to the vendor library of the space (gemm_vendor.hpp: oneDNN or OpenBLAS on
// the host, cuBLAS on CUDA), which pick their kernels for the machine at run time and beat the
// portable kernel at RWKV shapes (docs/PERFORMANCE.md#gemm-dispatch; bench_gemm measures).
// Every other scalar and space (HIP) uses the portable tiled kernel of gemm_portable.hpp, which can
// also be called directly.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/gemm_portable.hpp>
#include <rwkv/kernels/gemm_vendor.hpp>
#include <rwkv/kernels/row_dot.hpp>
#include <rwkv/kernels/row_shares.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

#include <type_traits>

namespace rwkv {

namespace gemm_detail {

template <class ExecSpace>
inline constexpr bool is_cuda =
#if defined(KOKKOS_ENABLE_CUDA)
    std::is_same_v<ExecSpace, Kokkos::Cuda>;
#else
    false;
#endif

// The products a vendor library takes: float and double, on host spaces and on CUDA.
template <class ExecSpace, class Scalar>
inline constexpr bool use_vendor_gemm =
    (std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>) &&
    (Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible || is_cuda<ExecSpace>);

// C = op(A) op(B) + beta C with beta 0 or 1 (the callers' two cases).
template <class ExecSpace, class Scalar>
void vendor_gemm(const ExecSpace& space, bool trans_a, bool trans_b, ConstMatrix<ExecSpace, Scalar> A,
                 ConstMatrix<ExecSpace, Scalar> B, Scalar beta, const Matrix<ExecSpace, Scalar>& C) {
  const int M = int(C.extent(0)), N = int(C.extent(1));
  const int K = int(trans_a ? A.extent(0) : A.extent(1));
  if (M == 0 || N == 0) return;
  // The libraries disagree on K = 0 (some return without applying beta): the empty sum is 0.
  if (K == 0) {
    if (beta == Scalar(0)) Kokkos::deep_copy(space, C, Scalar(0));
    return;
  }
  const GemmShape shape{trans_a, trans_b, M, N, K, int(A.stride(0)), int(B.stride(0)), int(C.stride(0))};
  if constexpr (is_cuda<ExecSpace>) {
    cuda_gemm(space, shape, A.data(), B.data(), beta, C.data());
  } else {
    // The library call runs on the calling thread: earlier work of the space must be done.
    space.fence();
    host_gemm(host_gemm_default(), shape, A.data(), B.data(), beta, C.data());
  }
}

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
// gemm wastes the bandwidth on packing).
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
  if constexpr (gemm_detail::use_vendor_gemm<ExecSpace, Scalar>) {
    if (int(x.extent(0)) <= matmul_few_rows)
      matmul_forward_few_rows(space, y, x, W);
    else
      gemm_detail::vendor_gemm(space, false, true, x, W, Scalar(0), y);
  } else {
    matmul_forward_portable(space, y, x, W);
  }
}

// dx += dy W;  dW += dy^T x.  An empty dx or dW (extent 0) is skipped.
template <class ExecSpace, class Scalar>
void matmul_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx, const Matrix<ExecSpace, Scalar>& dW,
                     ConstMatrix<ExecSpace, Scalar> dy, ConstMatrix<ExecSpace, Scalar> x,
                     ConstMatrix<ExecSpace, Scalar> W) {
  if constexpr (gemm_detail::use_vendor_gemm<ExecSpace, Scalar>) {
    gemm_detail::vendor_gemm(space, false, false, dy, W, Scalar(1), dx);
    gemm_detail::vendor_gemm(space, true, false, dy, x, Scalar(1), dW);
  } else {
    matmul_backward_portable(space, dx, dW, dy, x, W);
  }
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
