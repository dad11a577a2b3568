// RWKV-7 WKV ("WKV-7"), forward and backward. C = H*N channels; head h owns channels h*N .. h*N+N-1
// and an N x N state S, S[i][j] with i the VALUE index and j the KEY index (S maps keys to values,
// as in RWKV-LM's v7 and ChatRWKV; v5/v6 and flash-linear-attention store the transpose). Per batch
// b, head h and step t, on the head's slices of the inputs [B*T, C]:
//   omega = exp(-exp(-1/2) * sigmoid(z))       the decay, from the raw logit z; in (0.545, 1)
//   sa[i] = sum_j S[i][j] alpha[j]              (S alpha)
//   S[i][j] <- S[i][j] omega[j] + sa[i] beta[j] + v[i] k[j]
//   y[i]  = sum_j S[i][j] r[j]                  read AFTER the update
// (In RWKV-7, alpha = -kk and beta = kk * a with kk the normalized removal key; the kernel takes
// alpha and beta as they are.) The state is wkv7_state_t<Scalar>: fp32, or double for double.
//
// Backward (G = dL/dS after the step, starting from dS_T; Ghat = G + dy r^T):
//   dr[j] = sum_i S_t[i][j] dy[i]                  dv[i] = sum_j Ghat[i][j] k[j]
//   dk[j] = sum_i Ghat[i][j] v[i]                  dbeta[j] = sum_i Ghat[i][j] sa[i]
//   dsa[i] = sum_j Ghat[i][j] beta[j]              domega[j] = sum_i Ghat[i][j] S_{t-1}[i][j]
//   dalpha[j] = sum_i S_{t-1}[i][j] dsa[i]         G <- Ghat diag(omega) + dsa alpha^T  (= dL/dS_{t-1})
//   dz = domega * omega * (-exp(-1/2)) * sigmoid(z) (1 - sigmoid(z))
// and dS0 = G after step 0.
//
// What the forward saves (Wkv7Saved): sa per step (B*T*C states) and the state before every
// wkv7_checkpoint_interval-th step plus the final state ((ceil(T/16) + 1) N*N per (b, h): N/16 states
// per token and channel). The backward walks t down from the final state and gets S_{t-1} from S_t by
// BACKSTEPPING, S_{t-1} = (S_t - v k^T - sa beta^T) diag(1/omega), reloading the saved state at
// each chunk start. Why backstepping rather than recomputing each chunk forward from its checkpoint:
// it needs no per-step scratch (16 states of a head, 256 KiB for N = 64, would not fit a GPU team's
// shared memory) and costs one pass per step. Its division is safe because the kernel applies the
// decay transform itself, so omega >= exp(-exp(-1/2)) = 0.545 always, and a reload every 16 steps
// bounds the growth of rounding errors by (1/0.545)^15 in the worst case (fp32 suffices; the float
// test states the bound it checks). 16 is RWKV-LM's interval: not yet measured against others.
//
// Paths (include/rwkv/core/execution.hpp):
//   host:   a thread per (b, h), the whole state in local arrays, simd loops: the forward keeps
//           it by columns (axpys along the value index), the backward by rows (two sums a row,
//           where by columns it would take five);
//   device: a team per (b, h), a lane per state row (forward) and per row, then per column
//           (backward), the state in team scratch with rows padded to N + 1 entries so that walking a
//           row or a column across lanes hits distinct banks.
// T has no upper bound and need not be a multiple of 16. B = 0 or T = 0 does nothing: the state,
// and in the backward its gradient, stay as they are.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

#include <string>
#include <type_traits>

namespace rwkv {

// The state's type: fp32 whatever the activations are, except in double (the gradient checks).
template <class Scalar>
using wkv7_state_t = std::conditional_t<std::is_same_v<Scalar, double>, double, float>;

inline constexpr int wkv7_checkpoint_interval = 16;
inline constexpr double wkv7_decay_scale = 0.60653065971263342;  // exp(-1/2)

// Saved states per (b, h) for T steps: one before each chunk of 16 steps, and the final one.
inline int wkv7_checkpoints(int T) { return (T + wkv7_checkpoint_interval - 1) / wkv7_checkpoint_interval + 1; }

// The recurrent state [B, H, N, N], S(b, h, i, j) with i the value index and j the key index.
template <class ExecSpace, class Scalar>
using Wkv7State = Kokkos::View<wkv7_state_t<Scalar>****, Kokkos::LayoutRight, typename ExecSpace::memory_space>;

// The inputs, each [B*T, C] with row b*T + t; z is the decay logit (see the top).
template <class ExecSpace, class Scalar>
struct Wkv7Inputs {
  ConstMatrix<ExecSpace, Scalar> r, z, k, v, alpha, beta;
};

// Their gradients, added to (+=) by the backward.
template <class ExecSpace, class Scalar>
struct Wkv7Grads {
  Matrix<ExecSpace, Scalar> r, z, k, v, alpha, beta;
};

// What the forward keeps for the backward: sa [B*T, C] and checkpoints [B, H, wkv7_checkpoints(T),
// N, N], entry c < last holding the state before step 16c, the last one the final state. A
// default-constructed (empty) Wkv7Saved makes the forward save nothing, for inference.
template <class ExecSpace, class Scalar>
struct Wkv7Saved {
  using State = wkv7_state_t<Scalar>;
  Matrix<ExecSpace, State> sa;
  Kokkos::View<State*****, Kokkos::LayoutRight, typename ExecSpace::memory_space> checkpoints;
  Wkv7Saved() = default;
  Wkv7Saved(const std::string& label, int B, int T, int H, int N)
      : sa(Kokkos::view_alloc(label + ".sa", Kokkos::WithoutInitializing), B * T, H * N),
        checkpoints(Kokkos::view_alloc(label + ".checkpoints", Kokkos::WithoutInitializing), B, H,
                    wkv7_checkpoints(T), N, N) {}
};

// vector_exp: inlined into the host's simd loops, the native exp on a device.
template <class State>
KOKKOS_INLINE_FUNCTION State wkv7_sigmoid(State z) {
  return State(1) / (State(1) + vector_exp(-z));
}

// The head count of C channels; C must be a multiple of N.
template <int N>
inline int wkv7_heads(int C) {
  if (C % N != 0) Kokkos::abort("rwkv::wkv7: the channel count is not a multiple of the head size");
  return C / N;
}

namespace detail {

// A team per (b, h): its size N on a GPU (a thread per lane). On host spaces (the portable build)
// a team has at most as many threads as the host; it takes them all rather than Kokkos' choice
// (one thread), so that the tests run the lanes' barriers between threads.
template <int N, class ExecSpace>
Kokkos::TeamPolicy<ExecSpace> wkv7_team_policy(const ExecSpace& space, int league) {
  if constexpr (Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible)
    return Kokkos::TeamPolicy<ExecSpace>(space, league, min_of(N, space.concurrency()));
  else
    return Kokkos::TeamPolicy<ExecSpace>(space, league, N);
}

// Team scratch of `bytes`: level 0 (GPU shared memory) where it fits, else level 1.
template <class ExecSpace>
int wkv7_scratch_level(Kokkos::TeamPolicy<ExecSpace>& policy, std::size_t bytes) {
  const int level = bytes <= std::size_t(policy.scratch_size_max(0)) ? 0 : 1;
  policy.set_scratch_size(level, Kokkos::PerTeam(bytes));
  return level;
}

}  // namespace detail

// y [B*T, C]; state [B, H, N, N]: the initial state in, the final state out; saved: see Wkv7Saved
// (may be empty).
template <int N, class ExecSpace, class Scalar>
void wkv7_forward(const ExecSpace& space, int T, const Matrix<ExecSpace, Scalar>& y,
                  const Wkv7State<ExecSpace, Scalar>& state, const Wkv7Saved<ExecSpace, Scalar>& saved,
                  const Wkv7Inputs<ExecSpace, Scalar>& in) {
  using State = wkv7_state_t<Scalar>;
  constexpr int K = wkv7_checkpoint_interval;
  const int C = int(in.k.extent(1));
  const int H = wkv7_heads<N>(C);
  const int B = T > 0 ? int(in.k.extent(0)) / T : 0;
  if (B == 0 || H == 0) return;
  const bool save = saved.sa.data() != nullptr;
  const int last = wkv7_checkpoints(T) - 1;
  const auto r = in.r, z = in.z, k = in.k, v = in.v, alpha = in.alpha, beta = in.beta;
  const auto sa_out = saved.sa;
  const auto ckpt = saved.checkpoints;
  const State decay_scale = State(wkv7_decay_scale);

  if constexpr (host_fast_path<ExecSpace>) {
    // The state is kept by columns (St[j*N + i] = S[i][j]): every step is then axpys along the
    // value index, with sa and y as vector accumulators, and no horizontal sums.
    Kokkos::parallel_for(
        "rwkv::wkv7_forward", Kokkos::RangePolicy<ExecSpace>(space, 0, B * H), KOKKOS_LAMBDA(int bh) {
          const int b = bh / H, h = bh % H, c0 = h * N;
          State St[N * N], w[N], rr[N], kk[N], aa[N], bb[N], vv[N], sa[N], yy[N];
          for (int i = 0; i < N; ++i)
            for (int j = 0; j < N; ++j) St[j * N + i] = state(b, h, i, j);
          for (int t = 0; t < T; ++t) {
            const int n = b * T + t;
            if (save && t % K == 0)
              for (int i = 0; i < N; ++i)
                for (int j = 0; j < N; ++j) ckpt(b, h, t / K, i, j) = St[j * N + i];
            // Raw pointers to the rows: through the views' accessors the simd loops run slower.
            const Scalar *rn = &r(n, c0), *zn = &z(n, c0), *kn = &k(n, c0), *an = &alpha(n, c0), *bn = &beta(n, c0);
            const Scalar* vn = &v(n, c0);
            RWKV_HOST_SIMD
            for (int j = 0; j < N; ++j) {
              w[j] = vector_exp(-decay_scale * wkv7_sigmoid(State(zn[j])));
              rr[j] = State(rn[j]);
              kk[j] = State(kn[j]);
              aa[j] = State(an[j]);
              bb[j] = State(bn[j]);
              vv[j] = State(vn[j]);
              sa[j] = yy[j] = 0;
            }
            for (int j = 0; j < N; ++j) {
              const State* col = St + j * N;
              const State aj = aa[j];
              RWKV_HOST_SIMD
              for (int i = 0; i < N; ++i) sa[i] += col[i] * aj;
            }
            for (int j = 0; j < N; ++j) {
              State* col = St + j * N;
              const State wj = w[j], bj = bb[j], kj = kk[j], rj = rr[j];
              RWKV_HOST_SIMD
              for (int i = 0; i < N; ++i) {
                const State s = col[i] * wj + sa[i] * bj + vv[i] * kj;
                col[i] = s;
                yy[i] += s * rj;
              }
            }
            Scalar* yn = &y(n, c0);
            for (int i = 0; i < N; ++i) yn[i] = Scalar(yy[i]);
            if (save) {
              State* san = &sa_out(n, c0);
              for (int i = 0; i < N; ++i) san[i] = sa[i];
            }
          }
          for (int i = 0; i < N; ++i)
            for (int j = 0; j < N; ++j) {
              state(b, h, i, j) = St[j * N + i];
              if (save) ckpt(b, h, last, i, j) = St[j * N + i];
            }
        });
  } else {
    using Policy = Kokkos::TeamPolicy<ExecSpace>;
    using Team = typename Policy::member_type;
    using Scratch = Kokkos::View<State*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    constexpr int P = N + 1;  // padded row (see the top)
    constexpr int size = N * P + 5 * N;
    Policy policy = detail::wkv7_team_policy<N>(space, B * H);
    const int level = detail::wkv7_scratch_level(policy, Scratch::shmem_size(size));
    Kokkos::parallel_for(
        "rwkv::wkv7_forward", policy, KOKKOS_LAMBDA(const Team& team) {
          const int b = team.league_rank() / H, h = team.league_rank() % H, c0 = h * N;
          Scratch scratch(team.team_scratch(level), size);
          State* S = scratch.data();
          State *w = S + N * P, *rr = w + N, *kk = rr + N, *aa = kk + N, *bb = aa + N;
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int i) {
            for (int j = 0; j < N; ++j) S[i * P + j] = state(b, h, i, j);
          });
          for (int t = 0; t < T; ++t) {
            const int n = b * T + t;
            // Staging: the barrier before it ends the previous step's (or the load's) use of w..bb.
            team.team_barrier();
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int j) {
              const int c = c0 + j;
              w[j] = vector_exp(-decay_scale * wkv7_sigmoid(State(z(n, c))));
              rr[j] = State(r(n, c));
              kk[j] = State(k(n, c));
              aa[j] = State(alpha(n, c));
              bb[j] = State(beta(n, c));
            });
            if (save && t % K == 0) {
              Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int i) {
                for (int j = 0; j < N; ++j) ckpt(b, h, t / K, i, j) = S[i * P + j];
              });
            }
            team.team_barrier();
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int i) {
              State* Si = S + i * P;
              State sa = 0;
              for (int j = 0; j < N; ++j) sa += Si[j] * aa[j];
              const State vi = State(v(n, c0 + i));
              State yi = 0;
              for (int j = 0; j < N; ++j) {
                const State s = Si[j] * w[j] + sa * bb[j] + vi * kk[j];
                Si[j] = s;
                yi += s * rr[j];
              }
              y(n, c0 + i) = Scalar(yi);
              if (save) sa_out(n, c0 + i) = sa;
            });
          }
          team.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int i) {
            for (int j = 0; j < N; ++j) {
              state(b, h, i, j) = S[i * P + j];
              if (save) ckpt(b, h, last, i, j) = S[i * P + j];
            }
          });
        });
  }
}

// d(omega)/dz for the decay transform at the top.
template <class State>
KOKKOS_INLINE_FUNCTION State wkv7_domega_dz(State z) {
  const State s = wkv7_sigmoid(z);
  const State scale = State(wkv7_decay_scale);
  return -scale * vector_exp(-scale * s) * s * (State(1) - s);
}

// Adds to grads; dstate holds dS_T on entry and dS_0 on exit (an empty dstate stands for dS_T = 0
// and receives nothing). saved is the forward's (not empty); in the inputs the forward saw.
template <int N, class ExecSpace, class Scalar>
void wkv7_backward(const ExecSpace& space, int T, const Wkv7Grads<ExecSpace, Scalar>& grads,
                   const Wkv7State<ExecSpace, Scalar>& dstate, ConstMatrix<ExecSpace, Scalar> dy,
                   const Wkv7Saved<ExecSpace, Scalar>& saved, const Wkv7Inputs<ExecSpace, Scalar>& in) {
  using State = wkv7_state_t<Scalar>;
  constexpr int K = wkv7_checkpoint_interval;
  const int C = int(in.k.extent(1));
  const int H = wkv7_heads<N>(C);
  const int B = T > 0 ? int(in.k.extent(0)) / T : 0;
  if (B == 0 || H == 0) return;
  const bool has_dstate = dstate.data() != nullptr;
  const int last = wkv7_checkpoints(T) - 1;
  const auto r = in.r, z = in.z, k = in.k, v = in.v, alpha = in.alpha, beta = in.beta;
  const auto dr = grads.r, dz = grads.z, dk = grads.k, dv = grads.v, dalpha = grads.alpha, dbeta = grads.beta;
  const auto sa_in = saved.sa;
  const auto ckpt = saved.checkpoints;
  const State decay_scale = State(wkv7_decay_scale);

  if constexpr (host_fast_path<ExecSpace>) {
    Kokkos::parallel_for(
        "rwkv::wkv7_backward", Kokkos::RangePolicy<ExecSpace>(space, 0, B * H), KOKKOS_LAMBDA(int bh) {
          const int b = bh / H, h = bh % H, c0 = h * N;
          State S[N * N], G[N * N];
          State w[N], winv[N], rr[N], kk[N], aa[N], bb[N];
          State gr[N], gk[N], gb[N], gw[N], ga[N];
          const State* from = &ckpt(b, h, last, 0, 0);
          for (int e = 0; e < N * N; ++e) S[e] = from[e];
          for (int i = 0; i < N; ++i)
            for (int j = 0; j < N; ++j) G[i * N + j] = has_dstate ? dstate(b, h, i, j) : State(0);
          for (int t = T - 1; t >= 0; --t) {
            const int n = b * T + t;
            const Scalar *rn = &r(n, c0), *zn = &z(n, c0), *kn = &k(n, c0), *an = &alpha(n, c0), *bn = &beta(n, c0);
            const Scalar *vn = &v(n, c0), *dyn = &dy(n, c0);
            const State* san = &sa_in(n, c0);
            RWKV_HOST_SIMD
            for (int j = 0; j < N; ++j) {
              const State s = wkv7_sigmoid(State(zn[j]));
              w[j] = vector_exp(-decay_scale * s);
              winv[j] = vector_exp(decay_scale * s);
              rr[j] = State(rn[j]);
              kk[j] = State(kn[j]);
              aa[j] = State(an[j]);
              bb[j] = State(bn[j]);
              gr[j] = gk[j] = gb[j] = gw[j] = ga[j] = 0;
            }
            // At a chunk start S_{t-1} is saved: reload it instead of backstepping.
            const State* reload = t % K == 0 ? &ckpt(b, h, t / K, 0, 0) : nullptr;
            Scalar* dvn = &dv(n, c0);
            for (int i = 0; i < N; ++i) {
              State *Si = S + i * N, *Gi = G + i * N;
              const State dyi = State(dyn[i]), vi = State(vn[i]), sai = san[i];
              State gv = 0, gsa = 0;
              RWKV_HOST_SIMD_REDUCTION(+ : gv, gsa)
              for (int j = 0; j < N; ++j) {
                gr[j] += Si[j] * dyi;
                const State g = Gi[j] + dyi * rr[j];
                Gi[j] = g;
                gv += g * kk[j];
                gsa += g * bb[j];
              }
              dvn[i] += Scalar(gv);
              const State* Ri = reload ? reload + i * N : Si;
              RWKV_HOST_SIMD
              for (int j = 0; j < N; ++j) {
                const State g = Gi[j];
                gk[j] += g * vi;
                gb[j] += g * sai;
                const State s = reload ? Ri[j] : (Si[j] - vi * kk[j] - sai * bb[j]) * winv[j];
                Si[j] = s;
                gw[j] += g * s;
                ga[j] += s * gsa;
                Gi[j] = g * w[j] + gsa * aa[j];
              }
            }
            Scalar *drn = &dr(n, c0), *dzn = &dz(n, c0), *dkn = &dk(n, c0), *dan = &dalpha(n, c0),
                   *dbn = &dbeta(n, c0);
            RWKV_HOST_SIMD
            for (int j = 0; j < N; ++j) {
              drn[j] += Scalar(gr[j]);
              dkn[j] += Scalar(gk[j]);
              dbn[j] += Scalar(gb[j]);
              dan[j] += Scalar(ga[j]);
              dzn[j] += Scalar(gw[j] * wkv7_domega_dz(State(zn[j])));
            }
          }
          if (has_dstate)
            for (int i = 0; i < N; ++i)
              for (int j = 0; j < N; ++j) dstate(b, h, i, j) = G[i * N + j];
        });
  } else {
    using Policy = Kokkos::TeamPolicy<ExecSpace>;
    using Team = typename Policy::member_type;
    using Scratch = Kokkos::View<State*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    constexpr int P = N + 1;  // padded rows (see the top)
    constexpr int size = 2 * N * P + 10 * N;
    Policy policy = detail::wkv7_team_policy<N>(space, B * H);
    const int level = detail::wkv7_scratch_level(policy, Scratch::shmem_size(size));
    Kokkos::parallel_for(
        "rwkv::wkv7_backward", policy, KOKKOS_LAMBDA(const Team& team) {
          const int b = team.league_rank() / H, h = team.league_rank() % H, c0 = h * N;
          Scratch scratch(team.team_scratch(level), size);
          State *S = scratch.data(), *G = S + N * P;
          State *w = G + N * P, *winv = w + N, *rr = winv + N, *kk = rr + N, *vv = kk + N, *aa = vv + N,
                *bb = aa + N, *sa = bb + N, *gy = sa + N, *gsa = gy + N;
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int i) {
            for (int j = 0; j < N; ++j) {
              S[i * P + j] = ckpt(b, h, last, i, j);
              G[i * P + j] = has_dstate ? dstate(b, h, i, j) : State(0);
            }
          });
          for (int t = T - 1; t >= 0; --t) {
            const int n = b * T + t;
            team.team_barrier();
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int j) {
              const int c = c0 + j;
              const State s = wkv7_sigmoid(State(z(n, c)));
              w[j] = vector_exp(-decay_scale * s);
              winv[j] = vector_exp(decay_scale * s);
              rr[j] = State(r(n, c));
              kk[j] = State(k(n, c));
              vv[j] = State(v(n, c));
              aa[j] = State(alpha(n, c));
              bb[j] = State(beta(n, c));
              sa[j] = sa_in(n, c);
              gy[j] = State(dy(n, c));
            });
            team.team_barrier();
            // A lane per row i: Ghat's row, and the row sums dv[i], dsa[i].
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int i) {
              State* Gi = G + i * P;
              State gv = 0, gs = 0;
              for (int j = 0; j < N; ++j) {
                const State g = Gi[j] + gy[i] * rr[j];
                Gi[j] = g;
                gv += g * kk[j];
                gs += g * bb[j];
              }
              gsa[i] = gs;
              dv(n, c0 + i) += Scalar(gv);
            });
            team.team_barrier();
            // A lane per column j: the column sums, the backstep (or reload) and G's update.
            const bool reload = t % K == 0;
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int j) {
              State gr = 0, gk = 0, gb = 0, gw = 0, ga = 0;
              for (int i = 0; i < N; ++i) {
                State s = S[i * P + j];
                gr += s * gy[i];
                const State g = G[i * P + j];
                gk += g * vv[i];
                gb += g * sa[i];
                s = reload ? ckpt(b, h, t / K, i, j) : (s - vv[i] * kk[j] - sa[i] * bb[j]) * winv[j];
                S[i * P + j] = s;
                gw += g * s;
                ga += s * gsa[i];
                G[i * P + j] = g * w[j] + gsa[i] * aa[j];
              }
              const int c = c0 + j;
              dr(n, c) += Scalar(gr);
              dk(n, c) += Scalar(gk);
              dbeta(n, c) += Scalar(gb);
              dalpha(n, c) += Scalar(ga);
              dz(n, c) += Scalar(gw * wkv7_domega_dz(State(z(n, c))));
            });
          }
          team.team_barrier();
          if (has_dstate) {
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](int i) {
              for (int j = 0; j < N; ++j) dstate(b, h, i, j) = G[i * P + j];
            });
          }
        });
  }
}

// The head size of every released RWKV-7 model; other sizes instantiate from this header.
#define RWKV_WKV7_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                        \
  PREFIX template void wkv7_forward<64, SPACE, SCALAR>(const SPACE&, int, const Matrix<SPACE, SCALAR>&,     \
                                                       const Wkv7State<SPACE, SCALAR>&,                     \
                                                       const Wkv7Saved<SPACE, SCALAR>&,                     \
                                                       const Wkv7Inputs<SPACE, SCALAR>&);                   \
  PREFIX template void wkv7_backward<64, SPACE, SCALAR>(const SPACE&, int, const Wkv7Grads<SPACE, SCALAR>&, \
                                                        const Wkv7State<SPACE, SCALAR>&,                    \
                                                        ConstMatrix<SPACE, SCALAR>,                         \
                                                        const Wkv7Saved<SPACE, SCALAR>&,                    \
                                                        const Wkv7Inputs<SPACE, SCALAR>&);

#define RWKV_WKV7_EXTERN(SPACE, SCALAR) RWKV_WKV7_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WKV7_EXTERN)
#undef RWKV_WKV7_EXTERN

}  // namespace rwkv
