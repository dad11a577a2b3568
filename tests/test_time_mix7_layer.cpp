// One RWKV-7 time mix (of a layer after the first) composed of the kernels a Model<v7> will call,
// token_shift7, the GEMMs, lora7, value_residual7, key7, wkv7 and ln_x7, against a plain double
// loop of the whole layer written token by token from the formulas (RWKV-VERSIONS.md section 1.3).
// The check that the kernels' conventions fit together: what key7 hands wkv7 as alpha and beta,
// the decay logit z, the updated key in the bonus, the order of GroupNorm and bonus. The same for
// the channel mix (token_shift7 with one lerp, the GEMMs and activations.hpp's squared ReLU).
#include "gradient_check.hpp"

#include <rwkv/kernels/activations.hpp>
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/kernels/key7.hpp>
#include <rwkv/kernels/ln_x7.hpp>
#include <rwkv/kernels/lora7.hpp>
#include <rwkv/kernels/token_shift7.hpp>
#include <rwkv/kernels/value_residual7.hpp>
#include <rwkv/kernels/wkv7.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using Doubles = std::vector<double>;

struct Shape {
  int B, T, H;
};

// The LoRA ranks (w, a, v, g): small and distinct, so that a mixed-up pair would not fit.
constexpr int Dw = 4, Da = 3, Dv = 2, Dg = 5;

// A matrix [rows, cols] (a linear layer's [out, in]: the LoRAs' C x D and D x C state_dict
// tensors enter as their transposes) or vector, as doubles and on the device.
template <class Space>
struct Param {
  Doubles h;
  Matrix<Space, double> d;
  int rows, cols;
  Param(int rows_, int cols_, std::uint64_t seed, double lo, double hi) : rows(rows_), cols(cols_) {
    HostMatrix<double> m("param", rows, cols);
    fill_uniform(m, seed, lo, hi);
    h = as_doubles(m);
    d = to_device<Space>(m);
  }
  double operator()(int i, int j) const { return h[std::size_t(i) * cols + j]; }
  // A [1, C] parameter as the vector kernels take it.
  Vector<Space, double> vec() const { return Kokkos::subview(d, 0, Kokkos::ALL); }
};

// y = W x for W [out, in] as a Param, x of length in.
Doubles matvec(const auto& W, const Doubles& x) {
  Doubles y(W.rows, 0.0);
  for (int i = 0; i < W.rows; ++i)
    for (int j = 0; j < W.cols; ++j) y[i] += W(i, j) * x[j];
  return y;
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

template <class Space>
struct Layer {
  int C, H, N;
  Param<Space> mu[6], Wr, Wk, Wv, Wo, w0, w1, w2, a0, a1, a2, v0, v1, v2, g1, g2, k_k, k_a, r_k, ln_w, ln_b;
  Layer(int H_, int N_)
      : C(H_ * N_), H(H_), N(N_),
        mu{{1, C, 1, 0, 1}, {1, C, 2, 0, 1}, {1, C, 3, 0, 1}, {1, C, 4, 0, 1}, {1, C, 5, 0, 1}, {1, C, 6, 0, 1}},
        Wr(C, C, 7, -0.5, 0.5), Wk(C, C, 8, -0.5, 0.5), Wv(C, C, 9, -0.5, 0.5), Wo(C, C, 10, -0.5, 0.5),
        w0(1, C, 11, -3, 1), w1(Dw, C, 12, -0.5, 0.5), w2(C, Dw, 13, -0.5, 0.5), a0(1, C, 14, -1, 1),
        a1(Da, C, 15, -0.5, 0.5), a2(C, Da, 16, -0.5, 0.5), v0(1, C, 17, -1, 1), v1(Dv, C, 18, -0.5, 0.5),
        v2(C, Dv, 19, -0.5, 0.5), g1(Dg, C, 20, -0.5, 0.5), g2(C, Dg, 21, -0.5, 0.5), k_k(1, C, 22, 0.5, 1),
        k_a(1, C, 23, 0.5, 1.5), r_k(1, C, 24, -0.5, 0.5), ln_w(1, C, 25, 0.5, 1.5), ln_b(1, C, 26, -0.5, 0.5) {}
};

// The layer token by token, from the parameters' host copies: out [B*T, C] and the final wkv
// state [B, H, N, N] (i value, j key).
template <class Space>
void layer_reference(const Layer<Space>& L, Shape s, const Doubles& x, const Doubles& v_first,
                     const Doubles& shift0, const Doubles& s0, Doubles& out, Doubles& S) {
  const int C = L.C, H = L.H, N = L.N;
  out.assign(x.size(), 0.0);
  S = s0;
  for (int b = 0; b < s.B; ++b) {
    Doubles prev(shift0.begin() + std::size_t(b) * C, shift0.begin() + std::size_t(b + 1) * C);
    for (int t = 0; t < s.T; ++t) {
      const std::size_t row = (std::size_t(b) * s.T + t) * C;
      const Doubles xt(x.begin() + row, x.begin() + row + C);
      Doubles xc[6];
      for (int i = 0; i < 6; ++i) {
        xc[i].resize(C);
        for (int c = 0; c < C; ++c) xc[i][c] = xt[c] + (prev[c] - xt[c]) * L.mu[i].h[c];
      }
      const Doubles r = matvec(L.Wr, xc[lerp7_r]);
      Doubles k = matvec(L.Wk, xc[lerp7_k]);
      Doubles v = matvec(L.Wv, xc[lerp7_v]);
      Doubles hw = matvec(L.w1, xc[lerp7_w]);
      for (double& e : hw) e = std::tanh(e);
      const Doubles zw = matvec(L.w2, hw);
      const Doubles za = matvec(L.a2, matvec(L.a1, xc[lerp7_a]));
      const Doubles zv = matvec(L.v2, matvec(L.v1, xc[lerp7_v]));
      Doubles hg = matvec(L.g1, xc[lerp7_g]);
      for (double& e : hg) e = sigmoid(e);
      const Doubles g = matvec(L.g2, hg);
      Doubles z(C), a(C), kk(C);
      for (int c = 0; c < C; ++c) {
        z[c] = L.w0.h[c] + zw[c];
        a[c] = sigmoid(L.a0.h[c] + za[c]);
        v[c] = v[c] + (v_first[row + c] - v[c]) * sigmoid(L.v0.h[c] + zv[c]);
      }
      for (int h = 0; h < H; ++h) {
        double sq = 0;
        for (int j = 0; j < N; ++j) sq += std::pow(k[h * N + j] * L.k_k.h[h * N + j], 2);
        for (int j = 0; j < N; ++j) kk[h * N + j] = k[h * N + j] * L.k_k.h[h * N + j] / std::max(std::sqrt(sq), 1e-12);
      }
      for (int c = 0; c < C; ++c) k[c] = k[c] * (1 + (a[c] - 1) * L.k_a.h[c]);
      Doubles u(C);
      for (int h = 0; h < H; ++h) {
        double* st = &S[(std::size_t(b) * H + h) * N * N];
        const int c0 = h * N;
        Doubles sa(N, 0.0), y(N, 0.0);
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) sa[i] += st[i * N + j] * -kk[c0 + j];
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) {
            const double omega = std::exp(-std::exp(-0.5) * sigmoid(z[c0 + j]));
            st[i * N + j] = st[i * N + j] * omega + sa[i] * kk[c0 + j] * a[c0 + j] + v[c0 + i] * k[c0 + j];
          }
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) y[i] += st[i * N + j] * r[c0 + j];
        double mu = 0, var = 0, bonus = 0;
        for (int i = 0; i < N; ++i) mu += y[i] / N;
        for (int i = 0; i < N; ++i) var += (y[i] - mu) * (y[i] - mu) / N;
        for (int j = 0; j < N; ++j) bonus += r[c0 + j] * k[c0 + j] * L.r_k.h[c0 + j];
        for (int i = 0; i < N; ++i) {
          const int c = c0 + i;
          const double norm = (y[i] - mu) / std::sqrt(var + ln_x7_default_eps) * L.ln_w.h[c] + L.ln_b.h[c];
          u[c] = (norm + bonus * v[c]) * g[c];
        }
      }
      const Doubles o = matvec(L.Wo, u);
      std::copy(o.begin(), o.end(), out.begin() + row);
      prev = xt;
    }
  }
}

// The same layer from the kernels, as Model<v7> will run it.
template <int N, class Space>
void layer_kernels(const Layer<Space>& L, Shape s, const Matrix<Space, double>& x, const Matrix<Space, double>& v_first,
                   const Matrix<Space, double>& shift0, const Wkv7State<Space, double>& state,
                   const Matrix<Space, double>& out) {
  Space space;
  const int rows = s.B * s.T, C = L.C, H = L.H;
  auto mat = [&](int cols) { return Matrix<Space, double>("m", rows, cols); };
  Matrices<time_mix7_lerps, Space, double> xc;
  ConstVectors<time_mix7_lerps, Space, double> mu;
  for (int i = 0; i < time_mix7_lerps; ++i) {
    xc[i] = mat(C);
    mu[i] = L.mu[i].vec();
  }
  token_shift7_forward<time_mix7_lerps>(space, s.T, xc, x, shift0, mu);
  auto r = mat(C), k = mat(C), v = mat(C), hw = mat(Dw), z = mat(C), ha = mat(Da), a = mat(C), hv = mat(Dv),
       pv = mat(C), vm = mat(C), hg = mat(Dg), g = mat(C);
  matmul_forward(space, r, xc[lerp7_r], L.Wr.d);
  matmul_forward(space, k, xc[lerp7_k], L.Wk.d);
  matmul_forward(space, v, xc[lerp7_v], L.Wv.d);
  matmul_forward(space, hw, xc[lerp7_w], L.w1.d);
  lora7_forward(space, Lora7Activation::tanh, hw, hw, Vector<Space, double>());
  matmul_forward(space, z, hw, L.w2.d);
  lora7_forward(space, Lora7Activation::none, z, z, L.w0.vec());
  matmul_forward(space, ha, xc[lerp7_a], L.a1.d);
  matmul_forward(space, a, ha, L.a2.d);
  lora7_forward(space, Lora7Activation::sigmoid, a, a, L.a0.vec());
  matmul_forward(space, hv, xc[lerp7_v], L.v1.d);
  matmul_forward(space, pv, hv, L.v2.d);
  value_residual7_forward(space, vm, v, v_first, pv, L.v0.vec());
  matmul_forward(space, hg, xc[lerp7_g], L.g1.d);
  lora7_forward(space, Lora7Activation::sigmoid, hg, hg, Vector<Space, double>());
  matmul_forward(space, g, hg, L.g2.d);
  auto k_out = mat(C), alpha = mat(C), beta = mat(C), norm = mat(H);
  key7_forward(space, N, k_out, alpha, beta, norm, k, a, L.k_k.vec(), L.k_a.vec());
  auto y = mat(C);
  wkv7_forward<N>(space, s.T, y, state, Wkv7Saved<Space, double>(), Wkv7Inputs<Space, double>{r, z, k_out, vm, alpha, beta});
  auto u = mat(C), mean = mat(H), rstd = mat(H);
  ln_x7_forward(space, N, u, mean, rstd,
                LnX7Inputs<Space, double>{y, r, k_out, vm, g, L.r_k.vec(), L.ln_w.vec(), L.ln_b.vec()});
  matmul_forward(space, out, u, L.Wo.d);
  space.fence();
}

template <int N, class Space>
void check_layer(Shape s) {
  CAPTURE(s.B, s.T, s.H, N);
  const int rows = s.B * s.T, C = s.H * N;
  const Layer<Space> L(s.H, N);
  HostMatrix<double> x("x", rows, C), v_first("v_first", rows, C), shift0("shift0", s.B, C);
  Kokkos::View<double****, Kokkos::LayoutRight, Kokkos::HostSpace> s0("s0", s.B, s.H, N, N);
  fill_uniform(x, 31);
  fill_uniform(v_first, 32);
  fill_uniform(shift0, 33);
  fill_uniform(s0, 34);

  Matrix<Space, double> out("out", rows, C);
  auto state = to_device<Space>(s0);
  layer_kernels<N>(L, s, to_device<Space>(x), to_device<Space>(v_first), to_device<Space>(shift0), state, out);

  Doubles out_ref, S_ref;
  layer_reference(L, s, as_doubles(x), as_doubles(v_first), as_doubles(shift0), as_doubles(s0), out_ref, S_ref);
  const Doubles got = as_doubles(to_host(out)), S = as_doubles(to_host(state));

  // Double throughout: the sums' order differs (GEMMs, the recurrence's loops); a few hundred
  // roundings of 2^-53, relative to each result's scale.
  auto mismatches = [](const Doubles& g, const Doubles& ref) {
    double scale = 0;
    for (const double e : ref) scale = std::max(scale, std::abs(e));
    int bad = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) bad += !(std::abs(g[i] - ref[i]) <= 1e-12 * scale);
    return bad;
  };
  CHECK(mismatches(got, out_ref) == 0);
  CHECK(mismatches(S, S_ref) == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("an RWKV-7 time mix of the kernels matches a plain double layer", "[time_mix7_layer]",
                        Spaces) {
  check_layer<8, TestType>({2, 5, 2});
  check_layer<8, TestType>({1, 1, 3});
  check_layer<16, TestType>({2, 17, 2});
}

namespace {

// The channel mix token by token: out = Wv relu(Wk (x + (shift(x) - x) mu))^2.
template <class Space>
Doubles channel_mix_reference(const Param<Space>& mu, const Param<Space>& Wk, const Param<Space>& Wv, Shape s,
                              int C, const Doubles& x, const Doubles& shift0) {
  Doubles out(x.size());
  for (int b = 0; b < s.B; ++b)
    for (int t = 0; t < s.T; ++t) {
      const std::size_t row = (std::size_t(b) * s.T + t) * C;
      Doubles xk(C);
      for (int c = 0; c < C; ++c) {
        const double prev = t > 0 ? x[row - C + c] : shift0[std::size_t(b) * C + c];
        xk[c] = x[row + c] + (prev - x[row + c]) * mu.h[c];
      }
      Doubles h = matvec(Wk, xk);
      for (double& e : h) e = std::max(e, 0.0) * std::max(e, 0.0);
      const Doubles o = matvec(Wv, h);
      std::copy(o.begin(), o.end(), out.begin() + row);
    }
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("an RWKV-7 channel mix of the kernels matches a plain double loop", "[time_mix7_layer]",
                        Spaces) {
  using Space = TestType;
  for (const Shape s : {Shape{2, 5, 1}, Shape{1, 1, 1}}) {
    CAPTURE(s.B, s.T);
    const int C = 13, F = 4 * C, rows = s.B * s.T;
    const Param<Space> mu(1, C, 41, 0, 1), Wk(F, C, 42, -0.5, 0.5), Wv(C, F, 43, -0.5, 0.5);
    HostMatrix<double> x("x", rows, C), shift0("shift0", s.B, C);
    fill_uniform(x, 44);
    fill_uniform(shift0, 45);

    Space space;
    Matrices<1, Space, double> xk{Matrix<Space, double>("xk", rows, C)};
    ConstVectors<1, Space, double> mix{mu.vec()};
    Matrix<Space, double> k("k", rows, F), h("h", rows, F), out("out", rows, C);
    token_shift7_forward<1>(space, s.T, xk, to_device<Space>(x), to_device<Space>(shift0), mix);
    matmul_forward(space, k, xk[0], Wk.d);
    squared_relu_forward(space, h, k);
    matmul_forward(space, out, h, Wv.d);
    space.fence();

    const Doubles ref = channel_mix_reference(mu, Wk, Wv, s, C, as_doubles(x), as_doubles(shift0));
    const Doubles got = as_doubles(to_host(out));
    int bad = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) bad += !close(got[i], ref[i], 1e-13, 1e-13);
    CHECK(bad == 0);
  }
}
