// Mixed-precision linear-layer GEMMs for training: gemm.hpp's three products with bfloat16
// operands and float sums, as RWKV-LM trains in bf16 on GPUs. With r() rounding to the nearest
// bfloat16 (ties to even, core/bfloat16.hpp) and Wb the caller's bfloat16 copy of its weights
// (a BFloat16Matrix, filled by convert_bfloat16 of bf16_matmul.hpp):
//   forward:  y  = r(x) Wb^T          x [N, in], Wb [out, in], y [N, out]   (overwrites y)
//   backward: dx += r(dy) Wb          dx [N, in]
//             dW += r(dy)^T r(x)      dW [out, in]
// x and dy are rounded into the work's buffers on every call; y, dx and dW stay in Scalar. A
// product of two bfloat16 values is exact in float, so only the sums round: each result is within
// a Scalar sum's rounding of the exact sum over the rounded operands (AVX-512 BF16 also flushes
// subnormal inputs and partial sums to zero, below float's smallest normal).
// N = 0 or out = 0 writes no y; in = 0 gives y = 0; an empty dx or dW (extent 0) is skipped.
// Paths:
//   native (gemm_bf16_native): float on the host where host_gemm_bf16_available (oneDNN on a CPU
//     with AVX-512 BF16), float on CUDA (cuBLAS);
//   widened, everywhere else (double, builds without oneDNN, CPUs without AVX-512 BF16, HIP): the
//     rounded operands widened back to Scalar and multiplied by gemm.hpp's matmul_forward /
//     matmul_backward: the same operands and Scalar sums, at the speed of Scalar.
#pragma once

#include <rwkv/core/bfloat16.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/bf16_matmul.hpp>
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/kernels/gemm_vendor.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace rwkv {

// Buffers of the products, grown to the largest seen and reused: the rounded x and dy as bfloat16
// (native path) or as Scalar, with the weights widened (widened path).
template <class ExecSpace, class Scalar>
struct BFloat16GemmWork {
  Kokkos::View<std::uint16_t*, typename ExecSpace::memory_space> x_bits, dy_bits;
  Kokkos::View<Scalar*, typename ExecSpace::memory_space> x_wide, dy_wide, W_wide;
};

// Whether matmul_forward_bf16 / matmul_backward_bf16 multiply bfloat16 operands here (the header's
// native path) rather than widening them to Scalar.
template <class ExecSpace, class Scalar>
bool gemm_bf16_native() {
  if constexpr (!std::is_same_v<Scalar, float>)
    return false;
  else if constexpr (gemm_detail::is_cuda<ExecSpace>)
    return true;
  else if constexpr (Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible)
    return host_gemm_bf16_available();
  else
    return false;
}

namespace gemm_bf16_detail {

template <class View>
void grow(View& v, std::size_t size, const char* label) {
  if (v.size() < size) v = View(Kokkos::view_alloc(std::string(label), Kokkos::WithoutInitializing), size);
}

// r(m) as bfloat16 bits [rows, cols] in `buffer`.
template <class ExecSpace, class Scalar, class Buffer>
BFloat16Matrix<ExecSpace> rounded_bits(const ExecSpace& space, Buffer& buffer, ConstMatrix<ExecSpace, Scalar> m,
                                       const char* label) {
  const int rows = int(m.extent(0)), cols = int(m.extent(1));
  grow(buffer, std::size_t(rows) * cols, label);
  BFloat16Matrix<ExecSpace> bits(buffer.data(), rows, cols);
  convert_bfloat16<ExecSpace, Scalar>(space, bits, m);
  return bits;
}

// r(m) widened back to Scalar [rows, cols] in `buffer`.
template <class ExecSpace, class Scalar, class Buffer>
Matrix<ExecSpace, Scalar> rounded_wide(const ExecSpace& space, Buffer& buffer, ConstMatrix<ExecSpace, Scalar> m,
                                       const char* label) {
  const int rows = int(m.extent(0)), cols = int(m.extent(1));
  grow(buffer, std::size_t(rows) * cols, label);
  const Matrix<ExecSpace, Scalar> wide(buffer.data(), rows, cols);
  for_each_element(label, space, rows, cols,
                   KOKKOS_LAMBDA(int i, int j) { wide(i, j) = Scalar(bfloat16_to_float(bfloat16_round(m(i, j)))); });
  return wide;
}

// The bfloat16 weights widened to Scalar [out, in] in `buffer`.
template <class ExecSpace, class Scalar, class Buffer>
Matrix<ExecSpace, Scalar> widened(const ExecSpace& space, Buffer& buffer, const BFloat16Matrix<ExecSpace>& W) {
  const int rows = int(W.bits.extent(0)), cols = int(W.bits.extent(1));
  grow(buffer, std::size_t(rows) * cols, "bf16_gemm_W");
  const Matrix<ExecSpace, Scalar> wide(buffer.data(), rows, cols);
  const auto bits = W.bits;
  for_each_element("rwkv::bf16_gemm_widen", space, rows, cols,
                   KOKKOS_LAMBDA(int i, int j) { wide(i, j) = Scalar(bfloat16_to_float(bits(i, j))); });
  return wide;
}

// C = op(A) op(B) + beta C on the space's bfloat16 GEMM (beta 0 or 1).
template <class ExecSpace>
void native_gemm(const ExecSpace& space, const GemmShape& shape, const std::uint16_t* A, const std::uint16_t* B,
                 float beta, float* C) {
  if constexpr (gemm_detail::is_cuda<ExecSpace>) {
#if defined(KOKKOS_ENABLE_CUDA)
    cuda_gemm_bf16(space, shape, A, B, beta, C);
#endif
  } else {
    space.fence();  // the library call runs on the calling thread
    host_gemm_bf16(shape, A, B, beta, C);
  }
}

}  // namespace gemm_bf16_detail

// y = r(x) Wb^T (overwrites y).
template <class ExecSpace, class Scalar>
void matmul_forward_bf16(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> x,
                         const BFloat16Matrix<ExecSpace>& W, BFloat16GemmWork<ExecSpace, Scalar>& work) {
  using namespace gemm_bf16_detail;
  const int N = int(x.extent(0)), in = int(x.extent(1)), out = int(W.bits.extent(0));
  if (N == 0 || out == 0) return;
  if (in == 0) {
    Kokkos::deep_copy(space, y, Scalar(0));
    return;
  }
  if constexpr (std::is_same_v<Scalar, float>) {
    if (gemm_bf16_native<ExecSpace, Scalar>()) {
      const auto xb = rounded_bits<ExecSpace, Scalar>(space, work.x_bits, x, "bf16_gemm_x");
      native_gemm(space, {false, true, N, out, in, in, int(W.bits.stride(0)), int(y.stride(0))}, xb.bits.data(),
                  W.bits.data(), 0.0f, y.data());
      return;
    }
  }
  matmul_forward(space, y, rounded_wide<ExecSpace, Scalar>(space, work.x_wide, x, "bf16_gemm_x"),
                 widened<ExecSpace, Scalar>(space, work.W_wide, W));
}

// dx += r(dy) Wb;  dW += r(dy)^T r(x).
template <class ExecSpace, class Scalar>
void matmul_backward_bf16(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx,
                          const Matrix<ExecSpace, Scalar>& dW, ConstMatrix<ExecSpace, Scalar> dy,
                          ConstMatrix<ExecSpace, Scalar> x, const BFloat16Matrix<ExecSpace>& W,
                          BFloat16GemmWork<ExecSpace, Scalar>& work) {
  using namespace gemm_bf16_detail;
  const int N = int(dy.extent(0)), out = int(dy.extent(1)), in = int(W.bits.extent(1));
  // Products over none (out = 0 for dx, N = 0 for dW) add 0; empty outputs are skipped.
  const bool want_dx = dx.size() > 0 && out > 0, want_dW = dW.size() > 0 && N > 0;
  if (!want_dx && !want_dW) return;
  if constexpr (std::is_same_v<Scalar, float>) {
    if (gemm_bf16_native<ExecSpace, Scalar>()) {
      const auto dyb = rounded_bits<ExecSpace, Scalar>(space, work.dy_bits, dy, "bf16_gemm_dy");
      if (want_dx)
        native_gemm(space, {false, false, N, in, out, out, int(W.bits.stride(0)), int(dx.stride(0))}, dyb.bits.data(),
                    W.bits.data(), 1.0f, dx.data());
      if (want_dW) {
        const auto xb = rounded_bits<ExecSpace, Scalar>(space, work.x_bits, x, "bf16_gemm_x");
        native_gemm(space, {true, false, out, in, N, out, in, int(dW.stride(0))}, dyb.bits.data(), xb.bits.data(),
                    1.0f, dW.data());
      }
      return;
    }
  }
  const auto dyr = rounded_wide<ExecSpace, Scalar>(space, work.dy_wide, dy, "bf16_gemm_dy");
  const Matrix<ExecSpace, Scalar> none;
  matmul_backward(space, want_dx ? dx : none, want_dW ? dW : none, dyr,
                  want_dW ? rounded_wide<ExecSpace, Scalar>(space, work.x_wide, x, "bf16_gemm_x") : none,
                  want_dx ? widened<ExecSpace, Scalar>(space, work.W_wide, W) : none);
}

#define RWKV_GEMM_BF16_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                          \
  PREFIX template void matmul_forward_bf16<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,              \
                                                          ConstMatrix<SPACE, SCALAR>, const BFloat16Matrix<SPACE>&, \
                                                          BFloat16GemmWork<SPACE, SCALAR>&);                       \
  PREFIX template void matmul_backward_bf16<SPACE, SCALAR>(                                                        \
      const SPACE&, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,         \
      ConstMatrix<SPACE, SCALAR>, const BFloat16Matrix<SPACE>&, BFloat16GemmWork<SPACE, SCALAR>&);

#define RWKV_GEMM_BF16_EXTERN(SPACE, SCALAR) RWKV_GEMM_BF16_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_GEMM_BF16_EXTERN)
#undef RWKV_GEMM_BF16_EXTERN

}  // namespace rwkv
