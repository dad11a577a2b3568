// RWKV-7's key preparation, forward and backward (accumulating): from the key k (the GEMM output)
// and the in-context learning rate a (lora7.hpp), the removal key for wkv7's alpha and beta and
// the updated key. On [B*T, C] matrices, C = H*N channels in heads of N (head_loops.hpp):
//   kappa = k * k_k
//   kk    = kappa / max(|kappa_h|, eps)   per head h (F.normalize; RWKV-7 uses eps = 1e-12)
//   k_out = k * (1 + (a - 1) * k_a)
//   alpha = -kk,   beta = kk * a          what wkv7.hpp takes as alpha and beta
// kk is normalized from k before the update, and k_out is the key of wkv7 and of the bonus
// (ln_x7.hpp). The forward saves the norm |kappa_h| per (row, head) for the backward.
// Backward, with dk_out, dalpha, dbeta given (kk recomputed from k and the norm):
//   dkk    = dbeta * a - dalpha
//   da    += dbeta * kk + dk_out * k * k_a
//   dk_a  += sum_n dk_out * k * (a - 1)
//   dkappa = (dkk - kk (kk . dkk)_h) / |kappa_h|   where |kappa_h| > eps
//          = dkk / eps                             elsewhere (the clamp: kk = kappa / eps)
//   dk    += dk_out * (1 + (a - 1) * k_a) + dkappa * k_k
//   dk_k  += sum_n dkappa * k
// The backward keeps the head sums (kk . dkk) in `work` [B*T, H] for the column sums of dk_k.
// k_out, alpha and beta must not be k or a (the backward reads k and a). No rows does nothing.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/head_loops.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

namespace rwkv {

// F.normalize's default, which RWKV-7 keeps (RWKV-VERSIONS.md section 1.3, step 7).
inline constexpr double key7_normalize_eps = 1e-12;

// k_out, alpha, beta [B*T, C]; norm [B*T, H]; k, a [B*T, C]; k_k, k_a [C].
template <class ExecSpace, class Scalar>
void key7_forward(const ExecSpace& space, int N, const Matrix<ExecSpace, Scalar>& k_out,
                  const Matrix<ExecSpace, Scalar>& alpha, const Matrix<ExecSpace, Scalar>& beta,
                  const Matrix<ExecSpace, Scalar>& norm, ConstMatrix<ExecSpace, Scalar> k,
                  ConstMatrix<ExecSpace, Scalar> a, ConstVector<ExecSpace, Scalar> k_k,
                  ConstVector<ExecSpace, Scalar> k_a, Scalar eps = Scalar(key7_normalize_eps)) {
  const int rows = int(k.extent(0));
  const int H = heads_of(int(k.extent(1)), N);
  for_each_row_head("rwkv::key7_forward", space, rows, H, KOKKOS_LAMBDA(int n, int h) {
    const int c0 = h * N;
    const Scalar *kn = &k(n, c0), *an = &a(n, c0), *kkw = k_k.data() + c0, *kaw = k_a.data() + c0;
    Scalar *ko = &k_out(n, c0), *al = &alpha(n, c0), *be = &beta(n, c0);
    Scalar sq = 0;
    RWKV_HOST_SIMD_REDUCTION(+ : sq)
    for (int j = 0; j < N; ++j) sq += (kn[j] * kkw[j]) * (kn[j] * kkw[j]);
    const Scalar length = kmath::sqrt(sq);
    const Scalar inv = Scalar(1) / max_of(length, eps);
    RWKV_HOST_SIMD
    for (int j = 0; j < N; ++j) {
      const Scalar kk = kn[j] * kkw[j] * inv;
      al[j] = -kk;
      be[j] = kk * an[j];
      ko[j] = kn[j] * (Scalar(1) + (an[j] - Scalar(1)) * kaw[j]);
    }
    norm(n, h) = length;
  });
}

// dk, da [B*T, C]; dk_k, dk_a [C]; work [B*T, H] (overwritten); dk_out, dalpha, dbeta [B*T, C];
// the rest as the forward's, norm as it left it.
template <class ExecSpace, class Scalar>
void key7_backward(const ExecSpace& space, int N, const Matrix<ExecSpace, Scalar>& dk,
                   const Matrix<ExecSpace, Scalar>& da, const Vector<ExecSpace, Scalar>& dk_k,
                   const Vector<ExecSpace, Scalar>& dk_a, const Matrix<ExecSpace, Scalar>& work,
                   ConstMatrix<ExecSpace, Scalar> dk_out, ConstMatrix<ExecSpace, Scalar> dalpha,
                   ConstMatrix<ExecSpace, Scalar> dbeta, ConstMatrix<ExecSpace, Scalar> k,
                   ConstMatrix<ExecSpace, Scalar> a, ConstVector<ExecSpace, Scalar> k_k,
                   ConstVector<ExecSpace, Scalar> k_a, ConstMatrix<ExecSpace, Scalar> norm,
                   Scalar eps = Scalar(key7_normalize_eps)) {
  const int rows = int(k.extent(0));
  const int C = int(k.extent(1));
  const int H = heads_of(C, N);
  for_each_row_head("rwkv::key7_backward_input", space, rows, H, KOKKOS_LAMBDA(int n, int h) {
    const int c0 = h * N;
    const Scalar *kn = &k(n, c0), *an = &a(n, c0), *kkw = k_k.data() + c0, *kaw = k_a.data() + c0;
    const Scalar *gk = &dk_out(n, c0), *gal = &dalpha(n, c0), *gbe = &dbeta(n, c0);
    Scalar *dkn = &dk(n, c0), *dan = &da(n, c0);
    const Scalar length = norm(n, h);
    const Scalar inv = Scalar(1) / max_of(length, eps);
    Scalar dot = 0;
    RWKV_HOST_SIMD_REDUCTION(+ : dot)
    for (int j = 0; j < N; ++j) dot += kn[j] * kkw[j] * inv * (gbe[j] * an[j] - gal[j]);
    const Scalar q = length > eps ? dot : Scalar(0);  // the clamped kk is linear in kappa
    work(n, h) = q;
    RWKV_HOST_SIMD
    for (int j = 0; j < N; ++j) {
      const Scalar kk = kn[j] * kkw[j] * inv;
      const Scalar dkappa = (gbe[j] * an[j] - gal[j] - kk * q) * inv;
      dkn[j] += gk[j] * (Scalar(1) + (an[j] - Scalar(1)) * kaw[j]) + dkappa * kkw[j];
      dan[j] += gbe[j] * kk + gk[j] * kn[j] * kaw[j];
    }
  });
  accumulate_column_sums("rwkv::key7_backward_k_k", space, dk_k, rows, C, KOKKOS_LAMBDA(int n, int c) {
    const int h = c / N;
    const Scalar inv = Scalar(1) / max_of(Scalar(norm(n, h)), eps);
    const Scalar kk = k(n, c) * k_k(c) * inv;
    return (dbeta(n, c) * a(n, c) - dalpha(n, c) - kk * work(n, h)) * inv * k(n, c);
  });
  accumulate_column_sums("rwkv::key7_backward_k_a", space, dk_a, rows, C, KOKKOS_LAMBDA(int n, int c) {
    return dk_out(n, c) * k(n, c) * (a(n, c) - Scalar(1));
  });
}

#define RWKV_KEY7_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                            \
  PREFIX template void key7_forward<SPACE, SCALAR>(const SPACE&, int, const Matrix<SPACE, SCALAR>&,             \
                                                   const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&,  \
                                                   const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,    \
                                                   ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>,      \
                                                   ConstVector<SPACE, SCALAR>, SCALAR);                         \
  PREFIX template void key7_backward<SPACE, SCALAR>(                                                            \
      const SPACE&, int, const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, \
      const Vector<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,                   \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, \
      ConstVector<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, SCALAR);

#define RWKV_KEY7_EXTERN(SPACE, SCALAR) RWKV_KEY7_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_KEY7_EXTERN)
#undef RWKV_KEY7_EXTERN

}  // namespace rwkv
