// Layer norm over the last axis of x [N, C], forward and backward.
//   y = (x - mean) * rstd * weight + bias,   rstd = 1 / sqrt(var + eps)
// The forward saves mean and rstd per row for the backward.
// N = 0 writes nothing, dweight and dbias gain 0; C = 0: mean 0, rstd 1/sqrt(eps) (empty sums are 0).
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/matrix_loops.hpp>

namespace rwkv {

// PyTorch's nn.LayerNorm default, which RWKV checkpoints were trained with.
inline constexpr double layer_norm_default_eps = 1e-5;

template <class ExecSpace, class Scalar>
void layer_norm_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y,
                        const Vector<ExecSpace, Scalar>& mean, const Vector<ExecSpace, Scalar>& rstd,
                        ConstMatrix<ExecSpace, Scalar> x, ConstVector<ExecSpace, Scalar> weight,
                        ConstVector<ExecSpace, Scalar> bias, Scalar eps = Scalar(layer_norm_default_eps)) {
  const int rows = int(x.extent(0));
  const int C = int(x.extent(1));
  const Scalar count = Scalar(max_of(C, 1));  // C = 0: the sums are 0, and so are mean and variance
  if constexpr (host_fast_path<ExecSpace>) {
    // Host: a thread per row, simd loops over the raw row (the device's team kernel ran teams of
    // one thread here, its loops scalar through the views), two passes as there. One row function
    // serves every row count, so a step's row has the bits it would have in a prefill.
    const auto normalize_row = KOKKOS_LAMBDA(int n) {
      const Scalar *xn = &x(n, 0), *w = weight.data(), *b = bias.data();
      Scalar* yn = &y(n, 0);
      Scalar sum = 0;
      RWKV_HOST_SIMD_REDUCTION(+ : sum)
      for (int c = 0; c < C; ++c) sum += xn[c];
      const Scalar mu = sum / count;
      Scalar sq = 0;
      RWKV_HOST_SIMD_REDUCTION(+ : sq)
      for (int c = 0; c < C; ++c) sq += (xn[c] - mu) * (xn[c] - mu);
      const Scalar r = Scalar(1) / kmath::sqrt(sq / count + eps);
      RWKV_HOST_SIMD
      for (int c = 0; c < C; ++c) yn[c] = (xn[c] - mu) * r * w[c] + b[c];
      mean(n) = mu;
      rstd(n) = r;
    };
    for_each_host_row("rwkv::layer_norm_forward", space, rows, normalize_row);
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "rwkv::layer_norm_forward", Kokkos::TeamPolicy<ExecSpace>(space, rows, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int n = team.league_rank();
          // Two passes (mean, then variance about it): no cancellation for rows with a large mean.
          Scalar sum = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, C), [&](int c, Scalar& acc) { acc += x(n, c); }, sum);
          const Scalar mu = sum / count;
          Scalar sq = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, C),
              [&](int c, Scalar& acc) {
                const Scalar d = x(n, c) - mu;
                acc += d * d;
              },
              sq);
          const Scalar r = Scalar(1) / kmath::sqrt(sq / count + eps);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, C),
                               [&](int c) { y(n, c) = (x(n, c) - mu) * r * weight(c) + bias(c); });
          Kokkos::single(Kokkos::PerTeam(team), [&]() {
            mean(n) = mu;
            rstd(n) = r;
          });
        });
  }
}

// Adds the gradients to dx, dweight and dbias (they accumulate: x usually feeds a residual too).
//   xhat = (x - mean) * rstd,  g = dy * weight
//   dx += rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
//   dweight += sum_n dy * xhat,  dbias += sum_n dy
template <class ExecSpace, class Scalar>
void layer_norm_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx,
                         const Vector<ExecSpace, Scalar>& dweight, const Vector<ExecSpace, Scalar>& dbias,
                         ConstMatrix<ExecSpace, Scalar> dy, ConstMatrix<ExecSpace, Scalar> x,
                         ConstVector<ExecSpace, Scalar> weight, ConstVector<ExecSpace, Scalar> mean,
                         ConstVector<ExecSpace, Scalar> rstd) {
  const int rows = int(x.extent(0));
  const int C = int(x.extent(1));
  const Scalar count = Scalar(max_of(C, 1));
  using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  Kokkos::parallel_for(
      "rwkv::layer_norm_backward_input", Kokkos::TeamPolicy<ExecSpace>(space, rows, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& team) {
        const int n = team.league_rank();
        const Scalar mu = mean(n);
        const Scalar r = rstd(n);
        Scalar sum_g = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, C), [&](int c, Scalar& acc) { acc += dy(n, c) * weight(c); }, sum_g);
        Scalar sum_gx = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, C),
            [&](int c, Scalar& acc) { acc += dy(n, c) * weight(c) * (x(n, c) - mu) * r; }, sum_gx);
        const Scalar mean_g = sum_g / count;
        const Scalar mean_gx = sum_gx / count;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, C), [&](int c) {
          const Scalar xhat = (x(n, c) - mu) * r;
          dx(n, c) += r * (dy(n, c) * weight(c) - mean_g - xhat * mean_gx);
        });
      });
  // Column sums in a fixed order (matrix_loops.hpp): deterministic, contiguous on CPUs, coalesced on GPUs.
  accumulate_column_sums("rwkv::layer_norm_backward_weight", space, dweight, rows, C, KOKKOS_LAMBDA(int n, int c) {
    return dy(n, c) * (x(n, c) - mean(n)) * rstd(n);
  });
  accumulate_column_sums("rwkv::layer_norm_backward_bias", space, dbias, rows, C,
                         KOKKOS_LAMBDA(int n, int c) { return dy(n, c); });
}

#define RWKV_LAYER_NORM_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                  \
  PREFIX template void layer_norm_forward<SPACE, SCALAR>(                                                  \
      const SPACE&, const Matrix<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, \
      ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>, SCALAR);          \
  PREFIX template void layer_norm_backward<SPACE, SCALAR>(                                                 \
      const SPACE&, const Matrix<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>,                  \
      ConstVector<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>);

#define RWKV_LAYER_NORM_EXTERN(SPACE, SCALAR) RWKV_LAYER_NORM_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LAYER_NORM_EXTERN)
#undef RWKV_LAYER_NORM_EXTERN

}  // namespace rwkv
