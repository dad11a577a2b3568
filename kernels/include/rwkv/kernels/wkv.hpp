// RWKV-4 WKV, forward and backward. Per batch b and channel c, sequentially over t, with
// w = -exp(time_decay[c]), u = time_first[c] and the state (aa, bb, pp), whose true numerator and
// denominator are aa * exp(pp) and bb * exp(pp) (pp is a running exponent that keeps exp finite):
//   ww = u + k[t];  p = max(pp, ww);  e1 = exp(pp - p);  e2 = exp(ww - p)
//   y[t] = (e1*aa + e2*v[t]) / (e1*bb + e2)
//   ww = w + pp;    p = max(ww, k[t]); e1 = exp(ww - p);  e2 = exp(k[t] - p)
//   aa = e1*aa + e2*v[t];  bb = e1*bb + e2;  pp = p
// A thread per (b, c) (on the host: per b and 16 channels, as simd lanes) walks t, so T has no
// upper bound. The forward takes an initial state and
// leaves the final one; the backward turns the final state's gradient into the initial state's, so
// a long sequence can be trained chunk by chunk.
//
// Memory: the forward saves the state before every step, 3 * B*T*C scalars (as much as three
// [B*T, C] activations), plus 2 * B*C scalars of workspace for the backward's parameter sums.
// The backward recomputes y from it.
// B = 0, T = 0 or C = 0 does nothing: no step leaves the state, and its gradient, as they were.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

#include <string>

namespace rwkv {

// pp of the empty state: exp(pp - p) is 0 at the first step whatever k is. Zero would do for the
// math (aa = bb = 0) but not for exp: y would be 0/0 once u + k[0] is below about -100 (float).
inline constexpr double wkv_empty_exponent = -1e38;

// The recurrent state, [B, C] each. A new one must be reset with wkv_reset_state before use.
template <class ExecSpace, class Scalar>
struct WkvState {
  Matrix<ExecSpace, Scalar> aa, bb, pp;
  WkvState() = default;
  WkvState(const std::string& label, int B, int C)
      : aa(label + ".aa", B, C), bb(label + ".bb", B, C), pp(label + ".pp", B, C) {}
};

// What the forward keeps for the backward: aa, bb, pp [B*T, C] hold the state before step t in row
// b*T + t; decay_partial and first_partial [B, C] are the backward's per-(b, c) parameter-gradient
// sums, added over b in a fixed order afterwards (deterministic). A default-constructed (empty)
// WkvSaved makes the forward save nothing, for inference.
template <class ExecSpace, class Scalar>
struct WkvSaved {
  Matrix<ExecSpace, Scalar> aa, bb, pp;
  Matrix<ExecSpace, Scalar> decay_partial, first_partial;
  WkvSaved() = default;
  WkvSaved(const std::string& label, int B, int T, int C)
      : aa(Kokkos::view_alloc(label + ".aa", Kokkos::WithoutInitializing), B * T, C),
        bb(Kokkos::view_alloc(label + ".bb", Kokkos::WithoutInitializing), B * T, C),
        pp(Kokkos::view_alloc(label + ".pp", Kokkos::WithoutInitializing), B * T, C),
        decay_partial(Kokkos::view_alloc(label + ".decay_partial", Kokkos::WithoutInitializing), B, C),
        first_partial(Kokkos::view_alloc(label + ".first_partial", Kokkos::WithoutInitializing), B, C) {}
};

// aa = bb = 0, pp = wkv_empty_exponent: the state before any token.
template <class ExecSpace, class Scalar>
void wkv_reset_state(const ExecSpace& space, const WkvState<ExecSpace, Scalar>& state) {
  Kokkos::deep_copy(space, state.aa, Scalar(0));
  Kokkos::deep_copy(space, state.bb, Scalar(0));
  Kokkos::deep_copy(space, state.pp, Scalar(wkv_empty_exponent));
}

// One forward step of one channel: returns y[t] and advances the state (aa, bb, pp).
template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar wkv_forward_step(Scalar& aa, Scalar& bb, Scalar& pp, Scalar w, Scalar u, Scalar kt,
                                               Scalar vt) {
  Scalar ww = u + kt;
  Scalar p = max_of(pp, ww);
  Scalar e1 = vector_exp(pp - p), e2 = vector_exp(ww - p);
  const Scalar y = (e1 * aa + e2 * vt) / (e1 * bb + e2);
  ww = w + pp;
  p = max_of(ww, kt);
  e1 = vector_exp(ww - p);
  e2 = vector_exp(kt - p);
  aa = e1 * aa + e2 * vt;
  bb = e1 * bb + e2;
  pp = p;
  return y;
}

// The (b, c) pairs of [B, C] in the nesting each space wants; f(b, c0, width) scans the channels
// c0 .. c0 + width - 1 of sequence b:
//   device: one channel per thread, c fastest across threads (neighbours read neighbours);
//   host:   wkv_host_width channels per thread, so the scan over t runs as simd loops over them.
inline constexpr int wkv_host_width = 16;

template <class ExecSpace, class F>
void for_each_wkv_scan(const char* name, const ExecSpace& space, int B, int C, const F& f) {
  constexpr bool host = host_fast_path<ExecSpace>;
  const int width = host ? wkv_host_width : 1;
  const int blocks = (C + width - 1) / width;
  Kokkos::parallel_for(
      name, Kokkos::RangePolicy<ExecSpace>(space, 0, B * blocks), KOKKOS_LAMBDA(int i) {
        const int b = i / blocks, c0 = (i % blocks) * width;
        f(b, c0, min_of(width, C - c0));
      });
}

// y [B*T, C]; state: the initial state in, the final state out; saved: see WkvSaved (may be empty).
// k, v [B*T, C]; time_decay, time_first [C].
template <class ExecSpace, class Scalar>
void wkv_forward(const ExecSpace& space, int T, const Matrix<ExecSpace, Scalar>& y,
                 const WkvState<ExecSpace, Scalar>& state, const WkvSaved<ExecSpace, Scalar>& saved,
                 ConstVector<ExecSpace, Scalar> time_decay, ConstVector<ExecSpace, Scalar> time_first,
                 ConstMatrix<ExecSpace, Scalar> k, ConstMatrix<ExecSpace, Scalar> v) {
  constexpr int W = wkv_host_width;
  const int C = int(k.extent(1));
  const int B = T > 0 ? int(k.extent(0)) / T : 0;
  const bool save = saved.aa.data() != nullptr;
  const auto s_aa = state.aa, s_bb = state.bb, s_pp = state.pp;
  const auto h_aa = saved.aa, h_bb = saved.bb, h_pp = saved.pp;
  for_each_wkv_scan("rwkv::wkv_forward", space, B, C, KOKKOS_LAMBDA(int b, int c0, int width) {
    Scalar aa[W], bb[W], pp[W], w[W], u[W];
    for (int j = 0; j < width; ++j) {
      const int c = c0 + j;
      w[j] = -kmath::exp(time_decay(c));
      u[j] = time_first(c);
      aa[j] = s_aa(b, c);
      bb[j] = s_bb(b, c);
      pp[j] = s_pp(b, c);
    }
    for (int t = 0; t < T; ++t) {
      const int n = b * T + t;
      // Raw pointers to the row: through the views' accessors the simd loop runs slower.
      const Scalar *kn = &k(n, c0), *vn = &v(n, c0);
      Scalar* yn = &y(n, c0);
      if (save) {
        Scalar *san = &h_aa(n, c0), *sbn = &h_bb(n, c0), *spn = &h_pp(n, c0);
        RWKV_HOST_SIMD
        for (int j = 0; j < width; ++j) {
          san[j] = aa[j];
          sbn[j] = bb[j];
          spn[j] = pp[j];
        }
      }
      RWKV_HOST_SIMD
      for (int j = 0; j < width; ++j) yn[j] = wkv_forward_step(aa[j], bb[j], pp[j], w[j], u[j], kn[j], vn[j]);
    }
    for (int j = 0; j < width; ++j) {
      s_aa(b, c0 + j) = aa[j];
      s_bb(b, c0 + j) = bb[j];
      s_pp(b, c0 + j) = pp[j];
    }
  });
}

// The gradient of a channel's state after the step (gaa, gbb, gpp) and of its parameters so far
// (gw, gu), carried backwards over t.
template <class Scalar>
struct WkvStateGrad {
  Scalar aa, bb, pp, w, u;
};

// One backward step of one channel: from the saved state before step t (aa, bb, pp) and the
// gradients of the state after it and of y[t], the gradients of k[t], v[t] and of the state
// before the step. Reverse mode in the reparametrized variables:
//   update (p = max(ww, k), ww = w + pp):
//     X = (gaa*aa + gbb*bb) * e1,  Y = (gaa*v + gbb) * e2       (aa, bb: the state before the step)
//     pp' = p and (aa', bb') scale by exp(-p), so p's total gradient is gpp - X - Y; it flows to the
//     larger of ww, k: if k > ww then gww = X, gk = gpp - X, else gww = gpp - Y, gk = Y
//     gaa <- gaa*e1,  gbb <- gbb*e1,  gv = gaa*e2,  gw += gww,  gpp <- gww
//   output (y does not depend on its p, so the max passes no gradient):
//     q = dy / (e1*bb + e2);  gaa += q*e1;  gbb -= q*y*e1;  gv += q*e2
//     g = q*e2*(v - y) = d y / d(u + k);  gk += g,  gu += g,  gpp -= g   (y is invariant to
//     shifting pp and u + k together)
template <class Scalar>
KOKKOS_INLINE_FUNCTION void wkv_backward_step(WkvStateGrad<Scalar>& g, Scalar& gk, Scalar& gv, Scalar aa, Scalar bb,
                                              Scalar pp, Scalar w, Scalar u, Scalar kt, Scalar vt, Scalar dy) {
  Scalar ww = w + pp;
  Scalar p = max_of(ww, kt);
  Scalar e1 = vector_exp(ww - p), e2 = vector_exp(kt - p);
  Scalar gww;
  if (kt > ww) {
    gww = (g.aa * aa + g.bb * bb) * e1;
    gk = g.pp - gww;
  } else {
    gk = (g.aa * vt + g.bb) * e2;
    gww = g.pp - gk;
  }
  gv = g.aa * e2;
  g.w += gww;
  g.pp = gww;
  g.aa *= e1;
  g.bb *= e1;

  ww = u + kt;
  p = max_of(pp, ww);
  e1 = vector_exp(pp - p);
  e2 = vector_exp(ww - p);
  const Scalar den = e1 * bb + e2;
  const Scalar yt = (e1 * aa + e2 * vt) / den;
  const Scalar q = dy / den;
  const Scalar gy = q * e2 * (vt - yt);
  g.aa += q * e1;
  g.bb -= q * yt * e1;
  gv += q * e2;
  gk += gy;
  g.u += gy;
  g.pp -= gy;
}

// Adds to dtime_decay, dtime_first, dk, dv; dstate holds the final state's gradient on entry and
// the initial state's on exit. saved is the forward's (not empty). dtime_decay += gw * w (as
// dw/dtime_decay = w), dtime_first += gu, summed over b in a fixed order.
template <class ExecSpace, class Scalar>
void wkv_backward(const ExecSpace& space, int T, const Vector<ExecSpace, Scalar>& dtime_decay,
                  const Vector<ExecSpace, Scalar>& dtime_first, const Matrix<ExecSpace, Scalar>& dk,
                  const Matrix<ExecSpace, Scalar>& dv, const WkvState<ExecSpace, Scalar>& dstate,
                  ConstMatrix<ExecSpace, Scalar> dy, const WkvSaved<ExecSpace, Scalar>& saved,
                  ConstVector<ExecSpace, Scalar> time_decay, ConstVector<ExecSpace, Scalar> time_first,
                  ConstMatrix<ExecSpace, Scalar> k, ConstMatrix<ExecSpace, Scalar> v) {
  constexpr int W = wkv_host_width;
  const int C = int(k.extent(1));
  const int B = T > 0 ? int(k.extent(0)) / T : 0;
  const auto g_aa = dstate.aa, g_bb = dstate.bb, g_pp = dstate.pp;
  const auto h_aa = saved.aa, h_bb = saved.bb, h_pp = saved.pp;
  const auto decay_partial = saved.decay_partial, first_partial = saved.first_partial;
  for_each_wkv_scan("rwkv::wkv_backward", space, B, C, KOKKOS_LAMBDA(int b, int c0, int width) {
    // Channel j's WkvStateGrad, one array per field: simd lanes load them as vectors.
    Scalar gaa[W], gbb[W], gpp[W], gw[W], gu[W], w[W], u[W];
    for (int j = 0; j < width; ++j) {
      const int c = c0 + j;
      w[j] = -kmath::exp(time_decay(c));
      u[j] = time_first(c);
      gaa[j] = g_aa(b, c);
      gbb[j] = g_bb(b, c);
      gpp[j] = g_pp(b, c);
      gw[j] = gu[j] = 0;
    }
    for (int t = T - 1; t >= 0; --t) {
      const int n = b * T + t;
      const Scalar *san = &h_aa(n, c0), *sbn = &h_bb(n, c0), *spn = &h_pp(n, c0);  // raw rows, as above
      const Scalar *kn = &k(n, c0), *vn = &v(n, c0), *dyn = &dy(n, c0);
      Scalar *dkn = &dk(n, c0), *dvn = &dv(n, c0);
      RWKV_HOST_SIMD
      for (int j = 0; j < width; ++j) {
        WkvStateGrad<Scalar> g{gaa[j], gbb[j], gpp[j], gw[j], gu[j]};
        Scalar gk, gv;
        wkv_backward_step(g, gk, gv, san[j], sbn[j], spn[j], w[j], u[j], kn[j], vn[j], dyn[j]);
        gaa[j] = g.aa;
        gbb[j] = g.bb;
        gpp[j] = g.pp;
        gw[j] = g.w;
        gu[j] = g.u;
        dkn[j] += gk;
        dvn[j] += gv;
      }
    }
    for (int j = 0; j < width; ++j) {
      const int c = c0 + j;
      g_aa(b, c) = gaa[j];
      g_bb(b, c) = gbb[j];
      g_pp(b, c) = gpp[j];
      decay_partial(b, c) = gw[j] * w[j];
      first_partial(b, c) = gu[j];
    }
  });
  Kokkos::parallel_for(
      "rwkv::wkv_backward_params", Kokkos::RangePolicy<ExecSpace>(space, 0, C), KOKKOS_LAMBDA(int c) {
        Scalar dd = 0, df = 0;
        for (int b = 0; b < B; ++b) {
          dd += decay_partial(b, c);
          df += first_partial(b, c);
        }
        dtime_decay(c) += dd;
        dtime_first(c) += df;
      });
}

#define RWKV_WKV_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                         \
  PREFIX template void wkv_reset_state<SPACE, SCALAR>(const SPACE&, const WkvState<SPACE, SCALAR>&);       \
  PREFIX template void wkv_forward<SPACE, SCALAR>(                                                         \
      const SPACE&, int, const Matrix<SPACE, SCALAR>&, const WkvState<SPACE, SCALAR>&,                     \
      const WkvSaved<SPACE, SCALAR>&, ConstVector<SPACE, SCALAR>, ConstVector<SPACE, SCALAR>,             \
      ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>);                                             \
  PREFIX template void wkv_backward<SPACE, SCALAR>(                                                        \
      const SPACE&, int, const Vector<SPACE, SCALAR>&, const Vector<SPACE, SCALAR>&,                       \
      const Matrix<SPACE, SCALAR>&, const Matrix<SPACE, SCALAR>&, const WkvState<SPACE, SCALAR>&,         \
      ConstMatrix<SPACE, SCALAR>, const WkvSaved<SPACE, SCALAR>&, ConstVector<SPACE, SCALAR>,             \
      ConstVector<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>);

#define RWKV_WKV_EXTERN(SPACE, SCALAR) RWKV_WKV_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WKV_EXTERN)
#undef RWKV_WKV_EXTERN

}  // namespace rwkv
