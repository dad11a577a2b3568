#include "gradient_check.hpp"

#include <rwkv/kernels/cross_entropy.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

struct Shape {
  int rows, V;
};

using HostTargets = Kokkos::View<int*, Kokkos::HostSpace>;

HostTargets random_targets(int rows, int V, std::uint64_t seed) {
  HostTargets t("targets", rows);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(0, std::max(V - 1, 0));  // V = 0 only with no rows
  for (int n = 0; n < rows; ++n) t(n) = pick(rng);
  return t;
}

// Plain log-sum-exp per row (max-subtracted) and the row max, in long double: its own rounding is
// far below the kernel's, also where lse - z_t cancels (huge logits).
struct RowStats {
  std::vector<long double> max, lse;
};
RowStats reference_stats(const std::vector<double>& z, int rows, int V) {
  RowStats r{std::vector<long double>(rows), std::vector<long double>(rows)};
  for (int n = 0; n < rows; ++n) {
    const double* row = &z[std::size_t(n) * V];
    const long double m = *std::max_element(row, row + V);
    long double sum = 0;
    for (int v = 0; v < V; ++v) sum += std::exp(row[v] - m);
    r.max[n] = m;
    r.lse[n] = m + std::log(sum);
  }
  return r;
}

// scale * sum_n loss_n + l2wrap / 2 * sum_n max_n^2: the function whose gradient the backward writes.
double reference_objective(const std::vector<double>& z, const HostTargets& t, int rows, int V, double scale,
                           double l2wrap) {
  const RowStats r = reference_stats(z, rows, V);
  double f = 0;
  for (int n = 0; n < rows; ++n)
    f += double(scale * (r.lse[n] - z[std::size_t(n) * V + t(n)]) + l2wrap / 2 * r.max[n] * r.max[n]);
  return f;
}

// Rounding bound for the forward, from the error analysis of the kernel's steps (u = unit roundoff):
// each exp(z - m) within a few u relative; their sum of V terms in (0, 1] within (V + 1) u
// relative, i.e. log(sum) within ~(V + 8) u absolute; m + log(sum) and (m - z_t) + log(sum) add
// one rounding of the result and of m - z_t. Doubled as a margin for libm's exp and log.
template <class Scalar>
double forward_bound(int V, double magnitude) {
  const double u = std::numeric_limits<Scalar>::epsilon() / 2;
  return 2 * u * (V + 8 + magnitude);
}

template <class Space, class Scalar>
void check_forward(const Shape s, double lo, double hi) {
  CAPTURE(s.rows, s.V, hi);
  HostMatrix<Scalar> z("z", s.rows, s.V);
  fill_uniform(z, 7 + s.V, lo, hi);
  const auto t = random_targets(s.rows, s.V, 8 + s.V);
  Space space;
  const auto zd = to_device<Space>(z);
  const auto td = to_device<Space>(t);
  Vector<Space, Scalar> loss("loss", s.rows), lse("lse", s.rows);
  cross_entropy_forward(space, loss, lse, zd, td);
  space.fence();

  const auto zs = as_doubles(z);
  const RowStats r = reference_stats(zs, s.rows, s.V);
  const auto loss_got = as_doubles(to_host(loss));
  const auto lse_got = as_doubles(to_host(lse));
  int bad = 0;
  for (int n = 0; n < s.rows; ++n) {
    const double zt = zs[std::size_t(n) * s.V + t(n)];
    const double lse_ref = double(r.lse[n]);
    const double loss_ref = double(r.lse[n] - zt);
    bad += !(std::abs(lse_got[n] - lse_ref) <= forward_bound<Scalar>(s.V, std::abs(lse_ref)));
    bad += !(std::abs(loss_got[n] - loss_ref) <= forward_bound<Scalar>(s.V, double(r.max[n] - zt) + loss_ref));
  }
  CHECK(bad == 0);
}

// The gradient in closed form, in double: scale * (softmax - onehot) + l2wrap * max at the first argmax.
std::vector<double> reference_gradient(const std::vector<double>& z, const HostTargets& t, int rows, int V,
                                       double scale, double l2wrap) {
  const RowStats r = reference_stats(z, rows, V);
  std::vector<double> g(z.size());
  for (int n = 0; n < rows; ++n) {
    const double* row = &z[std::size_t(n) * V];
    const int arg = int(std::max_element(row, row + V) - row);  // the first maximum
    for (int v = 0; v < V; ++v) {
      long double d = scale * (std::exp(row[v] - r.lse[n]) - (v == t(n) ? 1.0L : 0.0L));
      if (l2wrap > 0 && v == arg) d += l2wrap * r.max[n];
      g[std::size_t(n) * V + v] = double(d);
    }
  }
  return g;
}

template <class Space, class Scalar>
std::vector<double> run_backward(const HostMatrix<Scalar>& z, const HostTargets& t, double scale, double l2wrap,
                                 bool in_place) {
  Space space;
  const auto zd = to_device<Space>(z);
  const auto td = to_device<Space>(t);
  Vector<Space, Scalar> loss("loss", z.extent(0)), lse("lse", z.extent(0));
  cross_entropy_forward(space, loss, lse, zd, td);
  Matrix<Space, Scalar> dz("dz", z.extent(0), z.extent(1));
  // dz starts as NaN: the backward overwrites, it never reads dz.
  Kokkos::deep_copy(dz, std::numeric_limits<Scalar>::quiet_NaN());
  const Matrix<Space, Scalar> out = in_place ? zd : dz;
  cross_entropy_backward(space, out, zd, lse, td, Scalar(scale), Scalar(l2wrap));
  space.fence();
  return as_doubles(to_host(out));
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("cross_entropy_forward matches a plain double reference", "[cross_entropy]", Spaces) {
  // V = 1 (loss 0), small V, the Pile's V = 50277 with few rows, and many short rows; no rows,
  // and no rows with no vocabulary.
  const Shape shapes[] = {{1, 1}, {5, 1}, {9, 7}, {3, 50277}, {300, 33}, {0, 7}, {0, 0}};
  for (const Shape s : shapes) {
    check_forward<TestType, double>(s, -3.0, 3.0);
    check_forward<TestType, float>(s, -3.0, 3.0);
    // Huge logits: exp without the max subtracted would overflow (float and double alike).
    check_forward<TestType, double>(s, -1e4, 1e4);
    check_forward<TestType, float>(s, -1e4, 1e4);
  }
}

TEMPLATE_LIST_TEST_CASE("cross_entropy_backward matches central finite differences, with and without L2Wrap",
                        "[cross_entropy]", Spaces) {
  using Space = TestType;
  const Shape shapes[] = {{1, 1}, {2, 7}, {3, 33}, {4, 2}, {0, 7}};
  const double scale = 0.37;
  for (const Shape s : shapes)
    for (const double l2wrap : {0.0, 0.05}) {
      CAPTURE(s.rows, s.V, l2wrap);
      HostMatrix<double> z("z", s.rows, s.V);
      fill_uniform(z, 51 + s.V, -2.0, 2.0);
      const auto t = random_targets(s.rows, s.V, 52 + s.V);
      auto zs = as_doubles(z);
      const double h = 1e-5;
      // Away from argmax ties: the top two logits of each row lie further apart than the step.
      for (int n = 0; n < s.rows && s.V > 1; ++n) {
        std::vector<double> row(zs.begin() + std::ptrdiff_t(n) * s.V, zs.begin() + std::ptrdiff_t(n + 1) * s.V);
        std::sort(row.rbegin(), row.rend());
        REQUIRE(row[0] - row[1] > 100 * h);
      }
      const auto dz = run_backward<Space, double>(z, t, scale, l2wrap, false);
      auto f = [&]() { return reference_objective(zs, t, s.rows, s.V, scale, l2wrap); };
      CHECK(FiniteDifferenceCheck{h, 1e-7, 1e-9}.mismatches("dlogits", zs, dz, f) == 0);
    }
}

TEMPLATE_LIST_TEST_CASE("cross_entropy_backward matches the closed form at V = 50277, also in place",
                        "[cross_entropy]", Spaces) {
  using Space = TestType;
  const int rows = 3, V = 50277;
  const double scale = 1.0 / rows, l2wrap = 1e-4 / rows;
  HostMatrix<double> zd("z", rows, V);
  HostMatrix<float> zf("z", rows, V);
  fill_uniform(zd, 61, -8.0, 8.0);
  fill_uniform(zf, 61, -8.0, 8.0);
  // A tie for the max in row 1: L2Wrap goes to the lower index, every run.
  zd(1, 4000) = zd(1, 40000) = 9.0;
  zf(1, 4000) = zf(1, 40000) = 9.0f;
  const auto t = random_targets(rows, V, 62);

  const auto ref_d = reference_gradient(as_doubles(zd), t, rows, V, scale, l2wrap);
  const auto ref_f = reference_gradient(as_doubles(zf), t, rows, V, scale, l2wrap);
  const auto got_d = run_backward<Space, double>(zd, t, scale, l2wrap, false);
  const auto got_f = run_backward<Space, float>(zf, t, scale, l2wrap, false);
  // Entries are scale * p (+ the L2Wrap term): p carries the error of lse (bounded as in the
  // forward) and of one exp, relative; the rest is a few roundings of numbers below scale + l2wrap * max.
  auto bound = [&](double u, double ref) { return 2 * u * (V + 8 + 9) * std::abs(ref) + 4 * u * (scale + l2wrap * 9); };
  const double ud = std::numeric_limits<double>::epsilon() / 2, uf = std::numeric_limits<float>::epsilon() / 2;
  int bad = 0;
  for (std::size_t i = 0; i < ref_d.size(); ++i) {
    bad += !(std::abs(got_d[i] - ref_d[i]) <= bound(ud, ref_d[i]));
    bad += !(std::abs(got_f[i] - ref_f[i]) <= bound(uf, ref_f[i]));
  }
  CHECK(bad == 0);
  // The tie: equal logits get equal softmax terms, and the wrap term goes to 4000 alone.
  REQUIRE((t(1) != 4000 && t(1) != 40000));
  CHECK(got_d[std::size_t(V) + 4000] - got_d[std::size_t(V) + 40000] == Approx(l2wrap * 9.0).epsilon(1e-9));

  // In place (dlogits aliasing logits) gives the same bits as a separate output.
  CHECK(run_backward<Space, double>(zd, t, scale, l2wrap, true) == got_d);
  CHECK(run_backward<Space, float>(zf, t, scale, l2wrap, true) == got_f);
}

TEMPLATE_LIST_TEST_CASE("mean_of sums in a fixed order: the same bits as a host loop in that order",
                        "[cross_entropy]", Spaces) {
  using Space = TestType;
  for (const int n : {1, 7, 255, 257, 50277, 0}) {
    CAPTURE(n);
    HostVector<float> v("v", n);
    fill_uniform(v, 71 + n, 0.0, 12.0);
    // The kernel's order: 256 chunks of ceil(n / 256) entries, each summed in turn, then the chunk sums.
    const int chunk = (n + 255) / 256;
    double total = 0;
    for (int c = 0; c < 256; ++c) {
      double s = 0;
      for (int i = c * chunk; i < std::min(n, (c + 1) * chunk); ++i) s += double(v(i));
      total += s;
    }
    Space space;
    const auto vd = to_device<Space>(v);
    const double got = mean_of<Space, float>(space, vd);
    // The mean of no values is 0, the empty sum, not 0 / 0.
    CHECK(got == (n > 0 ? total / n : 0.0));
    // And it is the mean: within the rounding of n terms in double.
    double naive = 0;
    for (int i = 0; i < n; ++i) naive += double(v(i));
    const double mean = n > 0 ? naive / n : 0.0;
    CHECK(std::abs(got - mean) <= 2 * n * std::numeric_limits<double>::epsilon() * mean);
  }
}
