// Token shift + time mix (RWKV-4) on activations x [B*T, C], row n = b*T + t, forward and backward.
//   s[b,t] = x[b,t-1] for t > 0,   s[b,0] = shift_state[b]   (the previous chunk's last token)
//   out[b,t] = x[b,t] * mix + s[b,t] * (1 - mix)
// Backward (accumulating):
//   dx[b,t]         += dout[b,t] * mix + dout[b,t+1] * (1 - mix)     (second term for t < T-1)
//   dshift_state[b] += dout[b,0] * (1 - mix)
//   dmix            += sum_{b,t} dout[b,t] * (x[b,t] - s[b,t])
// An empty shift_state (extent 0) stands for zeros: a fresh sequence. An empty dshift_state skips it.
// No rows (B = 0 or T = 0) or C = 0 does nothing; last_token of a chunk of T = 0 leaves the state.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/matrix_loops.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/views.hpp>

namespace rwkv {

namespace time_mix_detail {

// s[b,t] as defined above, for row n of x.
template <class X, class State>
KOKKOS_INLINE_FUNCTION typename X::non_const_value_type shifted(const X& x, const State& state, int T, int n, int c) {
  if (n % T != 0) return x(n - 1, c);
  return state.extent(0) > 0 ? state(n / T, c) : typename X::non_const_value_type(0);
}

}  // namespace time_mix_detail

template <class ExecSpace, class Scalar>
void time_mix_forward(const ExecSpace& space, int T, const Matrix<ExecSpace, Scalar>& out,
                      ConstMatrix<ExecSpace, Scalar> x, ConstMatrix<ExecSpace, Scalar> shift_state,
                      ConstVector<ExecSpace, Scalar> mix) {
  const int rows = int(x.extent(0));
  const int C = int(x.extent(1));
  for_each_element("rwkv::time_mix_forward", space, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar s = time_mix_detail::shifted(x, shift_state, T, n, c);
    out(n, c) = x(n, c) * mix(c) + s * (Scalar(1) - mix(c));
  });
}

template <class ExecSpace, class Scalar>
void time_mix_backward(const ExecSpace& space, int T, const Matrix<ExecSpace, Scalar>& dx,
                       const Matrix<ExecSpace, Scalar>& dshift_state, const Vector<ExecSpace, Scalar>& dmix,
                       ConstMatrix<ExecSpace, Scalar> dout, ConstMatrix<ExecSpace, Scalar> x,
                       ConstMatrix<ExecSpace, Scalar> shift_state, ConstVector<ExecSpace, Scalar> mix) {
  const int rows = int(x.extent(0));
  const int C = int(x.extent(1));
  const bool want_dstate = dshift_state.extent(0) > 0;
  for_each_element("rwkv::time_mix_backward_input", space, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar keep = mix(c), pass = Scalar(1) - mix(c);
    const int t = n % T;
    Scalar g = dout(n, c) * keep;
    if (t + 1 < T) g += dout(n + 1, c) * pass;  // x[b,t] is also the shifted input of token t+1
    dx(n, c) += g;
    if (t == 0 && want_dstate) dshift_state(n / T, c) += dout(n, c) * pass;
  });
  accumulate_column_sums("rwkv::time_mix_backward_mix", space, dmix, rows, C, KOKKOS_LAMBDA(int n, int c) {
    return dout(n, c) * (x(n, c) - time_mix_detail::shifted(x, shift_state, T, n, c));
  });
}

// state[b, :] = x[b*T + T-1, :]: the shift state that the next chunk of each sequence starts from.
template <class ExecSpace, class Scalar>
void last_token(const ExecSpace& space, int T, const Matrix<ExecSpace, Scalar>& state, ConstMatrix<ExecSpace, Scalar> x) {
  if (T == 0) return;  // no token in the chunk: the last one is still the previous chunk's
  const int B = int(state.extent(0));
  const int C = int(state.extent(1));
  for_each_element("rwkv::last_token", space, B, C,
                   KOKKOS_LAMBDA(int b, int c) { state(b, c) = x(b * T + T - 1, c); });
}

#define RWKV_TIME_MIX_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                     \
  PREFIX template void time_mix_forward<SPACE, SCALAR>(const SPACE&, int, const Matrix<SPACE, SCALAR>&,      \
                                                       ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, \
                                                       ConstVector<SPACE, SCALAR>);                          \
  PREFIX template void time_mix_backward<SPACE, SCALAR>(                                                     \
      const SPACE&, int, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>); \
  PREFIX template void last_token<SPACE, SCALAR>(const SPACE&, int, const Matrix<SPACE, SCALAR>&,            \
                                                 ConstMatrix<SPACE, SCALAR>);

#define RWKV_TIME_MIX_EXTERN(SPACE, SCALAR) RWKV_TIME_MIX_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TIME_MIX_EXTERN)
#undef RWKV_TIME_MIX_EXTERN

}  // namespace rwkv
