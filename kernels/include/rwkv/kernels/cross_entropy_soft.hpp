// Cross-entropy against the soft targets of the image task (docs/DESIGN.md#image-pipeline): a pixel
// whose three channel levels L = (L_r, L_g, L_b), each in [0, 7], are known before RandRound is
// scored against the product of the channels' two-point RandRound distributions, so both
// neighbouring levels are accepted and the nearer one costs less:
//   q(offset + 64 r + 8 g + b) = w_r(r) w_g(g) w_b(b),
//   w_c(floor L_c) = 1 - frac(L_c),  w_c(floor L_c + 1) = frac(L_c)   (one point of weight 1 when
//                                                                      L_c is whole)
//   loss[n]  = lse[n] - sum_v q_v z[n, v]
//   dz[n, v] = scale * (exp(z[n, v] - lse[n]) - q_v)   (+ L2Wrap, as in cross_entropy.hpp)
// `offset` is the first of the 8 x 8 x 8 = 512 image tokens (256 in the byte + image vocabulary).
// A row with a negative level (the data side writes -1 for text and special tokens) takes its hard
// target targets[n], exactly as cross_entropy_forward / _backward; a soft row ignores targets[n].
// levels is [N, 3] floats. Levels above 7 count as 7; NaN counts as negative.
// N = 0 writes nothing; a vocabulary without the image tokens (V = 0 among them) is refused.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/cross_entropy.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/views.hpp>

#include <type_traits>

namespace rwkv {

inline constexpr int soft_target_levels = 8;  // per channel
inline constexpr int soft_target_classes = soft_target_levels * soft_target_levels * soft_target_levels;

// [N, 3] channel levels in ExecSpace's memory; non-deduced, so callers may pass View<float**>.
template <class ExecSpace>
using ConstLevels = std::type_identity_t<Kokkos::View<const float**, Kokkos::LayoutRight, typename ExecSpace::memory_space>>;

// One row's target distribution for the `_with` kernels of cross_entropy.hpp.
template <class Scalar>
struct RandRoundRow {
  int target = 0;  // the hard target, used when !soft
  int offset = 0;
  bool soft = false;
  int low[3] = {0, 0, 0}, high[3] = {0, 0, 0};  // floor L_c and ceil L_c
  Scalar frac[3] = {0, 0, 0};                   // L_c - floor L_c: the weight of high

  // w_c(level): 1 - frac on low, frac on high; low == high (frac 0) gives 1.
  KOKKOS_INLINE_FUNCTION Scalar channel_weight(int c, int level) const {
    return (level == low[c] ? Scalar(1) - frac[c] : Scalar(0)) + (level == high[c] ? frac[c] : Scalar(0));
  }
  KOKKOS_INLINE_FUNCTION Scalar weight(int v) const {
    if (!soft) return v == target ? Scalar(1) : Scalar(0);
    const int i = v - offset;
    if (i < 0 || i >= soft_target_classes) return Scalar(0);
    constexpr int L = soft_target_levels;
    return channel_weight(0, i / (L * L)) * channel_weight(1, (i / L) % L) * channel_weight(2, i % L);
  }
  // Over the 8 corners {low, high}^3; a whole level's high corner has weight 0 and adds exactly 0,
  // so whole levels give z[n, t] itself, bit for bit the hard target's value.
  template <class Logits>
  KOKKOS_INLINE_FUNCTION Scalar expected_logit(const Logits& logits, int n) const {
    if (!soft) return logits(n, target);
    constexpr int L = soft_target_levels;
    Scalar sum = 0;
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        for (int c = 0; c < 2; ++c) {
          const Scalar w = (a ? frac[0] : Scalar(1) - frac[0]) * (b ? frac[1] : Scalar(1) - frac[1]) *
                           (c ? frac[2] : Scalar(1) - frac[2]);
          const int r = a ? high[0] : low[0], g = b ? high[1] : low[1], bl = c ? high[2] : low[2];
          sum += w * logits(n, offset + (r * L + g) * L + bl);
        }
    return sum;
  }
};

template <class ExecSpace, class Scalar>
struct RandRoundTargets {
  Kokkos::View<const int*, typename ExecSpace::memory_space> targets;
  Kokkos::View<const float**, Kokkos::LayoutRight, typename ExecSpace::memory_space> levels;
  int offset;

  KOKKOS_INLINE_FUNCTION RandRoundRow<Scalar> row(int n) const {
    RandRoundRow<Scalar> q;
    q.target = targets(n);
    q.offset = offset;
    // `>= 0` is false for NaN too.
    q.soft = levels(n, 0) >= 0.0f && levels(n, 1) >= 0.0f && levels(n, 2) >= 0.0f;
    if (!q.soft) return q;
    for (int c = 0; c < 3; ++c) {
      const float level = min_of(levels(n, c), float(soft_target_levels - 1));
      q.low[c] = int(level);                        // floor: level >= 0
      const float frac = level - float(q.low[c]);  // exact
      q.frac[c] = Scalar(frac);
      q.high[c] = frac > 0.0f ? q.low[c] + 1 : q.low[c];
    }
    return q;
  }
};

namespace detail {
// Host-side checks of the shapes: a wrong offset or levels view would read outside the logits.
void check_soft_targets(int rows, int V, long level_rows, long level_cols, int offset);
}  // namespace detail

template <class ExecSpace, class Scalar>
void cross_entropy_soft_forward(const ExecSpace& space, const Vector<ExecSpace, Scalar>& loss,
                                const Vector<ExecSpace, Scalar>& lse, ConstMatrix<ExecSpace, Scalar> logits,
                                Kokkos::View<const int*, typename ExecSpace::memory_space> targets,
                                ConstLevels<ExecSpace> levels, int offset) {
  detail::check_soft_targets(int(logits.extent(0)), int(logits.extent(1)), long(levels.extent(0)),
                             long(levels.extent(1)), offset);
  cross_entropy_forward_with(space, loss, lse, logits, RandRoundTargets<ExecSpace, Scalar>{targets, levels, offset});
}

// Overwrites dlogits; dlogits may be the same view as logits (as cross_entropy_backward).
template <class ExecSpace, class Scalar>
void cross_entropy_soft_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dlogits,
                                 ConstMatrix<ExecSpace, Scalar> logits, ConstVector<ExecSpace, Scalar> lse,
                                 Kokkos::View<const int*, typename ExecSpace::memory_space> targets,
                                 ConstLevels<ExecSpace> levels, int offset, Scalar scale, Scalar l2wrap_factor = 0) {
  detail::check_soft_targets(int(logits.extent(0)), int(logits.extent(1)), long(levels.extent(0)),
                             long(levels.extent(1)), offset);
  cross_entropy_backward_with(space, dlogits, logits, lse, RandRoundTargets<ExecSpace, Scalar>{targets, levels, offset},
                              scale, l2wrap_factor);
}

#define RWKV_CROSS_ENTROPY_SOFT_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                \
  PREFIX template void cross_entropy_soft_forward<SPACE, SCALAR>(                                               \
      const SPACE&, const Vector<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,      \
      Kokkos::View<const int*, SPACE::memory_space>, ConstLevels<SPACE>, int);                                  \
  PREFIX template void cross_entropy_soft_backward<SPACE, SCALAR>(                                              \
      const SPACE&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>,        \
      Kokkos::View<const int*, SPACE::memory_space>, ConstLevels<SPACE>, int, SCALAR, SCALAR);

#define RWKV_CROSS_ENTROPY_SOFT_EXTERN(SPACE, SCALAR) RWKV_CROSS_ENTROPY_SOFT_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_CROSS_ENTROPY_SOFT_EXTERN)
#undef RWKV_CROSS_ENTROPY_SOFT_EXTERN

}  // namespace rwkv
