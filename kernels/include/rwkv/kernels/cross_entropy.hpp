// Fused log-softmax + cross-entropy over the vocabulary, forward and backward, for logits z [N, V]
// and one target class t[n] in [0, V) per row:
//   m[n]    = max_v z[n, v]
//   lse[n]  = m[n] + log sum_v exp(z[n, v] - m[n])            (max-subtracted: no overflow)
//   loss[n] = lse[n] - z[n, t[n]]   = (m[n] - z[n, t[n]]) + log sum_v exp(z[n, v] - m[n])
//             (summed in that order: no cancellation against a large m)
//   dz[n, v] = scale * (exp(z[n, v] - lse[n]) - [v == t[n]])   (scale = dloss / N for a mean loss)
// plus RWKV-LM's L2Wrap when l2wrap_factor > 0: dz[n, a] += l2wrap_factor * m[n] at a = argmax_v
// z[n, v] (the lowest such v), the gradient of l2wrap_factor / 2 * m[n]^2, which keeps the largest
// logit from drifting upwards (RWKV-LM uses l2wrap_factor = 1e-4 / (B*T)).
// Device: a team per row, the vocabulary-wide reductions team-parallel (V = 50277 for the Pile).
// Host: a thread per row, the vocabulary in simd loops with an inlined exp.
// The kernels are written for any target distribution q per row (the `_with` versions):
//   loss[n] = (m[n] - sum_v q_v z[n, v]) + log sum_v exp(z[n, v] - m[n]),
//   dz[n, v] = scale * (exp(z[n, v] - lse[n]) - q_v)
// here with the one-hot q of a target class, in kernels/cross_entropy_soft.hpp with the soft
// targets of the image task.
// N = 0 writes nothing and mean_of over no rows is 0 (not 0/0); V = 0 has no target class: N = 0 only.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

namespace rwkv {

// The one-hot target of class t, as the `_with` kernels ask a row's target distribution q:
//   weight(v)                   q_v
//   expected_logit(logits, n)   sum_v q_v z[n, v]
template <class Scalar>
struct OneHotRow {
  int t;
  KOKKOS_INLINE_FUNCTION Scalar weight(int v) const { return v == t ? Scalar(1) : Scalar(0); }
  template <class Logits>
  KOKKOS_INLINE_FUNCTION Scalar expected_logit(const Logits& logits, int n) const {
    return logits(n, t);
  }
};

// Targets of the `_with` kernels: row(n) gives row n's target distribution.
template <class ExecSpace, class Scalar>
struct OneHotTargets {
  Kokkos::View<const int*, typename ExecSpace::memory_space> targets;
  KOKKOS_INLINE_FUNCTION OneHotRow<Scalar> row(int n) const { return OneHotRow<Scalar>{targets(n)}; }
};

template <class ExecSpace, class Scalar, class Targets>
void cross_entropy_forward_with(const ExecSpace& space, const Vector<ExecSpace, Scalar>& loss,
                                const Vector<ExecSpace, Scalar>& lse, ConstMatrix<ExecSpace, Scalar> logits,
                                const Targets& targets) {
  const int rows = int(logits.extent(0));
  const int V = int(logits.extent(1));
  const auto finish_row = KOKKOS_LAMBDA(int n, Scalar m, Scalar sum) {
    const Scalar log_sum = kmath::log(sum);
    lse(n) = m + log_sum;
    loss(n) = (m - targets.row(n).expected_logit(logits, n)) + log_sum;
  };
  if constexpr (host_fast_path<ExecSpace>) {
    Kokkos::parallel_for(
        "rwkv::cross_entropy_forward", Kokkos::RangePolicy<ExecSpace>(space, 0, rows), KOKKOS_LAMBDA(int n) {
          Scalar m = logits(n, 0);
          RWKV_HOST_SIMD_REDUCTION(max : m)
          for (int v = 1; v < V; ++v) m = max_of(m, logits(n, v));
          Scalar sum = 0;
          RWKV_HOST_SIMD_REDUCTION(+ : sum)
          for (int v = 0; v < V; ++v) sum += vector_exp(logits(n, v) - m);
          finish_row(n, m, sum);
        });
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "rwkv::cross_entropy_forward", Kokkos::TeamPolicy<ExecSpace>(space, rows, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int n = team.league_rank();
          Scalar m;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, V), [&](int v, Scalar& acc) { acc = max_of(acc, logits(n, v)); },
              Kokkos::Max<Scalar>(m));
          Scalar sum = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, V),
              [&](int v, Scalar& acc) { acc += vector_exp(logits(n, v) - m); }, sum);
          Kokkos::single(Kokkos::PerTeam(team), [&]() { finish_row(n, m, sum); });
        });
  }
}

// Overwrites dlogits (it is not a parameter gradient that could accumulate). dlogits may be the
// same view as logits: each element is read before it is written, and the row's max and argmax
// (for L2Wrap) are reduced before any element of the row is written.
template <class ExecSpace, class Scalar, class Targets>
void cross_entropy_backward_with(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dlogits,
                                 ConstMatrix<ExecSpace, Scalar> logits, ConstVector<ExecSpace, Scalar> lse,
                                 const Targets& targets, Scalar scale, Scalar l2wrap_factor) {
  const int rows = int(logits.extent(0));
  const int V = int(logits.extent(1));
  const bool l2wrap = l2wrap_factor > Scalar(0);
  using Row = decltype(targets.row(0));
  const auto gradient = KOKKOS_LAMBDA(int n, int v, const Row& q, Scalar l, int wrap_at, Scalar wrap) {
    const Scalar p = vector_exp(logits(n, v) - l);
    const Scalar g = scale * (p - q.weight(v));
    dlogits(n, v) = v == wrap_at ? g + wrap : g;
  };
  if constexpr (host_fast_path<ExecSpace>) {
    Kokkos::parallel_for(
        "rwkv::cross_entropy_backward", Kokkos::RangePolicy<ExecSpace>(space, 0, rows), KOKKOS_LAMBDA(int n) {
          const Row q = targets.row(n);
          const Scalar l = lse(n);
          Scalar wrap = 0;
          int wrap_at = -1;
          if (l2wrap) {
            Scalar m = logits(n, 0);
            RWKV_HOST_SIMD_REDUCTION(max : m)
            for (int v = 1; v < V; ++v) m = max_of(m, logits(n, v));
            wrap_at = 0;  // the lowest index holding the max, as on the device
            while (wrap_at < V - 1 && logits(n, wrap_at) != m) ++wrap_at;
            wrap = l2wrap_factor * m;
          }
          RWKV_HOST_SIMD
          for (int v = 0; v < V; ++v) gradient(n, v, q, l, wrap_at, wrap);
        });
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "rwkv::cross_entropy_backward", Kokkos::TeamPolicy<ExecSpace>(space, rows, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int n = team.league_rank();
          const Row q = targets.row(n);
          const Scalar l = lse(n);
          Scalar wrap = 0;
          int wrap_at = -1;
          if (l2wrap) {
            Scalar m;
            Kokkos::parallel_reduce(
                Kokkos::TeamThreadRange(team, V),
                [&](int v, Scalar& acc) { acc = max_of(acc, logits(n, v)); }, Kokkos::Max<Scalar>(m));
            // The lowest index holding the max: the same element every run, whatever the thread count.
            Kokkos::parallel_reduce(
                Kokkos::TeamThreadRange(team, V),
                [&](int v, int& acc) {
                  if (logits(n, v) == m) acc = min_of(acc, v);
                },
                Kokkos::Min<int>(wrap_at));
            wrap = l2wrap_factor * m;
          }
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, V),
                               [&](int v) { gradient(n, v, q, l, wrap_at, wrap); });
        });
  }
}

template <class ExecSpace, class Scalar>
void cross_entropy_forward(const ExecSpace& space, const Vector<ExecSpace, Scalar>& loss,
                           const Vector<ExecSpace, Scalar>& lse, ConstMatrix<ExecSpace, Scalar> logits,
                           Kokkos::View<const int*, typename ExecSpace::memory_space> targets) {
  cross_entropy_forward_with(space, loss, lse, logits, OneHotTargets<ExecSpace, Scalar>{targets});
}

template <class ExecSpace, class Scalar>
void cross_entropy_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dlogits,
                            ConstMatrix<ExecSpace, Scalar> logits, ConstVector<ExecSpace, Scalar> lse,
                            Kokkos::View<const int*, typename ExecSpace::memory_space> targets, Scalar scale,
                            Scalar l2wrap_factor = 0) {
  cross_entropy_backward_with(space, dlogits, logits, lse, OneHotTargets<ExecSpace, Scalar>{targets}, scale,
                              l2wrap_factor);
}

// The mean of v, summed in double in a fixed order (fixed chunks, then the chunk sums in order):
// the same bits every run, on any thread count and any space.
template <class ExecSpace, class Scalar>
double mean_of(const ExecSpace& space, ConstVector<ExecSpace, Scalar> v) {
  constexpr int chunks = 256;
  const int n = int(v.extent(0));
  if (n == 0) return 0.0;
  const int chunk = (n + chunks - 1) / chunks;
  // partial(0 .. chunks-1) hold the chunk sums, partial(chunks) their total.
  Kokkos::View<double*, typename ExecSpace::memory_space> partial("rwkv::mean_of", chunks + 1);
  Kokkos::parallel_for(
      "rwkv::mean_of_chunks", Kokkos::RangePolicy<ExecSpace>(space, 0, chunks), KOKKOS_LAMBDA(int c) {
        double s = 0;
        const int end = min_of(n, (c + 1) * chunk);
        for (int i = c * chunk; i < end; ++i) s += double(v(i));
        partial(c) = s;
      });
  Kokkos::parallel_for(
      "rwkv::mean_of_total", Kokkos::RangePolicy<ExecSpace>(space, 0, 1), KOKKOS_LAMBDA(int) {
        double s = 0;
        for (int c = 0; c < chunks; ++c) s += partial(c);
        partial(chunks) = s;
      });
  const auto total = Kokkos::subview(partial, chunks);
  const auto host = Kokkos::create_mirror_view(total);
  Kokkos::deep_copy(space, host, total);
  space.fence();
  return host() / n;
}

#define RWKV_CROSS_ENTROPY_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                 \
  PREFIX template void cross_entropy_forward<SPACE, SCALAR>(                                                 \
      const SPACE&, const Vector<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>,   \
      Kokkos::View<const int*, SPACE::memory_space>);                                                        \
  PREFIX template void cross_entropy_backward<SPACE, SCALAR>(                                                \
      const SPACE&, const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>,     \
      Kokkos::View<const int*, SPACE::memory_space>, SCALAR, SCALAR);                                        \
  PREFIX template double mean_of<SPACE, SCALAR>(const SPACE&, ConstVector<SPACE, SCALAR>);

#define RWKV_CROSS_ENTROPY_EXTERN(SPACE, SCALAR) RWKV_CROSS_ENTROPY_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_CROSS_ENTROPY_EXTERN)
#undef RWKV_CROSS_ENTROPY_EXTERN

}  // namespace rwkv
