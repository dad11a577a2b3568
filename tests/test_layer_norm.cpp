#include "gradient_check.hpp"

#include <rwkv/kernels/layer_norm.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

struct Shape {
  int rows, C;
};
// C = 1 (var 0), C not a multiple of any vector width, and many rows; no rows, no channels, neither.
const Shape shapes[] = {{1, 1}, {13, 1}, {9, 7}, {33, 64}, {5, 1000}, {4099, 7}, {517, 64}, {0, 7}, {5, 0}, {0, 0}};

// Plain double layer norm: y[n] = (x[n] - mean) / sqrt(var + eps) * w + b; an empty row (C = 0)
// has mean and variance 0.
void layer_norm_reference(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                          int rows, int C, double eps, std::vector<double>& y, std::vector<double>& mean,
                          std::vector<double>& rstd) {
  y.assign(std::size_t(rows) * C, 0.0);
  mean.assign(rows, 0.0);
  rstd.assign(rows, 0.0);
  for (int n = 0; n < rows; ++n) {
    double mu = 0;
    for (int c = 0; c < C; ++c) mu += x[n * C + c];
    mu = C > 0 ? mu / C : 0.0;
    double var = 0;
    for (int c = 0; c < C; ++c) var += (x[n * C + c] - mu) * (x[n * C + c] - mu);
    var = C > 0 ? var / C : 0.0;
    const double r = 1.0 / std::sqrt(var + eps);
    for (int c = 0; c < C; ++c) y[n * C + c] = (x[n * C + c] - mu) * r * w[c] + b[c];
    mean[n] = mu;
    rstd[n] = r;
  }
}

template <class Space, class Scalar>
void check_forward(const Shape s, double rtol, double atol) {
  CAPTURE(s.rows, s.C);
  const double eps = layer_norm_default_eps;
  Kokkos::View<Scalar**, Kokkos::LayoutRight, Kokkos::HostSpace> x("x", s.rows, s.C);
  Kokkos::View<Scalar*, Kokkos::LayoutRight, Kokkos::HostSpace> w("w", s.C), b("b", s.C);
  fill_uniform(x, 11 + s.C, 2.0, 4.0);  // an offset mean: a one-pass variance would cancel badly
  fill_uniform(w, 12 + s.C, 0.5, 1.5);
  fill_uniform(b, 13 + s.C);

  Space space;
  auto xd = to_device<Space>(x);
  auto wd = to_device<Space>(w);
  auto bd = to_device<Space>(b);
  Matrix<Space, Scalar> y("y", s.rows, s.C);
  Vector<Space, Scalar> mean("mean", s.rows), rstd("rstd", s.rows);
  layer_norm_forward(space, y, mean, rstd, xd, wd, bd, Scalar(eps));
  space.fence();

  std::vector<double> y_ref, mean_ref, rstd_ref;
  layer_norm_reference(as_doubles(x), as_doubles(w), as_doubles(b), s.rows, s.C, eps, y_ref, mean_ref, rstd_ref);
  const auto y_got = as_doubles(to_host(y));
  const auto mean_got = as_doubles(to_host(mean));
  const auto rstd_got = as_doubles(to_host(rstd));
  int bad = 0;
  for (std::size_t i = 0; i < y_ref.size(); ++i) bad += !close(y_got[i], y_ref[i], rtol, atol);
  for (int n = 0; n < s.rows; ++n) {
    bad += !close(mean_got[n], mean_ref[n], rtol, atol);
    bad += !close(rstd_got[n], rstd_ref[n], rtol, atol);
  }
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("layer_norm_forward matches a plain double reference", "[layer_norm]", Spaces) {
  for (const Shape s : shapes) {
    check_forward<TestType, double>(s, 1e-12, 1e-12);
    // C = 1 makes rstd = 1/sqrt(eps), where float's relative rounding of var + eps shows up in full.
    check_forward<TestType, float>(s, 2e-5, 2e-5);
  }
}

TEMPLATE_LIST_TEST_CASE("layer_norm_backward matches central finite differences", "[layer_norm]", Spaces) {
  using Space = TestType;
  const double eps = layer_norm_default_eps;
  for (const Shape s : shapes) {
    CAPTURE(s.rows, s.C);
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> x("x", s.rows, s.C), dy("dy", s.rows, s.C),
        dx0("dx0", s.rows, s.C);
    Kokkos::View<double*, Kokkos::LayoutRight, Kokkos::HostSpace> w("w", s.C), b("b", s.C), dw0("dw0", s.C),
        db0("db0", s.C);
    fill_uniform(x, 21 + s.C, -2.0, 3.0);
    fill_uniform(dy, 22 + s.C);
    fill_uniform(w, 23 + s.C, 0.5, 1.5);
    fill_uniform(b, 24 + s.C);
    // Gradients accumulate: start from nonzero values and check the increments.
    fill_uniform(dx0, 25 + s.C);
    fill_uniform(dw0, 26 + s.C);
    fill_uniform(db0, 27 + s.C);

    Space space;
    auto xd = to_device<Space>(x);
    auto wd = to_device<Space>(w);
    auto bd = to_device<Space>(b);
    auto dyd = to_device<Space>(dy);
    auto dxd = to_device<Space>(dx0);
    auto dwd = to_device<Space>(dw0);
    auto dbd = to_device<Space>(db0);
    Matrix<Space, double> y("y", s.rows, s.C);
    Vector<Space, double> mean("mean", s.rows), rstd("rstd", s.rows);
    layer_norm_forward(space, y, mean, rstd, xd, wd, bd, eps);
    layer_norm_backward(space, dxd, dwd, dbd, dyd, xd, wd, mean, rstd);
    space.fence();
    const auto dx = increments(dxd, dx0), dw = increments(dwd, dw0), db = increments(dbd, db0);

    // L = sum(y * dy), so dL/dtheta is what the backward adds.
    auto xs = as_doubles(x), ws = as_doubles(w), bs = as_doubles(b);
    const auto g = as_doubles(dy);
    auto loss = [&]() {
      std::vector<double> yr, mr, rr;
      layer_norm_reference(xs, ws, bs, s.rows, s.C, eps, yr, mr, rr);
      return weighted_sum(yr, g);
    };
    const FiniteDifferenceCheck fd{1e-5, 1e-6, 1e-7};
    CHECK(fd.mismatches("dx", xs, dx, 48, 31, loss) == 0);
    CHECK(fd.mismatches("dweight", ws, dw, 24, 32, loss) == 0);
    CHECK(fd.mismatches("dbias", bs, db, 24, 32, loss) == 0);
    if (s.rows == 0) {  // no rows: dweight and dbias exactly as they were
      CHECK(dw == std::vector<double>(std::size_t(s.C), 0.0));
      CHECK(db == std::vector<double>(std::size_t(s.C), 0.0));
    }
  }
}
