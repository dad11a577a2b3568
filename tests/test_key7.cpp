#include "gradient_check.hpp"

#include <rwkv/kernels/key7.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using Doubles = std::vector<double>;

struct Shape {
  int rows, H, N;
};
// One row (an RNN step), one head, several heads; N = 5 (C not a multiple of any vector width),
// 8, 16 and 64; no rows.
const Shape shapes[] = {{1, 1, 8}, {1, 3, 16}, {7, 3, 5}, {9, 2, 8}, {4, 3, 16}, {3, 2, 64}, {33, 1, 8}, {0, 2, 8}};

struct Values {
  Doubles k, a, k_k, k_a;
};

struct Outputs {
  Doubles k_out, alpha, beta, norm;
};

// Plain double key preparation, written from the formulas at the top of key7.hpp.
Outputs key7_reference(const Values& x, Shape s, double eps) {
  const int C = s.H * s.N;
  Outputs o{Doubles(x.k.size()), Doubles(x.k.size()), Doubles(x.k.size()), Doubles(std::size_t(s.rows) * s.H)};
  for (int n = 0; n < s.rows; ++n)
    for (int h = 0; h < s.H; ++h) {
      double sq = 0;
      for (int j = 0; j < s.N; ++j) {
        const int c = h * s.N + j;
        const double kappa = x.k[n * C + c] * x.k_k[c];
        sq += kappa * kappa;
      }
      const double length = std::sqrt(sq);
      o.norm[n * s.H + h] = length;
      for (int j = 0; j < s.N; ++j) {
        const int c = h * s.N + j;
        const std::size_t i = std::size_t(n) * C + c;
        const double kk = x.k[i] * x.k_k[c] / std::max(length, eps);
        o.alpha[i] = -kk;
        o.beta[i] = kk * x.a[i];
        o.k_out[i] = x.k[i] * (1 + (x.a[i] - 1) * x.k_a[c]);
      }
    }
  return o;
}

// Inputs as RWKV-7 has them: k from a GEMM, a from a sigmoid, k_k and k_a near their inits (0.71
// - 0.1 linear, 1.02). With `two_sided`, each (row, head)'s keys are scaled to a norm |k * k_k| of
// 0.2 for every other one and between 1 and 2 for the rest: on both sides of an eps of 0.5 (the
// clamped branch and the other), and far enough from it for the finite differences.
template <class Scalar>
Values make_values(Shape s, std::uint64_t seed, bool two_sided) {
  const int C = s.H * s.N, rows = s.rows;
  HostMatrix<Scalar> k("k", rows, C), a("a", rows, C);
  HostVector<Scalar> k_k("k_k", C), k_a("k_a", C), target("target", std::size_t(rows) * s.H);
  fill_uniform(k, seed);
  fill_uniform(a, seed + 1, 0.05, 0.95);
  fill_uniform(k_k, seed + 2, 0.5, 1.5);
  fill_uniform(k_a, seed + 3, 0.5, 1.5);
  fill_uniform(target, seed + 4, 1.0, 2.0);
  if (two_sided)
    for (int n = 0; n < rows; ++n)
      for (int h = 0; h < s.H; ++h) {
        double sq = 0;
        for (int c = h * s.N; c < (h + 1) * s.N; ++c) sq += double(k(n, c)) * k_k(c) * k(n, c) * k_k(c);
        const double scale = ((n + h) % 2 == 0 ? 0.2 : double(target(n * s.H + h))) / std::sqrt(sq);
        for (int c = h * s.N; c < (h + 1) * s.N; ++c) k(n, c) = Scalar(scale * double(k(n, c)));
      }
  return {as_doubles(k), as_doubles(a), as_doubles(k_k), as_doubles(k_a)};
}

// The cases checked: RWKV-7's eps on keys as they come and on scaled ones, and an eps of 0.5 with
// heads on both sides of the clamp.
struct Case {
  double eps;
  bool two_sided;
};
const Case cases[] = {{key7_normalize_eps, false}, {key7_normalize_eps, true}, {0.5, true}};

template <class Space, class Scalar>
Vector<Space, Scalar> device_vector(const Doubles& x) {
  HostVector<Scalar> h("h", x.size());
  for (std::size_t i = 0; i < x.size(); ++i) h(i) = Scalar(x[i]);
  return to_device<Space>(h);
}

template <class Space, class Scalar>
Matrix<Space, Scalar> device_matrix(const Doubles& x, int rows, int C) {
  HostMatrix<Scalar> h("h", rows, C);
  for (std::size_t i = 0; i < x.size(); ++i) h.data()[i] = Scalar(x[i]);
  return to_device<Space>(h);
}

template <class Space, class Scalar>
void check_forward(Shape s, Case e, double atol) {
  const double eps = e.eps;
  CAPTURE(s.rows, s.H, s.N, eps, e.two_sided);
  const int C = s.H * s.N;
  const Values x = make_values<Scalar>(s, 1 + s.N + s.rows, e.two_sided);
  Space space;
  Matrix<Space, Scalar> k_out("k_out", s.rows, C), alpha("alpha", s.rows, C), beta("beta", s.rows, C),
      norm("norm", s.rows, s.H);
  key7_forward(space, s.N, k_out, alpha, beta, norm, device_matrix<Space, Scalar>(x.k, s.rows, C),
               device_matrix<Space, Scalar>(x.a, s.rows, C), device_vector<Space, Scalar>(x.k_k),
               device_vector<Space, Scalar>(x.k_a), Scalar(eps));
  space.fence();
  const Outputs ref = key7_reference(x, s, eps);
  int bad = 0;
  auto compare = [&](const Doubles& got, const Doubles& want) {
    for (std::size_t i = 0; i < want.size(); ++i) bad += !close(got[i], want[i], 0.0, atol);
  };
  compare(as_doubles(to_host(k_out)), ref.k_out);
  compare(as_doubles(to_host(alpha)), ref.alpha);
  compare(as_doubles(to_host(beta)), ref.beta);
  compare(as_doubles(to_host(norm)), ref.norm);
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("key7_forward matches a plain double reference", "[key7]", Spaces) {
  for (const Shape s : shapes)
    for (const Case e : cases) {
      // Every value is at most about 2 in size; the norm's sum of N squares rounds N times, kk
      // and the rest a few times more: (N + 8) roundings.
      check_forward<TestType, double>(s, e, (s.N + 8) * DBL_EPSILON);
      check_forward<TestType, float>(s, e, (s.N + 8) * FLT_EPSILON);
    }
}

TEMPLATE_LIST_TEST_CASE("key7_backward matches central finite differences", "[key7]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes)
    for (const Case e : cases) {
      const double eps = e.eps;
      CAPTURE(s.rows, s.H, s.N, eps, e.two_sided);
      const int C = s.H * s.N;
      Values x = make_values<double>(s, 11 + s.N + s.rows, e.two_sided);
      const Outputs fwd = key7_reference(x, s, eps);
      // The finite differences must not cross the clamp: no norm within 0.05 of eps.
      for (const double length : fwd.norm) REQUIRE(std::abs(length - eps) > 0.05);

      HostMatrix<double> gk("gk", s.rows, C), galpha("galpha", s.rows, C), gbeta("gbeta", s.rows, C);
      HostMatrix<double> dk0("dk0", s.rows, C), da0("da0", s.rows, C);
      HostVector<double> dkk0("dkk0", C), dka0("dka0", C);
      fill_uniform(gk, 21);
      fill_uniform(galpha, 22);
      fill_uniform(gbeta, 23);
      // Gradients accumulate: start from nonzero values and check the increments.
      fill_uniform(dk0, 24);
      fill_uniform(da0, 25);
      fill_uniform(dkk0, 26);
      fill_uniform(dka0, 27);

      Space space;
      auto k = device_matrix<Space, double>(x.k, s.rows, C);
      auto a = device_matrix<Space, double>(x.a, s.rows, C);
      auto k_k = device_vector<Space, double>(x.k_k);
      auto k_a = device_vector<Space, double>(x.k_a);
      Matrix<Space, double> k_out("k_out", s.rows, C), alpha("alpha", s.rows, C), beta("beta", s.rows, C),
          norm("norm", s.rows, s.H), work("work", s.rows, s.H);
      key7_forward(space, s.N, k_out, alpha, beta, norm, k, a, k_k, k_a, eps);
      auto dk = to_device<Space>(dk0);
      auto da = to_device<Space>(da0);
      auto dkk = to_device<Space>(dkk0);
      auto dka = to_device<Space>(dka0);
      key7_backward(space, s.N, dk, da, dkk, dka, work, to_device<Space>(gk), to_device<Space>(galpha),
                    to_device<Space>(gbeta), k, a, k_k, k_a, norm, eps);
      space.fence();

      // L = sum(k_out gk + alpha galpha + beta gbeta); smooth away from the clamp, so h = 1e-5
      // leaves a truncation error ~1e-10.
      const Doubles wk = as_doubles(gk), wa = as_doubles(galpha), wb = as_doubles(gbeta);
      auto loss = [&]() {
        const Outputs o = key7_reference(x, s, eps);
        return weighted_sum(o.k_out, wk) + weighted_sum(o.alpha, wa) + weighted_sum(o.beta, wb);
      };
      const FiniteDifferenceCheck fd{1e-5, 1e-6, 1e-8};
      CHECK(fd.mismatches("dk", x.k, increments(dk, dk0), 64, 31, loss) == 0);
      CHECK(fd.mismatches("da", x.a, increments(da, da0), 64, 32, loss) == 0);
      CHECK(fd.mismatches("dk_k", x.k_k, increments(dkk, dkk0), 64, 33, loss) == 0);
      CHECK(fd.mismatches("dk_a", x.k_a, increments(dka, dka0), 64, 34, loss) == 0);
    }
}
