#include "gradient_check.hpp"

#include <rwkv/kernels/ln_x7.hpp>

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

// RWKV-7's eps, and one large enough that its part in rstd shows in every head.
const double epsilons[] = {ln_x7_default_eps, 0.5};

struct Values {
  Doubles y, r, k, v, g, r_k, weight, bias;
};

// Plain double GroupNorm + bonus + gate, written from the formulas at the top of ln_x7.hpp; the
// mean and rstd per (row, head) too.
Doubles ln_x7_reference(const Values& x, Shape s, double eps, Doubles* mean = nullptr, Doubles* rstd = nullptr) {
  const int C = s.H * s.N;
  Doubles out(x.y.size());
  if (mean) mean->assign(std::size_t(s.rows) * s.H, 0.0);
  if (rstd) rstd->assign(std::size_t(s.rows) * s.H, 0.0);
  for (int n = 0; n < s.rows; ++n)
    for (int h = 0; h < s.H; ++h) {
      const std::size_t c0 = std::size_t(n) * C + std::size_t(h) * s.N;
      double mu = 0, bonus = 0;
      for (int j = 0; j < s.N; ++j) {
        mu += x.y[c0 + j];
        bonus += x.r[c0 + j] * x.k[c0 + j] * x.r_k[h * s.N + j];
      }
      mu /= s.N;
      double var = 0;
      for (int j = 0; j < s.N; ++j) var += (x.y[c0 + j] - mu) * (x.y[c0 + j] - mu);
      var /= s.N;
      const double r = 1 / std::sqrt(var + eps);
      for (int j = 0; j < s.N; ++j) {
        const int c = h * s.N + j;
        out[c0 + j] = ((x.y[c0 + j] - mu) * r * x.weight[c] + x.bias[c] + bonus * x.v[c0 + j]) * x.g[c0 + j];
      }
      if (mean) (*mean)[n * s.H + h] = mu;
      if (rstd) (*rstd)[n * s.H + h] = r;
    }
  return out;
}

// y with an offset mean per head (a one-pass variance would cancel), and one (row, head) constant
// (variance 0: rstd = 1/sqrt(eps)); the rest as RWKV-7 has them (ln_x weight near 1, r_k small).
template <class Scalar>
Values make_values(Shape s, std::uint64_t seed) {
  const int C = s.H * s.N, rows = s.rows;
  HostMatrix<Scalar> y("y", rows, C), r("r", rows, C), k("k", rows, C), v("v", rows, C), g("g", rows, C);
  HostVector<Scalar> r_k("r_k", C), weight("weight", C), bias("bias", C);
  fill_uniform(y, seed, 1.0, 3.0);
  fill_uniform(r, seed + 1);
  fill_uniform(k, seed + 2);
  fill_uniform(v, seed + 3);
  fill_uniform(g, seed + 4);
  fill_uniform(r_k, seed + 5, -0.5, 0.5);
  fill_uniform(weight, seed + 6, 0.5, 1.5);
  fill_uniform(bias, seed + 7);
  if (rows > 0)
    for (int j = 0; j < s.N; ++j) y(rows - 1, j) = Scalar(1.5);
  return {as_doubles(y), as_doubles(r), as_doubles(k), as_doubles(v), as_doubles(g), as_doubles(r_k),
          as_doubles(weight), as_doubles(bias)};
}

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
struct DeviceValues {
  Matrix<Space, Scalar> y, r, k, v, g;
  Vector<Space, Scalar> r_k, weight, bias;
  DeviceValues(const Values& x, Shape s)
      : y(device_matrix<Space, Scalar>(x.y, s.rows, s.H * s.N)), r(device_matrix<Space, Scalar>(x.r, s.rows, s.H * s.N)),
        k(device_matrix<Space, Scalar>(x.k, s.rows, s.H * s.N)), v(device_matrix<Space, Scalar>(x.v, s.rows, s.H * s.N)),
        g(device_matrix<Space, Scalar>(x.g, s.rows, s.H * s.N)), r_k(device_vector<Space, Scalar>(x.r_k)),
        weight(device_vector<Space, Scalar>(x.weight)), bias(device_vector<Space, Scalar>(x.bias)) {}
  LnX7Inputs<Space, Scalar> inputs() const { return {y, r, k, v, g, r_k, weight, bias}; }
};

// Float: per (row, head), the sums over the head round N times each and the rest of an output a
// few times more, on terms bounded by (|yhat| |weight| + |bias| + sum |r k r_k| |v|) |g|.
Doubles float_tolerances(const Values& x, Shape s, const Doubles& rstd) {
  const int C = s.H * s.N;
  Doubles tol(x.y.size());
  for (int n = 0; n < s.rows; ++n)
    for (int h = 0; h < s.H; ++h) {
      const std::size_t c0 = std::size_t(n) * C + std::size_t(h) * s.N;
      double bonus = 0, spread = 0;
      for (int j = 0; j < s.N; ++j) {
        bonus += std::abs(x.r[c0 + j] * x.k[c0 + j] * x.r_k[h * s.N + j]);
        spread = std::max(spread, std::abs(x.y[c0 + j]) * rstd[n * s.H + h]);
      }
      for (int j = 0; j < s.N; ++j) {
        const int c = h * s.N + j;
        const double scale = (spread * std::abs(x.weight[c]) + std::abs(x.bias[c]) + bonus * std::abs(x.v[c0 + j])) *
                             std::abs(x.g[c0 + j]);
        tol[c0 + j] = (2 * s.N + 8) * FLT_EPSILON * scale;
      }
    }
  return tol;
}

template <class Space, class Scalar>
void check_forward(Shape s, double eps) {
  CAPTURE(s.rows, s.H, s.N, eps);
  const int C = s.H * s.N;
  const Values x = make_values<Scalar>(s, 1 + s.N + s.rows);
  const DeviceValues<Space, Scalar> d(x, s);
  Space space;
  Matrix<Space, Scalar> out("out", s.rows, C), mean("mean", s.rows, s.H), rstd("rstd", s.rows, s.H);
  ln_x7_forward(space, s.N, out, mean, rstd, d.inputs(), Scalar(eps));
  space.fence();
  Doubles mean_ref, rstd_ref;
  const Doubles ref = ln_x7_reference(x, s, eps, &mean_ref, &rstd_ref);
  const Doubles got = as_doubles(to_host(out)), got_mean = as_doubles(to_host(mean)),
                got_rstd = as_doubles(to_host(rstd));
  const bool is_double = std::is_same_v<Scalar, double>;
  const Doubles tol = float_tolerances(x, s, rstd_ref);
  // Double: the same sums in another order; a few units of 2^-52 of the values' sizes.
  int bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i)
    bad += !close(got[i], ref[i], 0.0, is_double ? tol[i] * (DBL_EPSILON / FLT_EPSILON) : tol[i]);
  // The mean: N roundings of terms <= 3. The variance: N roundings, and the mean's error times
  // twice the spread, an absolute error that rstd sees relative to var + eps (halved by the root).
  const double unit = is_double ? DBL_EPSILON : FLT_EPSILON;
  for (std::size_t i = 0; i < mean_ref.size(); ++i) {
    const double var = std::max(1 / (rstd_ref[i] * rstd_ref[i]) - eps, 0.0);
    const double var_error = (s.N + 4) * unit * (var + 2 * std::sqrt(var) * 3);
    bad += !close(got_mean[i], mean_ref[i], 0.0, (s.N + 2) * unit * 3);
    bad += !close(got_rstd[i], rstd_ref[i], 0.5 * var_error / (var + eps) + 4 * unit, 0.0);
  }
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("ln_x7_forward matches a plain double reference", "[ln_x7]", Spaces) {
  for (const Shape s : shapes)
    for (const double eps : epsilons) {
      check_forward<TestType, double>(s, eps);
      check_forward<TestType, float>(s, eps);
    }
}

TEMPLATE_LIST_TEST_CASE("ln_x7_backward matches central finite differences", "[ln_x7]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes)
    for (const double eps : epsilons) {
      CAPTURE(s.rows, s.H, s.N, eps);
      const int C = s.H * s.N;
      Values x = make_values<double>(s, 11 + s.N + s.rows);
      const DeviceValues<Space, double> d(x, s);
      HostMatrix<double> dout("dout", s.rows, C);
      fill_uniform(dout, 20);
      // Gradients accumulate: start from nonzero values and check the increments.
      HostMatrix<double> start[5];
      HostVector<double> start_vec[3];
      Matrix<Space, double> gm[5];
      Vector<Space, double> gv[3];
      for (int i = 0; i < 5; ++i) {
        start[i] = HostMatrix<double>("start", s.rows, C);
        fill_uniform(start[i], 30 + i);
        gm[i] = to_device<Space>(start[i]);
      }
      for (int i = 0; i < 3; ++i) {
        start_vec[i] = HostVector<double>("start", C);
        fill_uniform(start_vec[i], 40 + i);
        gv[i] = to_device<Space>(start_vec[i]);
      }

      Space space;
      Matrix<Space, double> out("out", s.rows, C), mean("mean", s.rows, s.H), rstd("rstd", s.rows, s.H),
          work("work", s.rows, s.H);
      ln_x7_forward(space, s.N, out, mean, rstd, d.inputs(), eps);
      ln_x7_backward(space, s.N, LnX7Grads<Space, double>{gm[0], gm[1], gm[2], gm[3], gm[4], gv[0], gv[1], gv[2]},
                     work, to_device<Space>(dout), d.inputs(), mean, rstd);
      space.fence();

      // L = sum(out * dout); smooth (var + eps >= eps), so h = 1e-5 leaves a truncation error
      // ~1e-10 relative to the curvature, which 1/sqrt(eps) bounds.
      const Doubles g = as_doubles(dout);
      auto loss = [&]() { return weighted_sum(ln_x7_reference(x, s, eps), g); };
      const FiniteDifferenceCheck fd{1e-5, 1e-6, 1e-7};
      CHECK(fd.mismatches("dy", x.y, increments(gm[0], start[0]), 64, 51, loss) == 0);
      CHECK(fd.mismatches("dr", x.r, increments(gm[1], start[1]), 64, 52, loss) == 0);
      CHECK(fd.mismatches("dk", x.k, increments(gm[2], start[2]), 64, 53, loss) == 0);
      CHECK(fd.mismatches("dv", x.v, increments(gm[3], start[3]), 64, 54, loss) == 0);
      CHECK(fd.mismatches("dg", x.g, increments(gm[4], start[4]), 64, 55, loss) == 0);
      CHECK(fd.mismatches("dr_k", x.r_k, increments(gv[0], start_vec[0]), 64, 56, loss) == 0);
      CHECK(fd.mismatches("dweight", x.weight, increments(gv[1], start_vec[1]), 64, 57, loss) == 0);
      CHECK(fd.mismatches("dbias", x.bias, increments(gv[2], start_vec[2]), 64, 58, loss) == 0);
    }
}
