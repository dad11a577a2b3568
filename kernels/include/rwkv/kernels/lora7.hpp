// The elementwise steps around RWKV-7's low-rank products (the products themselves are GEMMs,
// gemm.hpp), forward and backward (accumulating), on [rows, C] matrices (C: the rank D inside a
// LoRA, the channels after it):
//   y = act(p + bias)        act: none, tanh or sigmoid; an empty bias (extent 0) adds nothing
// The time mix uses them as
//   decay logit  z = w0 + tanh(x_w w1) w2     tanh (no bias) on x_w w1, then none + w0 on the
//                                             product with w2; z goes to wkv7 as it is
//   ICLR         a = sigmoid(a0 + (x_a a1) a2)   sigmoid + a0 on the product with a2
//   gate         g = sigmoid(x_g g1) g2       sigmoid (no bias) on x_g g1; nothing after g2
// (the value residual's sigmoid(v0 + (x_v v1) v2) is in value_residual7.hpp.)
// Backward from y, which the forward leaves, with act' written through it:
//   none: 1,   tanh: 1 - y^2,   sigmoid: y (1 - y)
//   dp    += dy act'(y)
//   dbias += sum_n dy act'(y)
// y may be the same view as p (the activation in place of the product). An empty dp or dbias is
// skipped: with act none, dy itself is dp, and only dbias needs the kernel. No rows or C = 0 does
// nothing.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

namespace rwkv {

enum class Lora7Activation { none, tanh, sigmoid };

namespace lora7_detail {

template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar activate(Lora7Activation act, Scalar x) {
  switch (act) {
    case Lora7Activation::tanh: return kmath::tanh(x);
    // exp(-x) overflows to inf for x < -88 in float, giving the correct limit 0.
    case Lora7Activation::sigmoid: return Scalar(1) / (Scalar(1) + vector_exp(-x));
    default: return x;
  }
}

template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar derivative(Lora7Activation act, Scalar y) {
  switch (act) {
    case Lora7Activation::tanh: return Scalar(1) - y * y;
    case Lora7Activation::sigmoid: return y * (Scalar(1) - y);
    default: return Scalar(1);
  }
}

}  // namespace lora7_detail

// y, p [rows, C]; bias [C] or empty.
template <class ExecSpace, class Scalar>
void lora7_forward(const ExecSpace& space, Lora7Activation act, const Matrix<ExecSpace, Scalar>& y,
                   ConstMatrix<ExecSpace, Scalar> p, ConstVector<ExecSpace, Scalar> bias) {
  const int C = int(p.extent(1));
  const bool with_bias = bias.extent(0) > 0;
  for_each_element("rwkv::lora7_forward", space, int(p.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    y(n, c) = lora7_detail::activate(act, with_bias ? p(n, c) + bias(c) : p(n, c));
  });
}

// dp [rows, C] or empty; dbias [C] or empty; dy, y [rows, C].
template <class ExecSpace, class Scalar>
void lora7_backward(const ExecSpace& space, Lora7Activation act, const Matrix<ExecSpace, Scalar>& dp,
                    const Vector<ExecSpace, Scalar>& dbias, ConstMatrix<ExecSpace, Scalar> dy,
                    ConstMatrix<ExecSpace, Scalar> y) {
  const int rows = int(dy.extent(0));
  const int C = int(dy.extent(1));
  if (dp.extent(0) > 0) {
    for_each_element("rwkv::lora7_backward_input", space, rows, C, KOKKOS_LAMBDA(int n, int c) {
      dp(n, c) += dy(n, c) * lora7_detail::derivative(act, y(n, c));
    });
  }
  if (dbias.extent(0) > 0) {
    accumulate_column_sums("rwkv::lora7_backward_bias", space, dbias, rows, C, KOKKOS_LAMBDA(int n, int c) {
      return dy(n, c) * lora7_detail::derivative(act, y(n, c));
    });
  }
}

#define RWKV_LORA7_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                          \
  PREFIX template void lora7_forward<SPACE, SCALAR>(const SPACE&, Lora7Activation, const Matrix<SPACE, SCALAR>&, \
                                                    ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>);    \
  PREFIX template void lora7_backward<SPACE, SCALAR>(const SPACE&, Lora7Activation, const Matrix<SPACE, SCALAR>&, \
                                                     const Vector<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,  \
                                                     ConstMatrix<SPACE, SCALAR>);

#define RWKV_LORA7_EXTERN(SPACE, SCALAR) RWKV_LORA7_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LORA7_EXTERN)
#undef RWKV_LORA7_EXTERN

}  // namespace rwkv
