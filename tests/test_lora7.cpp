#include "gradient_check.hpp"

#include <rwkv/kernels/lora7.hpp>

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using Doubles = std::vector<double>;

struct Shape {
  int rows, C;
};
// One row (an RNN step), C = 1 and C not a multiple of any vector width, a LoRA rank; no rows,
// no channels.
const Shape shapes[] = {{1, 1}, {1, 64}, {7, 13}, {33, 65}, {5, 130}, {0, 7}, {3, 0}};
const Lora7Activation activations[] = {Lora7Activation::none, Lora7Activation::tanh, Lora7Activation::sigmoid};

double activate(Lora7Activation act, double x) {
  if (act == Lora7Activation::tanh) return std::tanh(x);
  if (act == Lora7Activation::sigmoid) return 1 / (1 + std::exp(-x));
  return x;
}

// Plain double y = act(p + bias); an empty bias adds nothing.
Doubles lora7_reference(Lora7Activation act, const Doubles& p, const Doubles& bias, Shape s) {
  Doubles y(p.size());
  for (int n = 0; n < s.rows; ++n)
    for (int c = 0; c < s.C; ++c) y[n * s.C + c] = activate(act, p[n * s.C + c] + (bias.empty() ? 0.0 : bias[c]));
  return y;
}

template <class Space, class Scalar>
void check_forward(Shape s, Lora7Activation act, bool with_bias, double atol, bool in_place) {
  CAPTURE(s.rows, s.C, int(act), with_bias, in_place);
  HostMatrix<Scalar> p("p", s.rows, s.C);
  HostVector<Scalar> bias("bias", with_bias ? s.C : 0);
  fill_uniform(p, 1 + s.C, -3.0, 3.0);
  fill_uniform(bias, 2 + s.C);
  Space space;
  auto pd = to_device<Space>(p);
  Matrix<Space, Scalar> y = in_place ? pd : Matrix<Space, Scalar>("y", s.rows, s.C);
  lora7_forward(space, act, y, pd, to_device<Space>(bias));
  space.fence();
  const Doubles ref = lora7_reference(act, as_doubles(p), as_doubles(bias), s);
  const Doubles got = as_doubles(to_host(y));
  int bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) bad += !close(got[i], ref[i], 0.0, atol);
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("lora7_forward matches a plain double reference", "[lora7]", Spaces) {
  for (const Shape s : shapes)
    for (const Lora7Activation act : activations)
      for (const bool with_bias : {false, true}) {
        // |p + bias| <= 4: its rounding (2 units of 2^-22 at most) through a slope <= 1, and the
        // function's few roundings of a result <= 4; in double the same counts of 2^-53.
        check_forward<TestType, double>(s, act, with_bias, 8 * DBL_EPSILON, false);
        check_forward<TestType, float>(s, act, with_bias, 8 * FLT_EPSILON, false);
        check_forward<TestType, float>(s, act, with_bias, 8 * FLT_EPSILON, true);
      }
}

TEMPLATE_LIST_TEST_CASE("lora7_backward matches central finite differences", "[lora7]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes)
    for (const Lora7Activation act : activations)
      for (const bool with_bias : {false, true}) {
        CAPTURE(s.rows, s.C, int(act), with_bias);
        HostMatrix<double> p("p", s.rows, s.C), dy("dy", s.rows, s.C), dp0("dp0", s.rows, s.C);
        HostVector<double> bias("bias", with_bias ? s.C : 0), dbias0("dbias0", with_bias ? s.C : 0);
        fill_uniform(p, 11 + s.C, -3.0, 3.0);
        fill_uniform(bias, 12 + s.C);
        fill_uniform(dy, 13 + s.C);
        // Gradients accumulate: start from nonzero values and check the increments.
        fill_uniform(dp0, 14 + s.C);
        fill_uniform(dbias0, 15 + s.C);

        Space space;
        auto pd = to_device<Space>(p);
        Matrix<Space, double> y("y", s.rows, s.C);
        lora7_forward(space, act, y, pd, to_device<Space>(bias));
        auto dpd = to_device<Space>(dp0);
        auto dbd = to_device<Space>(dbias0);
        auto dyd = to_device<Space>(dy);
        lora7_backward(space, act, dpd, dbd, dyd, y);
        space.fence();

        // L = sum(y * dy); smooth, so h = 1e-5 leaves a truncation error ~1e-10.
        auto ps = as_doubles(p), bs = as_doubles(bias);
        const Doubles g = as_doubles(dy);
        auto loss = [&]() { return weighted_sum(lora7_reference(act, ps, bs, s), g); };
        const FiniteDifferenceCheck fd{1e-5, 1e-6, 1e-8};
        CHECK(fd.mismatches("dp", ps, increments(dpd, dp0), 64, 21, loss) == 0);
        CHECK(fd.mismatches("dbias", bs, increments(dbd, dbias0), 32, 22, loss) == 0);

        // An empty dp or dbias is skipped and changes nothing else.
        auto dp2 = to_device<Space>(dp0);
        auto db2 = to_device<Space>(dbias0);
        lora7_backward(space, act, dp2, Vector<Space, double>(), dyd, y);
        lora7_backward(space, act, Matrix<Space, double>(), db2, dyd, y);
        space.fence();
        CHECK(as_doubles(to_host(dp2)) == as_doubles(to_host(dpd)));
        CHECK(as_doubles(to_host(db2)) == as_doubles(to_host(dbd)));
      }
}
