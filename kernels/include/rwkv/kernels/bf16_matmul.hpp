// bfloat16 weights for inference: a weight W [out, in] is kept as the bfloat16 nearest to each
// element (ties to even, core/bfloat16.hpp), half the bytes of float, and
//   y = x W^T,   y[n, i] = sum_j bf16(W[i, j]) * x[n, j],   x [N, in], y [N, out] (overwrites y),
// with x as it is (float or double) and every product and sum in the scalar's precision: the
// weights are the only thing rounded (a relative 2^-9 at most each), so the result is within a
// Scalar dot product's rounding of the exact sum over the rounded weights.
// N = 0 or out = 0 writes no y; in = 0 gives y = 0 (the empty sum).
#pragma once

#include <rwkv/core/bfloat16.hpp>
#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/bf16_dot.hpp>
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>

namespace rwkv {

template <class ExecSpace>
struct BFloat16Matrix {
  Kokkos::View<std::uint16_t**, Kokkos::LayoutRight, typename ExecSpace::memory_space> bits;  // [out, in]

  BFloat16Matrix() = default;
  BFloat16Matrix(const std::string& label, int out, int in)
      : bits(Kokkos::view_alloc(label + ".bits", Kokkos::WithoutInitializing), out, in) {}
  // bits in `storage` (out * in elements of the caller's, which must outlive the matrix).
  BFloat16Matrix(std::uint16_t* storage, int out, int in) : bits(storage, out, in) {}
  std::size_t bytes() const { return bits.size() * sizeof(std::uint16_t); }
};

// Rows of x up to which the product is a dot product per weight row (a batched step's
// sequences); more rows widen blocks of W to Scalar and multiply them with the vendor GEMM, which
// reuses each weight across the rows.
inline constexpr int bf16_dot_rows = 8;
// Elements of W widened per GEMM call: whole matrices but the head; smaller blocks ran prefill
// slower (docs/PERFORMANCE.md#bfloat16-weights).
inline constexpr int bf16_block_elements = 1 << 22;

// Buffers of the products, grown to the largest seen and reused: the host kernel's arranged rows
// of x (bf16_dot.hpp), and a block of W's rows widened for the GEMM of many rows.
template <class ExecSpace, class Scalar>
struct BFloat16Work {
  using Buffer = Kokkos::View<Scalar*, typename ExecSpace::memory_space>;
  Buffer x, block;
  int block_elements = bf16_block_elements;  // at least one row is widened a block

  static void grow(Buffer& v, std::size_t size, const char* label) {
    if (v.size() < size) v = Buffer(Kokkos::view_alloc(std::string(label), Kokkos::WithoutInitializing), size);
  }
};


// out.bits = the bfloat16 nearest to each element of W (same extents).
template <class ExecSpace, class Scalar>
void convert_bfloat16(const ExecSpace& space, const BFloat16Matrix<ExecSpace>& out, ConstMatrix<ExecSpace, Scalar> W) {
  const auto bits = out.bits;
  for_each_element("rwkv::convert_bfloat16", space, int(W.extent(0)), int(W.extent(1)),
                   KOKKOS_LAMBDA(int i, int j) { bits(i, j) = bfloat16_round(W(i, j)); });
}

namespace bf16_detail {

// The many-row product: blocks of W widened into work.block, each multiplied by the vendor GEMM
// into its columns of y.
template <class ExecSpace, class Scalar>
void gemm_blocks(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> x,
                 const BFloat16Matrix<ExecSpace>& W, BFloat16Work<ExecSpace, Scalar>& work) {
  const int N = int(x.extent(0)), in = int(x.extent(1)), out = int(W.bits.extent(0));
  const int block_rows = std::max(1, std::min(out, work.block_elements / in));
  BFloat16Work<ExecSpace, Scalar>::grow(work.block, std::size_t(block_rows) * in, "bf16_block");
  const auto bits = W.bits;
  const auto block = work.block;
  for (int i0 = 0; i0 < out; i0 += block_rows) {
    const int rows = std::min(block_rows, out - i0);
    for_each_element("rwkv::bf16_widen_block", space, rows, in, KOKKOS_LAMBDA(int r, int j) {
      block(std::size_t(r) * in + j) = Scalar(bfloat16_to_float(bits(i0 + r, j)));
    });
    const GemmShape shape{false, true, N, rows, in, int(x.stride(0)), in, int(y.stride(0))};
    if constexpr (gemm_detail::is_cuda<ExecSpace>) {
#if defined(KOKKOS_ENABLE_CUDA)
      cuda_gemm(space, shape, x.data(), block.data(), Scalar(0), y.data() + i0);
#endif
    } else {
      space.fence();  // the library call runs on the calling thread
      host_gemm(host_gemm_default(), shape, x.data(), block.data(), Scalar(0), y.data() + i0);
    }
  }
}

#if defined(RWKV_OPENMP_LOOPS) && defined(RWKV_BF16_DOT_AVX512)
// The dot products on Kokkos::OpenMP as a plain OpenMP loop with the guided schedule, as the int8
// step has it: the float products' row sharing (row_shares.hpp) ran these slower in fast phases
// (docs/PERFORMANCE.md#bfloat16-weights; lab experiment bf16_dot_variants).
inline void dot_rows_openmp(const Kokkos::OpenMP& space, float* y, std::size_t y_stride, const float* xa,
                            std::size_t x_stride, int N, const std::uint16_t* W, std::size_t w_stride, int in, int out) {
#pragma omp parallel for schedule(guided) num_threads(space.concurrency())
  for (int i = 0; i < out; ++i) row_dots(W + i * w_stride, xa, x_stride, N, in, y + i, y_stride);
}
#endif

}  // namespace bf16_detail

// y = x W^T with W in bfloat16 (the header's comment), for any N:
//   N <= bf16_dot_rows: a dot product per weight row and row of x;
//     device: a team per output row, its threads across the inputs;
//     host:   a work item per weight row, which serves every row of x (bf16_dot.hpp); on OpenMP
//             a plain OpenMP loop over the weight rows (bf16_detail::dot_rows_openmp);
//   more rows, where the space has a vendor GEMM: bf16_detail::gemm_blocks; elsewhere the device
//   loop above for every N.
template <class ExecSpace, class Scalar>
void bf16_matmul_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> x,
                         const BFloat16Matrix<ExecSpace>& W, BFloat16Work<ExecSpace, Scalar>& work) {
  const int N = int(x.extent(0)), in = int(x.extent(1)), out = int(W.bits.extent(0));
  if (N == 0 || out == 0) return;
  if (in == 0) {
    Kokkos::deep_copy(space, y, Scalar(0));
    return;
  }
  if constexpr (gemm_detail::use_vendor_gemm<ExecSpace, Scalar>) {
    if (N > bf16_dot_rows) return bf16_detail::gemm_blocks(space, y, x, W, work);
  }
  const auto bits = W.bits;
  if constexpr (host_fast_path<ExecSpace>) {
    const std::uint16_t* w = bits.data();
    const std::size_t w_stride = bits.stride(0);
    Scalar* yp = y.data();
    const std::size_t y_stride = y.stride(0);
    const Scalar* xp = x.data();
    std::size_t x_stride = x.stride(0);
    if constexpr (bf16_detail::arranged<Scalar>) {
#if defined(RWKV_BF16_DOT_AVX512)
      // Arranged on the calling thread: the rows of x are short beside W.
      space.fence();
      x_stride = std::size_t(bf16_detail::arranged_length(in));
      BFloat16Work<ExecSpace, Scalar>::grow(work.x, std::size_t(N) * x_stride, "bf16_x");
      for (int n = 0; n < N; ++n) bf16_detail::arrange_activations(work.x.data() + n * x_stride, &x(n, 0), in);
      xp = work.x.data();
#if defined(RWKV_OPENMP_LOOPS)
      if constexpr (std::is_same_v<ExecSpace, Kokkos::OpenMP>)
        return bf16_detail::dot_rows_openmp(space, yp, y_stride, xp, x_stride, N, w, w_stride, in, out);
#endif
      Kokkos::parallel_for(
          "rwkv::bf16_matmul_forward", Kokkos::RangePolicy<ExecSpace>(space, 0, out), KOKKOS_LAMBDA(int i) {
            bf16_detail::row_dots(w + i * w_stride, xp, x_stride, N, in, yp + i, y_stride);
          });
      return;
#endif
    }
    Kokkos::parallel_for(
        "rwkv::bf16_matmul_forward", Kokkos::RangePolicy<ExecSpace>(space, 0, out), KOKKOS_LAMBDA(int i) {
          for (int n = 0; n < N; ++n) yp[n * y_stride + i] = bf16_detail::dot(w + i * w_stride, xp + n * x_stride, in);
        });
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "rwkv::bf16_matmul_forward", Kokkos::TeamPolicy<ExecSpace>(space, out, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int i = team.league_rank();
          for (int n = 0; n < N; ++n) {
            Scalar acc = 0;
            Kokkos::parallel_reduce(
                Kokkos::TeamThreadRange(team, in),
                [&](int j, Scalar& sum) { sum += Scalar(bfloat16_to_float(bits(i, j))) * x(n, j); }, acc);
            Kokkos::single(Kokkos::PerTeam(team), [&]() { y(n, i) = acc; });
          }
        });
  }
}

#define RWKV_BF16_MATMUL_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                   \
  PREFIX template void convert_bfloat16<SPACE, SCALAR>(const SPACE&, const BFloat16Matrix<SPACE>&,            \
                                                       ConstMatrix<SPACE, SCALAR>);                            \
  PREFIX template void bf16_matmul_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,         \
                                                          ConstMatrix<SPACE, SCALAR>, const BFloat16Matrix<SPACE>&, \
                                                          BFloat16Work<SPACE, SCALAR>&);

#define RWKV_BF16_MATMUL_EXTERN(SPACE, SCALAR) RWKV_BF16_MATMUL_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_BF16_MATMUL_EXTERN)
#undef RWKV_BF16_MATMUL_EXTERN

}  // namespace rwkv
