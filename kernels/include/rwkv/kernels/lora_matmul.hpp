// The products of RWKV-7's low-rank matrices in their stored orientation: a LoRA matrix A is
// [in, out] (state_dict w1 [C, D], w2 [D, C]) and is applied as x A, not as gemm.hpp's x W^T with
// W [out, in]. So the checkpoint layout serves the products as it is, and the gradients land in the
// flat buffer without transposed copies to keep in step after every optimizer update.
//   forward:  y  = x A        x [rows, in], A [in, out], y [rows, out]   (overwrites y)
//   backward: dx += dy A^T    dx [rows, in]
//             dA += x^T dy    dA [in, out]
// float and double go to the space's vendor library as gemm.hpp's products do, the rest to the
// portable tiled kernel (gemm_portable.hpp). Zero extents as in gemm.hpp; an empty dx or dA is
// skipped.
#pragma once

#include <rwkv/kernels/gemm.hpp>

namespace rwkv {

namespace lora_matmul_detail {

// C = op(A) op(B) + beta C, op(M) = M^T where Trans is set.
template <bool TransA, bool TransB, class ExecSpace, class Scalar>
void product(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& C, ConstMatrix<ExecSpace, Scalar> A,
             ConstMatrix<ExecSpace, Scalar> B, Scalar beta) {
  if constexpr (gemm_detail::use_vendor_gemm<ExecSpace, Scalar>)
    gemm_detail::vendor_gemm(space, TransA, TransB, A, B, beta, C);
  else
    gemm_detail::gemm_tiled<TransA, TransB>(space, C, A, B, beta);
}

}  // namespace lora_matmul_detail

template <class ExecSpace, class Scalar>
void lora_matmul_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> x,
                         ConstMatrix<ExecSpace, Scalar> A) {
  lora_matmul_detail::product<false, false>(space, y, x, A, Scalar(0));
}

template <class ExecSpace, class Scalar>
void lora_matmul_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx,
                          const Matrix<ExecSpace, Scalar>& dA, ConstMatrix<ExecSpace, Scalar> dy,
                          ConstMatrix<ExecSpace, Scalar> x, ConstMatrix<ExecSpace, Scalar> A) {
  if (dx.size() > 0) lora_matmul_detail::product<false, true>(space, dx, dy, A, Scalar(1));
  if (dA.size() > 0) lora_matmul_detail::product<true, false>(space, dA, x, dy, Scalar(1));
}

#define RWKV_LORA_MATMUL_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                         \
  PREFIX template void lora_matmul_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,              \
                                                          ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>); \
  PREFIX template void lora_matmul_backward<SPACE, SCALAR>(                                                        \
      const SPACE&, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,          \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>);

#define RWKV_LORA_MATMUL_EXTERN(SPACE, SCALAR) RWKV_LORA_MATMUL_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LORA_MATMUL_EXTERN)
#undef RWKV_LORA_MATMUL_EXTERN

}  // namespace rwkv
