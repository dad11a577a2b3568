// The end of RWKV-7's time mix before its output GEMM, forward and backward (accumulating): the
// GroupNorm ln_x of wkv7's output y per head, the bonus of the current token, and the gate g. On
// [B*T, C] matrices, C = H*N channels in heads of N (head_loops.hpp), per row and head h:
//   mu    = mean_h(y),  rstd = 1 / sqrt(mean_h((y - mu)^2) + eps)      (eps: 64e-5 in RWKV-7)
//   yhat  = (y - mu) rstd
//   s     = sum_h r * k * r_k                                          the bonus weight
//   pre   = yhat * weight + bias + s v
//   out   = pre * g
// k is the updated key (key7.hpp's k_out), v the value after the residual (value_residual7.hpp),
// g the gate (lora7.hpp), r_k the [H, N] bonus parameter read as [C]. The forward saves mu and
// rstd per (row, head).
// Backward, with dout given (yhat, s and pre recomputed):
//   dg      += dout * pre
//   dpre     = dout * g
//   dweight += sum_n dpre * yhat,   dbias += sum_n dpre
//   dv      += dpre * s
//   ds       = sum_h dpre * v
//   dr      += ds * k * r_k,   dk += ds * r * r_k,   dr_k += sum_n ds * r * k
//   dy      += rstd * (dpre * weight - mean_h(dpre * weight) - yhat * mean_h(dpre * weight * yhat))
// The backward keeps ds in `work` [B*T, H] for the column sums of dr_k. out must not be one of
// the inputs. No rows does nothing.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/head_loops.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

namespace rwkv {

// RWKV-LM's and ChatRWKV's GroupNorm eps for ln_x (RWKV-VERSIONS.md section 1.3, step 10); a
// per-model setting, since some converted graphs use 1e-5.
inline constexpr double ln_x7_default_eps = 64e-5;

// The inputs of ln_x7, each [B*T, C] but for the vectors [C].
template <class ExecSpace, class Scalar>
struct LnX7Inputs {
  ConstMatrix<ExecSpace, Scalar> y, r, k, v, g;
  ConstVector<ExecSpace, Scalar> r_k, weight, bias;
};

// Their gradients, added to (+=) by the backward.
template <class ExecSpace, class Scalar>
struct LnX7Grads {
  Matrix<ExecSpace, Scalar> y, r, k, v, g;
  Vector<ExecSpace, Scalar> r_k, weight, bias;
};

// out [B*T, C]; mean, rstd [B*T, H].
template <class ExecSpace, class Scalar>
void ln_x7_forward(const ExecSpace& space, int N, const Matrix<ExecSpace, Scalar>& out,
                   const Matrix<ExecSpace, Scalar>& mean, const Matrix<ExecSpace, Scalar>& rstd,
                   const LnX7Inputs<ExecSpace, Scalar>& in, Scalar eps = Scalar(ln_x7_default_eps)) {
  const int rows = int(in.y.extent(0));
  const int H = heads_of(int(in.y.extent(1)), N);
  const auto y = in.y, r = in.r, k = in.k, v = in.v, g = in.g;
  const auto r_k = in.r_k, weight = in.weight, bias = in.bias;
  const Scalar count = Scalar(N);
  for_each_row_head("rwkv::ln_x7_forward", space, rows, H, KOKKOS_LAMBDA(int n, int h) {
    const int c0 = h * N;
    const Scalar *yn = &y(n, c0), *rn = &r(n, c0), *kn = &k(n, c0), *vn = &v(n, c0), *gn = &g(n, c0);
    const Scalar *rkw = r_k.data() + c0, *w = weight.data() + c0, *b = bias.data() + c0;
    Scalar* on = &out(n, c0);
    // Two passes (mean, then variance about it), as layer_norm.hpp: no cancellation.
    Scalar sum = 0, s = 0;
    RWKV_HOST_SIMD_REDUCTION(+ : sum, s)
    for (int j = 0; j < N; ++j) {
      sum += yn[j];
      s += rn[j] * kn[j] * rkw[j];
    }
    const Scalar mu = sum / count;
    Scalar sq = 0;
    RWKV_HOST_SIMD_REDUCTION(+ : sq)
    for (int j = 0; j < N; ++j) sq += (yn[j] - mu) * (yn[j] - mu);
    const Scalar rs = Scalar(1) / kmath::sqrt(sq / count + eps);
    RWKV_HOST_SIMD
    for (int j = 0; j < N; ++j) on[j] = ((yn[j] - mu) * rs * w[j] + b[j] + s * vn[j]) * gn[j];
    mean(n, h) = mu;
    rstd(n, h) = rs;
  });
}

// work [B*T, H] (overwritten); dout [B*T, C]; mean, rstd as the forward left them.
template <class ExecSpace, class Scalar>
void ln_x7_backward(const ExecSpace& space, int N, const LnX7Grads<ExecSpace, Scalar>& grads,
                    const Matrix<ExecSpace, Scalar>& work, ConstMatrix<ExecSpace, Scalar> dout,
                    const LnX7Inputs<ExecSpace, Scalar>& in, ConstMatrix<ExecSpace, Scalar> mean,
                    ConstMatrix<ExecSpace, Scalar> rstd) {
  const int rows = int(in.y.extent(0));
  const int C = int(in.y.extent(1));
  const int H = heads_of(C, N);
  const auto y = in.y, r = in.r, k = in.k, v = in.v, g = in.g;
  const auto r_k = in.r_k, weight = in.weight, bias = in.bias;
  const auto dy = grads.y, dr = grads.r, dk = grads.k, dv = grads.v, dg = grads.g;
  const Scalar count = Scalar(N);
  for_each_row_head("rwkv::ln_x7_backward_input", space, rows, H, KOKKOS_LAMBDA(int n, int h) {
    const int c0 = h * N;
    const Scalar *yn = &y(n, c0), *rn = &r(n, c0), *kn = &k(n, c0), *vn = &v(n, c0), *gn = &g(n, c0);
    const Scalar *rkw = r_k.data() + c0, *w = weight.data() + c0, *b = bias.data() + c0;
    const Scalar* go = &dout(n, c0);
    Scalar *dyn = &dy(n, c0), *drn = &dr(n, c0), *dkn = &dk(n, c0), *dvn = &dv(n, c0), *dgn = &dg(n, c0);
    const Scalar mu = mean(n, h), rs = rstd(n, h);
    Scalar s = 0, ds = 0, m1 = 0, m2 = 0;
    RWKV_HOST_SIMD_REDUCTION(+ : s, ds, m1, m2)
    for (int j = 0; j < N; ++j) {
      const Scalar dpre = go[j] * gn[j];
      const Scalar gy = dpre * w[j];
      s += rn[j] * kn[j] * rkw[j];
      ds += dpre * vn[j];
      m1 += gy;
      m2 += gy * (yn[j] - mu) * rs;
    }
    m1 /= count;
    m2 /= count;
    work(n, h) = ds;
    RWKV_HOST_SIMD
    for (int j = 0; j < N; ++j) {
      const Scalar yhat = (yn[j] - mu) * rs;
      const Scalar dpre = go[j] * gn[j];
      dgn[j] += go[j] * (yhat * w[j] + b[j] + s * vn[j]);
      dvn[j] += dpre * s;
      drn[j] += ds * kn[j] * rkw[j];
      dkn[j] += ds * rn[j] * rkw[j];
      dyn[j] += rs * (dpre * w[j] - m1 - yhat * m2);
    }
  });
  accumulate_column_sums("rwkv::ln_x7_backward_weight", space, grads.weight, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const int h = c / N;
    return dout(n, c) * g(n, c) * (y(n, c) - mean(n, h)) * rstd(n, h);
  });
  accumulate_column_sums("rwkv::ln_x7_backward_bias", space, grads.bias, rows, C,
                         KOKKOS_LAMBDA(int n, int c) { return dout(n, c) * g(n, c); });
  accumulate_column_sums("rwkv::ln_x7_backward_r_k", space, grads.r_k, rows, C,
                         KOKKOS_LAMBDA(int n, int c) { return work(n, c / N) * r(n, c) * k(n, c); });
}

#define RWKV_LN_X7_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                          \
  PREFIX template void ln_x7_forward<SPACE, SCALAR>(const SPACE&, int, const Matrix<SPACE, SCALAR>&,           \
                                                    const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, \
                                                    const LnX7Inputs<SPACE, SCALAR>&, SCALAR);                 \
  PREFIX template void ln_x7_backward<SPACE, SCALAR>(const SPACE&, int, const LnX7Grads<SPACE, SCALAR>&,       \
                                                     const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, \
                                                     const LnX7Inputs<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, \
                                                     ConstMatrix<SPACE, SCALAR>);

#define RWKV_LN_X7_EXTERN(SPACE, SCALAR) RWKV_LN_X7_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LN_X7_EXTERN)
#undef RWKV_LN_X7_EXTERN

}  // namespace rwkv
