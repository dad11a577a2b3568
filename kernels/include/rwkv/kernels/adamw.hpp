// AdamW as torch.optim.AdamW computes it, on one flat parameter span, and the sum of squares
// that the global gradient norm is made of.
//   g = grad * grad_scale                              (grad_scale: gradient clipping)
//   p = p * (1 - lr * weight_decay)                     (decoupled decay; only when weight_decay > 0)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p = p - lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
// An empty span does nothing; its sum of squares is 0.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

#include <cmath>
#include <cstdint>

namespace rwkv {

struct AdamWStep {
  double lr, beta1, beta2, eps, weight_decay;
  long step;          // 1-based, for the bias corrections
  double grad_scale;  // multiplies grad: min(1, max_norm / norm) for global-norm clipping
};

template <class ExecSpace, class Scalar>
void adamw_update(const ExecSpace& space, const Vector<ExecSpace, Scalar>& param, ConstVector<ExecSpace, Scalar> grad,
                  const Vector<ExecSpace, Scalar>& m, const Vector<ExecSpace, Scalar>& v, const AdamWStep& s) {
  // The per-step constants in double on the host, as torch computes them in Python floats.
  const Scalar b1 = Scalar(s.beta1), b2 = Scalar(s.beta2), eps = Scalar(s.eps), scale = Scalar(s.grad_scale);
  const Scalar decay = Scalar(s.weight_decay > 0 ? 1 - s.lr * s.weight_decay : 1);
  const Scalar step_size = Scalar(s.lr / (1 - std::pow(s.beta1, double(s.step))));
  const Scalar bias2_sqrt = Scalar(std::sqrt(1 - std::pow(s.beta2, double(s.step))));
  Kokkos::parallel_for(
      "rwkv::adamw_update",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, std::int64_t(param.extent(0))),
      KOKKOS_LAMBDA(std::int64_t i) {
        const Scalar g = grad(i) * scale;
        const Scalar mi = b1 * m(i) + (Scalar(1) - b1) * g;
        const Scalar vi = b2 * v(i) + (Scalar(1) - b2) * g * g;
        m(i) = mi;
        v(i) = vi;
        param(i) = param(i) * decay - step_size * mi / (kmath::sqrt(vi) / bias2_sqrt + eps);
      });
}

// sum_i x[i]^2 in double. Deterministic, the same bits whatever the thread count: the span is
// cut into a number of parts that depends on its length only; within a part, lane l of 32 adds
// the elements lo + l, lo + l + 32, ... in order; lanes and then parts are summed in a fixed
// order, the parts on the host, which needs the result anyway. Host and device add in that same
// order; only the loop nesting differs: a device thread per lane (coalesced), a host thread per
// part with the lanes in a simd loop (one scalar chain of double adds would run at a fraction of
// the memory bandwidth).
template <class ExecSpace, class Scalar>
double sum_of_squares(const ExecSpace& space, ConstVector<ExecSpace, Scalar> x) {
  constexpr int lanes = 32;
  const std::int64_t n = std::int64_t(x.extent(0));
  if (n == 0) return 0.0;
  const int parts = int(min_of<std::int64_t>(1024, (n + 1023) / 1024));
  using Doubles = Kokkos::View<double*, typename ExecSpace::memory_space>;
  Doubles part_sums(Kokkos::view_alloc(Kokkos::WithoutInitializing, "rwkv::sum_of_squares_parts"), parts);
  if constexpr (host_fast_path<ExecSpace>) {
    Kokkos::parallel_for(
        "rwkv::sum_of_squares_parts", Kokkos::RangePolicy<ExecSpace>(space, 0, parts), KOKKOS_LAMBDA(int p) {
          const std::int64_t lo = n * p / parts, hi = n * (p + 1) / parts;
          double acc[lanes] = {};
          for (std::int64_t i0 = lo; i0 < hi; i0 += lanes) {
            const int width = int(min_of<std::int64_t>(lanes, hi - i0));
            RWKV_HOST_SIMD
            for (int l = 0; l < width; ++l) {
              const double d = double(x(i0 + l));
              acc[l] += d * d;
            }
          }
          double total = 0;
          for (int l = 0; l < lanes; ++l) total += acc[l];
          part_sums(p) = total;
        });
  } else {
    Doubles lane_sums(Kokkos::view_alloc(Kokkos::WithoutInitializing, "rwkv::sum_of_squares_lanes"),
                      parts * lanes);
    Kokkos::parallel_for(
        "rwkv::sum_of_squares_lanes", Kokkos::RangePolicy<ExecSpace>(space, 0, parts * lanes),
        KOKKOS_LAMBDA(int w) {
          const int p = w / lanes;
          const std::int64_t lo = n * p / parts, hi = n * (p + 1) / parts;
          double acc = 0;
          for (std::int64_t i = lo + w % lanes; i < hi; i += lanes) {
            const double d = double(x(i));
            acc += d * d;
          }
          lane_sums(w) = acc;
        });
    Kokkos::parallel_for(
        "rwkv::sum_of_squares_parts", Kokkos::RangePolicy<ExecSpace>(space, 0, parts), KOKKOS_LAMBDA(int p) {
          double acc = 0;
          for (int l = 0; l < lanes; ++l) acc += lane_sums(p * lanes + l);
          part_sums(p) = acc;
        });
  }
  space.fence();
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part_sums);
  double total = 0;
  for (int p = 0; p < parts; ++p) total += host(p);
  return total;
}

// The same for a non-const span, whose type names Scalar (ConstVector alone cannot deduce it).
template <class ExecSpace, class Scalar>
double sum_of_squares(const ExecSpace& space, const Vector<ExecSpace, Scalar>& x) {
  return sum_of_squares<ExecSpace, Scalar>(space, ConstVector<ExecSpace, Scalar>(x));
}

#define RWKV_ADAMW_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                            \
  PREFIX template void adamw_update<SPACE, SCALAR>(const SPACE&, const Vector<SPACE, SCALAR>&,                   \
                                                   ConstVector<SPACE, SCALAR>, const Vector<SPACE, SCALAR>&,     \
                                                   const Vector<SPACE, SCALAR>&, const AdamWStep&);              \
  PREFIX template double sum_of_squares<SPACE, SCALAR>(const SPACE&, ConstVector<SPACE, SCALAR>);

#define RWKV_ADAMW_EXTERN(SPACE, SCALAR) RWKV_ADAMW_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_ADAMW_EXTERN)
#undef RWKV_ADAMW_EXTERN

}  // namespace rwkv
