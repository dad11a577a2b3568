// RWKV-7's token shift: K lerps between each token and the previous one, on x [B*T, C] with row
// n = b*T + t, forward and backward (accumulating). For mix i < K (the vectors att.x_r, x_w, x_k,
// x_v, x_a, x_g of the time mix, K = 6 in that order; ffn.x_k of the channel mix, K = 1):
//   s[b,t]      = x[b,t-1] for t > 0,   s[b,0] = shift_state[b]   (the carried last token, or 0)
//   xx          = s - x
//   out_i[b,t]  = x[b,t] + xx[b,t] * mix_i
// (RWKV-4's time_mix.hpp weighs x by mix instead: out = x mix + s (1 - mix).)
// Backward, with dout_i given:
//   dx[b,t]         += sum_i dout_i[b,t] (1 - mix_i) + sum_i dout_i[b,t+1] mix_i   (second sum for t < T-1)
//   dshift_state[b] += sum_i dout_i[b,0] mix_i
//   dmix_i          += sum_{b,t} dout_i[b,t] xx[b,t]
// One pass over x writes all K outputs, and one reads all K gradients for dx. An empty
// shift_state (extent 0) stands for zeros: a fresh sequence; an empty dshift_state is skipped.
// last_token (time_mix.hpp) keeps the shift state for the next chunk. No rows or C = 0 does nothing.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

#include <Kokkos_Core.hpp>

namespace rwkv {

// The time mix's six lerps, in the order of the checkpoint's att.x_* vectors.
enum TimeMix7Lerp : int { lerp7_r, lerp7_w, lerp7_k, lerp7_v, lerp7_a, lerp7_g, time_mix7_lerps };

// K views, for the kernels that read or write several in one pass: a Kokkos::Array is copied into
// a device lambda with the views in it.
template <int K, class ExecSpace, class Scalar>
using Matrices = Kokkos::Array<Matrix<ExecSpace, Scalar>, K>;
template <int K, class ExecSpace, class Scalar>
using ConstMatrices =
    Kokkos::Array<Kokkos::View<const Scalar**, Kokkos::LayoutRight, typename ExecSpace::memory_space>, K>;
template <int K, class ExecSpace, class Scalar>
using Vectors = Kokkos::Array<Vector<ExecSpace, Scalar>, K>;
template <int K, class ExecSpace, class Scalar>
using ConstVectors =
    Kokkos::Array<Kokkos::View<const Scalar*, Kokkos::LayoutRight, typename ExecSpace::memory_space>, K>;

namespace token_shift7_detail {

// s[b,t] as defined above, for row n of x.
template <class X, class State>
KOKKOS_INLINE_FUNCTION typename X::non_const_value_type shifted(const X& x, const State& state, int T, int n, int c) {
  if (n % T != 0) return x(n - 1, c);
  return state.extent(0) > 0 ? state(n / T, c) : typename X::non_const_value_type(0);
}

}  // namespace token_shift7_detail

// out_i [B*T, C] for i < K; shift_state [B, C] or empty; mix_i [C].
template <int K, class ExecSpace, class Scalar>
void token_shift7_forward(const ExecSpace& space, int T, const Matrices<K, ExecSpace, Scalar>& out,
                          ConstMatrix<ExecSpace, Scalar> x, ConstMatrix<ExecSpace, Scalar> shift_state,
                          const ConstVectors<K, ExecSpace, Scalar>& mix) {
  const int rows = int(x.extent(0));
  const int C = int(x.extent(1));
  for_each_element("rwkv::token_shift7_forward", space, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar xn = x(n, c);
    const Scalar xx = token_shift7_detail::shifted(x, shift_state, T, n, c) - xn;
    for (int i = 0; i < K; ++i) out[i](n, c) = xn + xx * mix[i](c);
  });
}

// dx [B*T, C]; dshift_state [B, C] or empty; dmix_i [C]; dout_i [B*T, C]; the rest as the forward's.
template <int K, class ExecSpace, class Scalar>
void token_shift7_backward(const ExecSpace& space, int T, const Matrix<ExecSpace, Scalar>& dx,
                           const Matrix<ExecSpace, Scalar>& dshift_state, const Vectors<K, ExecSpace, Scalar>& dmix,
                           const ConstMatrices<K, ExecSpace, Scalar>& dout, ConstMatrix<ExecSpace, Scalar> x,
                           ConstMatrix<ExecSpace, Scalar> shift_state, const ConstVectors<K, ExecSpace, Scalar>& mix) {
  const int rows = int(x.extent(0));
  const int C = int(x.extent(1));
  const bool want_dstate = dshift_state.extent(0) > 0;
  for_each_element("rwkv::token_shift7_backward_input", space, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const int t = n % T;
    Scalar g = 0, to_previous = 0;
    for (int i = 0; i < K; ++i) {
      const Scalar m = mix[i](c);
      g += dout[i](n, c) * (Scalar(1) - m);
      if (t + 1 < T) g += dout[i](n + 1, c) * m;  // x[b,t] is also the shifted input of token t+1
      to_previous += dout[i](n, c) * m;
    }
    dx(n, c) += g;
    if (t == 0 && want_dstate) dshift_state(n / T, c) += to_previous;
  });
  for (int i = 0; i < K; ++i) {
    const auto d = dout[i];
    accumulate_column_sums("rwkv::token_shift7_backward_mix", space, dmix[i], rows, C, KOKKOS_LAMBDA(int n, int c) {
      return d(n, c) * (token_shift7_detail::shifted(x, shift_state, T, n, c) - x(n, c));
    });
  }
}

// The time mix's six lerps and the channel mix's one.
#define RWKV_TOKEN_SHIFT7_INSTANTIATE_K(PREFIX, K, SPACE, SCALAR)                                                \
  PREFIX template void token_shift7_forward<K, SPACE, SCALAR>(const SPACE&, int, const Matrices<K, SPACE, SCALAR>&, \
                                                              ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, \
                                                              const ConstVectors<K, SPACE, SCALAR>&);             \
  PREFIX template void token_shift7_backward<K, SPACE, SCALAR>(                                                 \
      const SPACE&, int, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, const Vectors<K, SPACE, SCALAR>&, \
      const ConstMatrices<K, SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>,             \
      const ConstVectors<K, SPACE, SCALAR>&);
#define RWKV_TOKEN_SHIFT7_INSTANTIATE(PREFIX, SPACE, SCALAR)  \
  RWKV_TOKEN_SHIFT7_INSTANTIATE_K(PREFIX, 6, SPACE, SCALAR) \
  RWKV_TOKEN_SHIFT7_INSTANTIATE_K(PREFIX, 1, SPACE, SCALAR)

#define RWKV_TOKEN_SHIFT7_EXTERN(SPACE, SCALAR) RWKV_TOKEN_SHIFT7_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TOKEN_SHIFT7_EXTERN)
#undef RWKV_TOKEN_SHIFT7_EXTERN

}  // namespace rwkv
