#include "gradient_check.hpp"

#include <rwkv/kernels/wkv7.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using Doubles = std::vector<double>;

struct Shape {
  int B, T, H;
};

template <class Scalar>
using HostState = Kokkos::View<wkv7_state_t<Scalar>****, Kokkos::LayoutRight, Kokkos::HostSpace>;

// One problem's inputs in Scalar, so that the double reference sees exactly the kernel's numbers.
template <class Scalar>
struct Inputs {
  HostMatrix<Scalar> r, z, k, v, alpha, beta;  // [B*T, C]
  HostState<Scalar> s0;                        // [B, H, N, N]
};

// RWKV-7's shapes of the inputs (wind_rwkv's precision test recipe, RWKV-VERSIONS.md section 2.5):
// z ~ normal (the clamp form's w = -softplus(-z) - 1/2 with -z ~ normal), alpha = -kk and
// beta = kk * sigmoid(normal) with kk a unit vector per head; r, k, v, S0 uniform in [-1, 1].
template <class Scalar>
Inputs<Scalar> make_inputs(Shape s, int N, std::uint64_t seed) {
  const int C = s.H * N, rows = s.B * s.T;
  Inputs<Scalar> in{HostMatrix<Scalar>("r", rows, C),     HostMatrix<Scalar>("z", rows, C),
                    HostMatrix<Scalar>("k", rows, C),     HostMatrix<Scalar>("v", rows, C),
                    HostMatrix<Scalar>("alpha", rows, C), HostMatrix<Scalar>("beta", rows, C),
                    HostState<Scalar>("s0", s.B, s.H, N, N)};
  fill_uniform(in.r, seed);
  fill_uniform(in.k, seed + 1);
  fill_uniform(in.v, seed + 2);
  fill_uniform(in.s0, seed + 3);
  std::mt19937_64 rng(seed + 4);
  std::normal_distribution<double> normal;
  for (int n = 0; n < rows; ++n)
    for (int h = 0; h < s.H; ++h) {
      Doubles kk(N);
      double norm = 0;
      for (double& x : kk) {
        x = normal(rng);
        norm += x * x;
      }
      for (int j = 0; j < N; ++j) {
        const int c = h * N + j;
        const double unit = kk[j] / std::sqrt(norm);
        in.z(n, c) = Scalar(normal(rng));
        in.alpha(n, c) = Scalar(-unit);
        in.beta(n, c) = Scalar(unit / (1 + std::exp(-normal(rng))));
      }
    }
  return in;
}

double omega_of(double z) { return std::exp(-std::exp(-0.5) / (1 + std::exp(-z))); }

struct RefInputs {
  Doubles r, z, k, v, alpha, beta, s0;
};

template <class Scalar>
RefInputs ref_inputs(const Inputs<Scalar>& in) {
  return {as_doubles(in.r),     as_doubles(in.z),    as_doubles(in.k), as_doubles(in.v),
          as_doubles(in.alpha), as_doubles(in.beta), as_doubles(in.s0)};
}

// Plain double WKV-7, written from the formula: S[i][j] (value i, key j) per (b, h),
//   S <- S diag(omega) + (S alpha) beta^T + v k^T,  y = S r.
// S: the initial state [B*H*N*N] in, the final one out.
void wkv7_reference(Shape s, int N, const RefInputs& x, Doubles& S, Doubles& y) {
  const int C = s.H * N;
  y.assign(std::size_t(s.B) * s.T * C, 0.0);
  S = x.s0;
  Doubles omega(N), sa(N);
  for (int b = 0; b < s.B; ++b)
    for (int h = 0; h < s.H; ++h) {
      double* st = &S[(std::size_t(b) * s.H + h) * N * N];
      for (int t = 0; t < s.T; ++t) {
        const std::size_t row = (std::size_t(b) * s.T + t) * C + std::size_t(h) * N;
        for (int j = 0; j < N; ++j) omega[j] = omega_of(x.z[row + j]);
        for (int i = 0; i < N; ++i) {
          sa[i] = 0;
          for (int j = 0; j < N; ++j) sa[i] += st[i * N + j] * x.alpha[row + j];
        }
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j)
            st[i * N + j] = st[i * N + j] * omega[j] + sa[i] * x.beta[row + j] + x.v[row + i] * x.k[row + j];
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) y[row + i] += st[i * N + j] * x.r[row + j];
      }
    }
}

template <class Space, class Scalar>
struct DeviceInputs {
  Matrix<Space, Scalar> r, z, k, v, alpha, beta;
  explicit DeviceInputs(const Inputs<Scalar>& in)
      : r(to_device<Space>(in.r)), z(to_device<Space>(in.z)), k(to_device<Space>(in.k)), v(to_device<Space>(in.v)),
        alpha(to_device<Space>(in.alpha)), beta(to_device<Space>(in.beta)) {}
  Wkv7Inputs<Space, Scalar> views() const { return {r, z, k, v, alpha, beta}; }
};

// The kernel's forward: y and the final state, as doubles.
template <int N, class Space, class Scalar>
void run_forward(Shape s, const Inputs<Scalar>& in, Doubles& y, Doubles& S) {
  Space space;
  const DeviceInputs<Space, Scalar> d(in);
  auto state = to_device<Space>(in.s0);
  Wkv7Saved<Space, Scalar> saved("saved", s.B, s.T, s.H, N);
  Matrix<Space, Scalar> yd("y", s.B * s.T, s.H * N);
  wkv7_forward<N>(space, s.T, yd, state, saved, d.views());
  space.fence();
  y = as_doubles(to_host(yd));
  S = as_doubles(to_host(state));
}

double max_abs(const Doubles& x) {
  double m = 0;
  for (const double a : x) m = std::max(m, std::abs(a));
  return m;
}

// Entries where |got - ref| > tol * max|ref| (errors scale with the sums' magnitude, not each
// entry's, which can cancel to near zero), or got is not finite.
int count_mismatches(const Doubles& got, const Doubles& ref, double tol) {
  REQUIRE(got.size() == ref.size());
  const double atol = tol * std::max(max_abs(ref), 1e-300);
  int bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) bad += !(std::abs(got[i] - ref[i]) <= atol);
  return bad;
}

// Float forward: each step rounds a state entry's three terms and the N-term dots (N + 3 roundings
// of FLT_EPSILON / 2 at most, relative to the state's scale), and the state carries an error for
// up to 1/(1 - omega) steps; omega's largest value in the inputs bounds that memory.
double float_forward_tol(int N, const Doubles& z) {
  double omega_max = 0;
  for (const double x : z) omega_max = std::max(omega_max, omega_of(x));
  return (N + 3) * FLT_EPSILON / 2 / (1 - omega_max);
}

template <int N, class Space>
void check_forward(Shape s, std::uint64_t seed) {
  CAPTURE(s.B, s.T, s.H, N);
  const auto in = make_inputs<double>(s, N, seed);
  Doubles y, S, y_ref, S_ref;
  wkv7_reference(s, N, ref_inputs(in), S_ref, y_ref);
  run_forward<N, Space, double>(s, in, y, S);
  CHECK(count_mismatches(y, y_ref, 1e-12) == 0);
  CHECK(count_mismatches(S, S_ref, 1e-12) == 0);

  const auto inf = make_inputs<float>(s, N, seed);
  const RefInputs xf = ref_inputs(inf);
  wkv7_reference(s, N, xf, S_ref, y_ref);
  run_forward<N, Space, float>(s, inf, y, S);
  const double tol = float_forward_tol(N, xf.z);
  CAPTURE(tol);
  CHECK(count_mismatches(y, y_ref, tol) == 0);
  CHECK(count_mismatches(S, S_ref, tol) == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("wkv7_forward matches a plain double reference", "[wkv7]", Spaces) {
  using Space = TestType;
  std::uint64_t seed = 700;
  for (const int T : {1, 15, 16, 17, 40}) {
    check_forward<8, Space>({2, T, 3}, seed += 10);
    check_forward<16, Space>({1, T, 2}, seed += 10);
  }
  for (const int T : {1, 16, 17}) check_forward<64, Space>({1, T, 2}, seed += 10);
  check_forward<64, Space>({2, 3, 1}, seed += 10);
  check_forward<16, Space>({1, 1000, 2}, seed += 10);
  check_forward<64, Space>({1, 1000, 2}, seed += 10);
}

namespace {

// The backward's gradients: what it added to each input's gradient (it starts from nonzero ones,
// to show that it accumulates) and dS0.
struct Gradients {
  Doubles r, z, k, v, alpha, beta, s0;
};

// Forward and backward of the kernel with dy = gy and dS_T = gs.
template <int N, class Space, class Scalar>
Gradients kernel_gradients(Shape s, const Inputs<Scalar>& in, const HostMatrix<Scalar>& gy,
                           const HostState<Scalar>& gs) {
  Space space;
  const int rows = s.B * s.T, C = s.H * N;
  const DeviceInputs<Space, Scalar> d(in);
  auto state = to_device<Space>(in.s0);
  Wkv7Saved<Space, Scalar> saved("saved", s.B, s.T, s.H, N);
  Matrix<Space, Scalar> y("y", rows, C);
  wkv7_forward<N>(space, s.T, y, state, saved, d.views());

  HostMatrix<Scalar> start[6];
  Matrix<Space, Scalar> g[6];
  for (int i = 0; i < 6; ++i) {
    start[i] = HostMatrix<Scalar>("start", rows, C);
    fill_uniform(start[i], 80 + i);
    g[i] = to_device<Space>(start[i]);
  }
  auto dstate = to_device<Space>(gs);
  wkv7_backward<N>(space, s.T, Wkv7Grads<Space, Scalar>{g[0], g[1], g[2], g[3], g[4], g[5]}, dstate,
                   to_device<Space>(gy), saved, d.views());
  space.fence();
  return {increments(g[0], start[0]), increments(g[1], start[1]), increments(g[2], start[2]),
          increments(g[3], start[3]), increments(g[4], start[4]), increments(g[5], start[5]),
          as_doubles(to_host(dstate))};
}

// Central differences of L = sum(y * gy) + sum(S_T * gs) from the double reference, on up to
// `count` entries of every input. h = 1e-5: L is smooth (polynomial but for the decay's exp), so
// the truncation error h^2 L''' is ~1e-10; rounding adds ~1e-16 |L| / h.
template <int N>
void check_against_finite_differences(Shape s, const Inputs<double>& in, const HostMatrix<double>& gy,
                                      const HostState<double>& gs, const Gradients& got, std::size_t count) {
  RefInputs x = ref_inputs(in);
  const Doubles wy = as_doubles(gy), ws = as_doubles(gs);
  auto loss = [&]() {
    Doubles S, y;
    wkv7_reference(s, N, x, S, y);
    return weighted_sum(y, wy) + weighted_sum(S, ws);
  };
  const FiniteDifferenceCheck fd{1e-5, 1e-6, 1e-7};
  CHECK(fd.mismatches("r", x.r, got.r, count, 1, loss) == 0);
  CHECK(fd.mismatches("z", x.z, got.z, count, 2, loss) == 0);
  CHECK(fd.mismatches("k", x.k, got.k, count, 3, loss) == 0);
  CHECK(fd.mismatches("v", x.v, got.v, count, 4, loss) == 0);
  CHECK(fd.mismatches("alpha", x.alpha, got.alpha, count, 5, loss) == 0);
  CHECK(fd.mismatches("beta", x.beta, got.beta, count, 6, loss) == 0);
  CHECK(fd.mismatches("s0", x.s0, got.s0, count, 7, loss) == 0);
}

template <int N, class Space>
void check_backward(Shape s, std::uint64_t seed, std::size_t count) {
  CAPTURE(s.B, s.T, s.H, N);
  const auto in = make_inputs<double>(s, N, seed);
  HostMatrix<double> gy("gy", s.B * s.T, s.H * N);
  HostState<double> gs("gs", s.B, s.H, N, N);
  fill_uniform(gy, seed + 5);
  fill_uniform(gs, seed + 6);
  const Gradients got = kernel_gradients<N, Space, double>(s, in, gy, gs);
  check_against_finite_differences<N>(s, in, gy, gs, got, count);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("wkv7_backward matches central finite differences", "[wkv7]", Spaces) {
  using Space = TestType;
  std::uint64_t seed = 800;
  for (const int T : {1, 15, 16, 17, 33}) check_backward<8, Space>({2, T, 3}, seed += 10, 40);
  for (const int T : {1, 16, 17}) check_backward<16, Space>({1, T, 2}, seed += 10, 40);
  for (const int T : {1, 17}) check_backward<64, Space>({1, T, 2}, seed += 10, 20);
  // A long sequence, on a sample of each input's entries (each costs two reference runs).
  check_backward<8, Space>({1, 1000, 2}, seed += 10, 20);
  check_backward<16, Space>({2, 1000, 1}, seed += 10, 8);
}

namespace {

// Float backward against the double one (checked above): the forward's rounding (see
// float_forward_tol), grown by backstepping, which divides a state's error by omega at each of
// the up to 15 steps between reloads; the largest such product in the inputs bounds that growth.
double float_backward_tol(Shape s, int N, const Doubles& z) {
  constexpr int K = wkv7_checkpoint_interval;
  double growth = 1;
  for (int b = 0; b < s.B; ++b)
    for (int c = 0; c < s.H * N; ++c)
      for (int t0 = 0; t0 < s.T; t0 += K) {
        double p = 1;
        for (int t = t0 + 1; t < std::min(t0 + K, s.T); ++t) p /= omega_of(z[(std::size_t(b) * s.T + t) * s.H * N + c]);
        growth = std::max(growth, p);
      }
  return float_forward_tol(N, z) * growth;
}

template <int N, class Space>
void check_float_backward(Shape s, std::uint64_t seed) {
  CAPTURE(s.B, s.T, s.H, N);
  const auto inf = make_inputs<float>(s, N, seed);
  const auto ind = make_inputs<double>(s, N, seed);
  // The same numbers in double: the float inputs converted.
  const RefInputs x = ref_inputs(inf);
  auto copy_in = [](const Doubles& from, auto& to) {
    for (std::size_t i = 0; i < from.size(); ++i) to.data()[i] = from[i];
  };
  copy_in(x.r, ind.r);
  copy_in(x.z, ind.z);
  copy_in(x.k, ind.k);
  copy_in(x.v, ind.v);
  copy_in(x.alpha, ind.alpha);
  copy_in(x.beta, ind.beta);
  copy_in(x.s0, ind.s0);
  HostMatrix<float> gyf("gy", s.B * s.T, s.H * N);
  HostState<float> gsf("gs", s.B, s.H, N, N);
  fill_uniform(gyf, seed + 5);
  fill_uniform(gsf, seed + 6);
  HostMatrix<double> gyd("gy", s.B * s.T, s.H * N);
  HostState<double> gsd("gs", s.B, s.H, N, N);
  copy_in(as_doubles(gyf), gyd);
  copy_in(as_doubles(gsf), gsd);
  const Gradients f = kernel_gradients<N, Space, float>(s, inf, gyf, gsf);
  const Gradients d = kernel_gradients<N, Space, double>(s, ind, gyd, gsd);
  const double tol = float_backward_tol(s, N, x.z);
  CAPTURE(tol);
  CHECK(count_mismatches(f.r, d.r, tol) == 0);
  CHECK(count_mismatches(f.z, d.z, tol) == 0);
  CHECK(count_mismatches(f.k, d.k, tol) == 0);
  CHECK(count_mismatches(f.v, d.v, tol) == 0);
  CHECK(count_mismatches(f.alpha, d.alpha, tol) == 0);
  CHECK(count_mismatches(f.beta, d.beta, tol) == 0);
  CHECK(count_mismatches(f.s0, d.s0, tol) == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("wkv7_backward in float stays near double", "[wkv7]", Spaces) {
  using Space = TestType;
  check_float_backward<8, Space>({2, 40, 3}, 900);
  check_float_backward<64, Space>({1, 33, 2}, 910);
  check_float_backward<16, Space>({1, 1000, 2}, 920);
}

// The state's orientation, on hand-made steps whose results differ when S is transposed or omega
// applies to the wrong index: S[i][j], i the value index, j the key index.
TEMPLATE_LIST_TEST_CASE("wkv7 state is value x key", "[wkv7]", Spaces) {
  using Space = TestType;
  constexpr int N = 8;
  const Shape s{1, 1, 1};
  const double omega0 = omega_of(0.0);
  auto zero_inputs = [&]() {
    auto in = make_inputs<double>(s, N, 1);
    for (auto* m : {&in.r, &in.z, &in.k, &in.v, &in.alpha, &in.beta}) Kokkos::deep_copy(*m, 0.0);
    Kokkos::deep_copy(in.s0, 0.0);
    return in;
  };
  Doubles y, S;
  {  // decay along keys: S0[0][1] = 1 read with r = e_1 gives y[0] = omega[1]
    auto in = zero_inputs();
    in.s0(0, 0, 0, 1) = 1;
    in.z(0, 0) = 5;  // omega[0] differs from omega[1]
    in.r(0, 1) = 1;
    run_forward<N, Space, double>(s, in, y, S);
    CHECK(y[0] == Approx(omega0).epsilon(1e-14));
    CHECK(max_abs(Doubles(y.begin() + 1, y.end())) == 0);
    CHECK(S[0 * N + 1] == Approx(omega0).epsilon(1e-14));
  }
  {  // v k^T: v = e_2, k = e_3, r = e_3 gives y = e_2 and S[2][3] = 1
    auto in = zero_inputs();
    in.v(0, 2) = 1;
    in.k(0, 3) = 1;
    in.r(0, 3) = 1;
    run_forward<N, Space, double>(s, in, y, S);
    CHECK(y[2] == 1);
    CHECK(y[3] == 0);
    CHECK(S[2 * N + 3] == 1);
    CHECK(S[3 * N + 2] == 0);
  }
  {  // (S alpha) beta^T: S0[0][1] = 1, alpha = e_1, beta = e_4, r = e_4 gives y = e_0, S[0][4] = 1
    auto in = zero_inputs();
    in.s0(0, 0, 0, 1) = 1;
    in.alpha(0, 1) = 1;
    in.beta(0, 4) = 1;
    in.r(0, 4) = 1;
    run_forward<N, Space, double>(s, in, y, S);
    CHECK(y[0] == 1);
    CHECK(max_abs(Doubles(y.begin() + 1, y.end())) == 0);
    CHECK(S[0 * N + 4] == 1);
    CHECK(S[0 * N + 1] == Approx(omega0).epsilon(1e-14));
  }
}

// T = 0 or B = 0: no step; the state and its gradient pass through, nothing is written.
TEMPLATE_LIST_TEST_CASE("wkv7 with zero extents leaves everything as it was", "[wkv7]", Spaces) {
  using Space = TestType;
  constexpr int N = 8;
  for (const Shape s : {Shape{2, 0, 2}, Shape{0, 5, 2}}) {
    CAPTURE(s.B, s.T);
    const int B = std::max(s.B, 1);  // the state of a T = 0 call still has its B rows
    const auto in = make_inputs<double>(s, N, 5);
    HostState<double> s0("s0", B, s.H, N, N), gs("gs", B, s.H, N, N);
    fill_uniform(s0, 6);
    fill_uniform(gs, 7);
    Space space;
    const DeviceInputs<Space, double> d(in);
    auto state = to_device<Space>(s0), dstate = to_device<Space>(gs);
    Wkv7Saved<Space, double> saved("saved", s.B, s.T, s.H, N);
    Matrix<Space, double> y("y", s.B * s.T, s.H * N), g("g", s.B * s.T, s.H * N);
    wkv7_forward<N>(space, s.T, y, state, saved, d.views());
    wkv7_backward<N>(space, s.T, Wkv7Grads<Space, double>{g, g, g, g, g, g}, dstate, y, saved, d.views());
    space.fence();
    CHECK(as_doubles(to_host(state)) == as_doubles(s0));
    CHECK(as_doubles(to_host(dstate)) == as_doubles(gs));
  }
}

// Running T = a and then T - a from the carried state is running T: the same operations on the
// same numbers, so y and the state agree bit for bit (also without saving, for inference). The
// backward of the two parts, dS0 passed from the second to the first, matches the whole one up to
// rounding: its reloads fall on other steps.
TEMPLATE_LIST_TEST_CASE("wkv7 carries its state and its gradient across chunks", "[wkv7]", Spaces) {
  using Space = TestType;
  constexpr int N = 8;
  const Shape s{2, 37, 2}, s1{2, 21, 2}, s2{2, 16, 2};
  const int C = s.H * N;
  auto slice = [&](const HostMatrix<double>& x, int t0, int t1) {
    HostMatrix<double> out("slice", s.B * (t1 - t0), C);
    for (int b = 0; b < s.B; ++b)
      for (int t = t0; t < t1; ++t)
        for (int c = 0; c < C; ++c) out(b * (t1 - t0) + t - t0, c) = x(b * s.T + t, c);
    return out;
  };
  const auto in = make_inputs<double>(s, N, 950);
  auto part = [&](int t0, int t1) {
    Inputs<double> p{slice(in.r, t0, t1),     slice(in.z, t0, t1),    slice(in.k, t0, t1), slice(in.v, t0, t1),
                     slice(in.alpha, t0, t1), slice(in.beta, t0, t1), in.s0};
    return p;
  };
  const auto in1 = part(0, s1.T), in2 = part(s1.T, s.T);
  HostMatrix<double> gy("gy", s.B * s.T, C);
  HostState<double> gs("gs", s.B, s.H, N, N);
  fill_uniform(gy, 951);
  fill_uniform(gs, 952);

  Space space;
  const DeviceInputs<Space, double> d(in), d1(in1), d2(in2);
  auto state = to_device<Space>(in.s0), state_c = to_device<Space>(in.s0), state_i = to_device<Space>(in.s0);
  Wkv7Saved<Space, double> saved("saved", s.B, s.T, s.H, N), saved1("saved1", s.B, s1.T, s.H, N),
      saved2("saved2", s.B, s2.T, s.H, N);
  Matrix<Space, double> y("y", s.B * s.T, C), y1("y1", s.B * s1.T, C), y2("y2", s.B * s2.T, C),
      y_i("y_i", s.B * s.T, C);
  wkv7_forward<N>(space, s.T, y, state, saved, d.views());
  wkv7_forward<N>(space, s1.T, y1, state_c, saved1, d1.views());
  wkv7_forward<N>(space, s2.T, y2, state_c, saved2, d2.views());
  wkv7_forward<N>(space, s.T, y_i, state_i, Wkv7Saved<Space, double>(), d.views());
  space.fence();
  const auto yh = to_host(y);
  CHECK(as_doubles(slice(yh, 0, s1.T)) == as_doubles(to_host(y1)));
  CHECK(as_doubles(slice(yh, s1.T, s.T)) == as_doubles(to_host(y2)));
  CHECK(as_doubles(yh) == as_doubles(to_host(y_i)));
  CHECK(as_doubles(to_host(state)) == as_doubles(to_host(state_c)));
  CHECK(as_doubles(to_host(state)) == as_doubles(to_host(state_i)));

  auto zeros = [&](int T) {
    Matrix<Space, double> m[6];
    for (auto& x : m) x = Matrix<Space, double>("g", s.B * T, C);
    return Wkv7Grads<Space, double>{m[0], m[1], m[2], m[3], m[4], m[5]};
  };
  const auto g = zeros(s.T), g1 = zeros(s1.T), g2 = zeros(s2.T);
  auto dstate = to_device<Space>(gs), dstate_c = to_device<Space>(gs);
  wkv7_backward<N>(space, s.T, g, dstate, to_device<Space>(gy), saved, d.views());
  wkv7_backward<N>(space, s2.T, g2, dstate_c, to_device<Space>(slice(gy, s1.T, s.T)), saved2, d2.views());
  wkv7_backward<N>(space, s1.T, g1, dstate_c, to_device<Space>(slice(gy, 0, s1.T)), saved1, d1.views());
  space.fence();
  CHECK(count_mismatches(as_doubles(to_host(dstate_c)), as_doubles(to_host(dstate)), 1e-12) == 0);
  const Matrix<Space, double> whole[] = {g.r, g.z, g.k, g.v, g.alpha, g.beta};
  const Matrix<Space, double> first[] = {g1.r, g1.z, g1.k, g1.v, g1.alpha, g1.beta};
  const Matrix<Space, double> second[] = {g2.r, g2.z, g2.k, g2.v, g2.alpha, g2.beta};
  for (int i = 0; i < 6; ++i) {
    CAPTURE(i);
    const auto w = to_host(whole[i]);
    CHECK(count_mismatches(as_doubles(to_host(first[i])), as_doubles(slice(w, 0, s1.T)), 1e-12) == 0);
    CHECK(count_mismatches(as_doubles(to_host(second[i])), as_doubles(slice(w, s1.T, s.T)), 1e-12) == 0);
  }
}

// An empty dstate stands for dS_T = 0: the same gradients as a zero one, bit for bit.
TEMPLATE_LIST_TEST_CASE("wkv7_backward without a final state gradient", "[wkv7]", Spaces) {
  using Space = TestType;
  constexpr int N = 16;
  const Shape s{2, 19, 2};
  const int rows = s.B * s.T, C = s.H * N;
  const auto in = make_inputs<float>(s, N, 960);
  HostMatrix<float> gy("gy", rows, C);
  fill_uniform(gy, 961);
  Space space;
  const DeviceInputs<Space, float> d(in);
  auto state = to_device<Space>(in.s0);
  Wkv7Saved<Space, float> saved("saved", s.B, s.T, s.H, N);
  Matrix<Space, float> y("y", rows, C);
  wkv7_forward<N>(space, s.T, y, state, saved, d.views());
  const auto dy = to_device<Space>(gy);
  auto grads = [&](const Wkv7State<Space, float>& dstate) {
    Matrix<Space, float> m[6];
    for (auto& x : m) x = Matrix<Space, float>("g", rows, C);
    wkv7_backward<N>(space, s.T, Wkv7Grads<Space, float>{m[0], m[1], m[2], m[3], m[4], m[5]}, dstate, dy, saved,
                     d.views());
    space.fence();
    std::vector<Doubles> out;
    for (auto& x : m) out.push_back(as_doubles(to_host(x)));
    return out;
  };
  const Wkv7State<Space, float> zero("zero", s.B, s.H, N, N);
  const auto with_zero = grads(zero), without = grads(Wkv7State<Space, float>());
  for (int i = 0; i < 6; ++i) {
    CAPTURE(i);
    CHECK(max_abs(with_zero[i]) > 0);
    CHECK(with_zero[i] == without[i]);
  }
}
