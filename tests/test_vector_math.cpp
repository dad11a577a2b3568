#include "test_support.hpp"

#include <rwkv/core/vector_math.hpp>

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <limits>

using namespace rwkv;
using namespace rwkv::test;

namespace {

// The exps under test, as the kernels call them.
struct VectorExp {
  KOKKOS_INLINE_FUNCTION float operator()(float x) const { return vector_exp(x); }
};
struct ArithmeticExp {
  KOKKOS_INLINE_FUNCTION double operator()(double x) const { return arithmetic_exp(x); }
};

// exp(x) for each x on the space, in a simd loop as the kernels run it.
template <class ExecSpace, class Exp, class T>
std::vector<double> exp_on(const std::vector<T>& x) {
  const int n = int(x.size());
  HostVector<T> hx("x", n);
  for (int i = 0; i < n; ++i) hx(i) = x[i];
  const auto dx = to_device<ExecSpace>(hx);
  Kokkos::View<T*, typename ExecSpace::memory_space> dy("y", n);
  const Exp exp_of;
  Kokkos::parallel_for(
      "test::exp", Kokkos::RangePolicy<ExecSpace>(0, 1), KOKKOS_LAMBDA(int) {
        RWKV_HOST_SIMD
        for (int i = 0; i < n; ++i) dy(i) = exp_of(dx(i));
      });
  return as_doubles(to_host(dy));
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("arithmetic_exp is within 1 ulp of exp over the double range", "[vector_math]", Spaces) {
  std::vector<double> x;
  for (double v = -708.3; v < 709.7; v += 0.000913) x.push_back(v);
  for (double v = -1e-6; v < 1e-6; v += 3.7e-9) x.push_back(v);
  const auto y = exp_on<TestType, ArithmeticExp>(x);
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(x[i]);
    worst = std::max(worst, std::abs(y[i] - ref) / ref);
  }
  INFO("worst relative error " << worst);
  CHECK(worst <= DBL_EPSILON);
}

TEMPLATE_LIST_TEST_CASE("arithmetic_exp rounds subnormal results once and keeps the special values",
                        "[vector_math]", Spaces) {
  // Below DBL_MIN the result has fewer bits: within one subnormal unit (2^-1074) of exp.
  std::vector<double> x;
  for (double v = -745.2; v < -708.3; v += 0.00731) x.push_back(v);
  const auto y = exp_on<TestType, ArithmeticExp>(x);
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(y[i] - std::exp(x[i])));
  INFO("worst absolute error " << worst);
  CHECK(worst <= std::numeric_limits<double>::denorm_min());

  constexpr double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> special = {0.0, -0.0, -inf, inf, std::nan(""), 709.8, 710.0, 1e300,
                                       -745.2, -746.0, -1e300, 1.0, 709.78, -745.1};
  const auto e = exp_on<TestType, ArithmeticExp>(special);
  CHECK(e[0] == 1.0);
  CHECK(e[1] == 1.0);
  CHECK(e[2] == 0.0);
  CHECK(e[3] == inf);
  CHECK(std::isnan(e[4]));
  CHECK(e[5] == inf);
  CHECK(e[6] == inf);
  CHECK(e[7] == inf);
  CHECK(e[8] == 0.0);  // exp(-745.2) < 2^-1075: rounds to 0
  CHECK(e[9] == 0.0);
  CHECK(e[10] == 0.0);
  CHECK(e[11] == Approx(std::exp(1.0)).epsilon(DBL_EPSILON));
  CHECK(e[12] == Approx(std::exp(709.78)).epsilon(DBL_EPSILON));  // near DBL_MAX: the largest scale
  CHECK(e[13] == std::numeric_limits<double>::denorm_min());
}

TEMPLATE_LIST_TEST_CASE("vector_exp is within 2 ulp of exp over the float range", "[vector_math]", Spaces) {
  std::vector<float> x;
  for (double v = -87.3; v < 88.72; v += 0.000737) x.push_back(float(v));
  const auto y = exp_on<TestType, VectorExp>(x);
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(double(x[i]));
    worst = std::max(worst, std::abs(y[i] - ref) / ref);
  }
  INFO("worst relative error " << worst);
  CHECK(worst < 2 * FLT_EPSILON);
}

TEMPLATE_LIST_TEST_CASE("vector_exp keeps exp's special values", "[vector_math]", Spaces) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {0.0f, -inf, inf, std::nanf(""), 89.0f, 1e30f, -87.5f, -1e38f, 1.0f};
  const auto y = exp_on<TestType, VectorExp>(x);
  CHECK(y[0] == 1.0);
  CHECK(y[1] == 0.0);
  CHECK(y[2] == inf);
  CHECK(std::isnan(y[3]));
  CHECK(y[4] == inf);
  CHECK(y[5] == inf);
  CHECK(y[6] < double(FLT_MIN));  // below the normal range: 0 or the denormal exp
  CHECK(y[7] == 0.0);
  CHECK(y[8] == Approx(std::exp(1.0)).epsilon(2 * FLT_EPSILON));
}
