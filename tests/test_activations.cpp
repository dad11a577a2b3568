#include "gradient_check.hpp"

#include <rwkv/kernels/activations.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;


struct Shape {
  int rows, C;
};
// No rows, no channels, neither: nothing to compute.
const Shape shapes[] = {{1, 1}, {3, 7}, {17, 65}, {1, 130}, {64, 1}, {0, 7}, {5, 0}, {0, 0}};

double sigmoid(double r) { return 1 / (1 + std::exp(-r)); }
double relu(double x) { return x > 0 ? x : 0; }

// sum_i f(inputs...)_i * g_i: the scalar loss whose gradient a backward adds.
template <class F>
double weighted_sum(std::size_t size, const std::vector<double>& g, F&& f) {
  double l = 0;
  for (std::size_t i = 0; i < size; ++i) l += f(i) * g[i];
  return l;
}

template <class Space, class Scalar>
void check_forwards(const Shape s, double rtol, double atol) {
  CAPTURE(s.rows, s.C);
  HostMatrix<Scalar> r("r", s.rows, s.C), z("z", s.rows, s.C), x("x", s.rows, s.C);
  fill_uniform(r, 1 + s.C, -8.0, 8.0);
  fill_uniform(z, 2 + s.C);
  fill_uniform(x, 3 + s.C);
  if (s.rows * s.C > 0) r(0, 0) = Scalar(-100);  // exp(100) overflows float: the gate must still be 0, not NaN
  if (s.rows * s.C > 1) r(s.rows - 1, s.C - 1) = Scalar(100);

  Space space;
  auto rd = to_device<Space>(r);
  auto zd = to_device<Space>(z);
  auto xd = to_device<Space>(x);
  Matrix<Space, Scalar> out("out", s.rows, s.C), gate("gate", s.rows, s.C), y("y", s.rows, s.C),
      sum("sum", s.rows, s.C);
  sigmoid_gate_forward(space, out, gate, rd, zd);
  squared_relu_forward(space, y, xd);
  residual_add_forward(space, sum, xd, zd);
  residual_add_forward(space, xd, xd, zd);  // in place: x = x + z
  space.fence();

  const auto rs = as_doubles(r), zs = as_doubles(z), xs = as_doubles(x);
  const auto out_h = as_doubles(to_host(out)), gate_h = as_doubles(to_host(gate)), y_h = as_doubles(to_host(y)),
             sum_h = as_doubles(to_host(sum)), inplace_h = as_doubles(to_host(xd));
  int bad = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    bad += !close(gate_h[i], sigmoid(rs[i]), rtol, atol);
    bad += !close(out_h[i], sigmoid(rs[i]) * zs[i], rtol, atol);
    bad += !close(y_h[i], relu(xs[i]) * relu(xs[i]), rtol, atol);
    bad += !close(sum_h[i], xs[i] + zs[i], rtol, atol);
    bad += !close(inplace_h[i], xs[i] + zs[i], rtol, atol);
  }
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("activation forwards match plain double references", "[activations]", Spaces) {
  for (const Shape s : shapes) {
    check_forwards<TestType, double>(s, 1e-14, 1e-300);
    // Values at most 2 in size: exp is within a few float ulps, then two or three roundings.
    check_forwards<TestType, float>(s, 1e-6, 1e-7);
  }
}

TEMPLATE_LIST_TEST_CASE("activation backwards match central finite differences", "[activations]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes) {
    CAPTURE(s.rows, s.C);
    HostMatrix<double> r("r", s.rows, s.C), z("z", s.rows, s.C), x("x", s.rows, s.C), dout("dout", s.rows, s.C),
        dr0("dr0", s.rows, s.C), dz0("dz0", s.rows, s.C), dx0("dx0", s.rows, s.C);
    fill_uniform(r, 11 + s.C, -4.0, 4.0);
    fill_uniform(z, 12 + s.C);
    fill_uniform(x, 13 + s.C);
    fill_uniform(dout, 14 + s.C);
    // Gradients accumulate: start from nonzero values and check the increments.
    fill_uniform(dr0, 15 + s.C);
    fill_uniform(dz0, 16 + s.C);
    fill_uniform(dx0, 17 + s.C);
    // relu^2 has a kink in its second derivative at 0, where a central difference of step h is
    // off by up to h/2: keep x at least 1e-2 away from it.
    for (std::size_t i = 0; i < x.span(); ++i)
      if (std::abs(x.data()[i]) < 1e-2) x.data()[i] += x.data()[i] < 0 ? -1e-2 : 1e-2;

    Space space;
    auto rd = to_device<Space>(r);
    auto zd = to_device<Space>(z);
    auto xd = to_device<Space>(x);
    auto gd = to_device<Space>(dout);
    auto drd = to_device<Space>(dr0);
    auto dzd = to_device<Space>(dz0);
    auto dxd = to_device<Space>(dx0);
    Matrix<Space, double> out("out", s.rows, s.C), gate("gate", s.rows, s.C);
    sigmoid_gate_forward(space, out, gate, rd, zd);
    sigmoid_gate_backward(space, drd, dzd, gd, gate, zd);
    squared_relu_backward(space, dxd, gd, xd);
    space.fence();
    const auto dr = increments(drd, dr0), dz = increments(dzd, dz0), dx = increments(dxd, dx0);

    auto rs = as_doubles(r), zs = as_doubles(z), xs = as_doubles(x);
    const auto g = as_doubles(dout);
    auto gate_loss = [&]() { return weighted_sum(rs.size(), g, [&](std::size_t i) { return sigmoid(rs[i]) * zs[i]; }); };
    auto relu_loss = [&]() { return weighted_sum(xs.size(), g, [&](std::size_t i) { return relu(xs[i]) * relu(xs[i]); }); };
    // Truncation h^2/6 * |f'''| < 1e-11 (relu^2 is quadratic on each side: none); rounding
    // eps * |L| / h < 3e-9 for the |L| < 100 of these shapes.
    const FiniteDifferenceCheck fd{1e-5, 1e-7, 3e-9};
    CHECK(fd.mismatches("dr", rs, dr, 64, 21, gate_loss) == 0);
    CHECK(fd.mismatches("dz", zs, dz, 64, 21, gate_loss) == 0);
    CHECK(fd.mismatches("dx", xs, dx, 64, 21, relu_loss) == 0);

    // y = a + b: each gradient gains dy exactly; an empty view is skipped.
    auto da = to_device<Space>(dr0);
    auto db = to_device<Space>(dz0);
    residual_add_backward(space, da, db, gd);
    residual_add_backward(space, da, Matrix<Space, double>(), gd);
    space.fence();
    const auto da_h = as_doubles(to_host(da)), db_h = as_doubles(to_host(db));
    int wrong = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
      wrong += da_h[i] != (dr0.data()[i] + g[i]) + g[i];
      wrong += db_h[i] != dz0.data()[i] + g[i];
    }
    CHECK(wrong == 0);
  }
}
