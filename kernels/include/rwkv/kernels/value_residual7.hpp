// RWKV-7's value residual, forward and backward (accumulating), on [B*T, C] matrices. Layer 0's
// values v_first are mixed into every later layer's v, by a gate from a low-rank product p =
// (x_v v1) v2 (two GEMMs, gemm.hpp) and the bias v0 [C]:
//   gate  = sigmoid(v0 + p)
//   v_out = v + (v_first - v) gate
// Layer 0 needs no kernel: its v is v_first. Its gradient needs none either: later layers can add
// their dv_first straight into layer 0's dv, since every backward accumulates.
// Backward, with dv_out given (gate recomputed from v0 + p):
//   dv       += dv_out (1 - gate)
//   dv_first += dv_out gate
//   dp       += dv_out (v_first - v) gate (1 - gate)
//   dv0      += sum_n dv_out (v_first - v) gate (1 - gate)
// v_out may be the same view as v in a forward that no backward follows (the backward reads v).
// No rows or C = 0 does nothing.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

namespace rwkv {

namespace value_residual7_detail {

template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar gate(Scalar x) {
  return Scalar(1) / (Scalar(1) + vector_exp(-x));
}

}  // namespace value_residual7_detail

template <class ExecSpace, class Scalar>
void value_residual7_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& v_out,
                             ConstMatrix<ExecSpace, Scalar> v, ConstMatrix<ExecSpace, Scalar> v_first,
                             ConstMatrix<ExecSpace, Scalar> p, ConstVector<ExecSpace, Scalar> v0) {
  const int C = int(v.extent(1));
  for_each_element("rwkv::value_residual7_forward", space, int(v.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar g = value_residual7_detail::gate(v0(c) + p(n, c));
    const Scalar vn = v(n, c);
    v_out(n, c) = vn + (v_first(n, c) - vn) * g;
  });
}

template <class ExecSpace, class Scalar>
void value_residual7_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dv,
                              const Matrix<ExecSpace, Scalar>& dv_first, const Matrix<ExecSpace, Scalar>& dp,
                              const Vector<ExecSpace, Scalar>& dv0, ConstMatrix<ExecSpace, Scalar> dv_out,
                              ConstMatrix<ExecSpace, Scalar> v, ConstMatrix<ExecSpace, Scalar> v_first,
                              ConstMatrix<ExecSpace, Scalar> p, ConstVector<ExecSpace, Scalar> v0) {
  const int rows = int(v.extent(0));
  const int C = int(v.extent(1));
  for_each_element("rwkv::value_residual7_backward_input", space, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar g = value_residual7_detail::gate(v0(c) + p(n, c));
    const Scalar d = dv_out(n, c);
    dv(n, c) += d * (Scalar(1) - g);
    dv_first(n, c) += d * g;
    dp(n, c) += d * (v_first(n, c) - v(n, c)) * g * (Scalar(1) - g);
  });
  accumulate_column_sums("rwkv::value_residual7_backward_bias", space, dv0, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar g = value_residual7_detail::gate(v0(c) + p(n, c));
    return dv_out(n, c) * (v_first(n, c) - v(n, c)) * g * (Scalar(1) - g);
  });
}

#define RWKV_VALUE_RESIDUAL7_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                  \
  PREFIX template void value_residual7_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,        \
                                                              ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, \
                                                              ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>); \
  PREFIX template void value_residual7_backward<SPACE, SCALAR>(                                                  \
      const SPACE&, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&,    \
      const Vector<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>,                     \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>);

#define RWKV_VALUE_RESIDUAL7_EXTERN(SPACE, SCALAR) RWKV_VALUE_RESIDUAL7_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_VALUE_RESIDUAL7_EXTERN)
#undef RWKV_VALUE_RESIDUAL7_EXTERN

}  // namespace rwkv
