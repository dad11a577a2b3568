#include "gradient_check.hpp"

#include <rwkv/kernels/value_residual7.hpp>

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
// One row (an RNN step), C = 1 and C not a multiple of any vector width; no rows, no channels.
const Shape shapes[] = {{1, 1}, {1, 64}, {7, 13}, {33, 65}, {5, 130}, {0, 7}, {3, 0}};

// Plain double v + (v_first - v) sigmoid(v0 + p).
Doubles value_residual7_reference(const Doubles& v, const Doubles& v_first, const Doubles& p, const Doubles& v0,
                                  Shape s) {
  Doubles out(v.size());
  for (int n = 0; n < s.rows; ++n)
    for (int c = 0; c < s.C; ++c) {
      const std::size_t i = std::size_t(n) * s.C + c;
      const double gate = 1 / (1 + std::exp(-(v0[c] + p[i])));
      out[i] = v[i] + (v_first[i] - v[i]) * gate;
    }
  return out;
}

// The elements of `from` converted into `to` (same shape).
template <class To, class From>
void convert(const To& to, const From& from) {
  for (std::size_t i = 0; i < from.span(); ++i) to.data()[i] = typename To::non_const_value_type(from.data()[i]);
}

struct Inputs {
  HostMatrix<double> v, v_first, p;
  HostVector<double> v0;
  explicit Inputs(Shape s, std::uint64_t seed)
      : v("v", s.rows, s.C), v_first("v_first", s.rows, s.C), p("p", s.rows, s.C), v0("v0", s.C) {
    fill_uniform(v, seed);
    fill_uniform(v_first, seed + 1);
    fill_uniform(p, seed + 2, -3.0, 3.0);
    fill_uniform(v0, seed + 3);
  }
};

template <class Space, class Scalar>
void check_forward(Shape s, double atol) {
  CAPTURE(s.rows, s.C);
  const Inputs in(s, 1 + s.C);
  // The inputs in Scalar, and the reference on exactly those numbers.
  HostMatrix<Scalar> v("v", s.rows, s.C), vf("vf", s.rows, s.C), p("p", s.rows, s.C);
  HostVector<Scalar> v0("v0", s.C);
  convert(v, in.v);
  convert(vf, in.v_first);
  convert(p, in.p);
  convert(v0, in.v0);
  Space space;
  Matrix<Space, Scalar> out("out", s.rows, s.C);
  value_residual7_forward(space, out, to_device<Space>(v), to_device<Space>(vf), to_device<Space>(p),
                          to_device<Space>(v0));
  space.fence();
  const Doubles ref = value_residual7_reference(as_doubles(v), as_doubles(vf), as_doubles(p), as_doubles(v0), s);
  const Doubles got = as_doubles(to_host(out));
  int bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) bad += !close(got[i], ref[i], 0.0, atol);
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("value_residual7_forward matches a plain double reference", "[value_residual7]", Spaces) {
  for (const Shape s : shapes) {
    // |v|, |v_first| <= 1: the gate's few roundings (sum, exp, 1 + e, division; a result <= 1)
    // times |v_first - v| <= 2, and three more roundings of terms <= 2.
    check_forward<TestType, double>(s, 16 * DBL_EPSILON);
    check_forward<TestType, float>(s, 16 * FLT_EPSILON);
  }
}

TEMPLATE_LIST_TEST_CASE("value_residual7_backward matches central finite differences", "[value_residual7]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes) {
    CAPTURE(s.rows, s.C);
    const Inputs in(s, 11 + s.C);
    HostMatrix<double> dout("dout", s.rows, s.C), dv0m("dv0", s.rows, s.C), dvf0("dvf0", s.rows, s.C),
        dp0("dp0", s.rows, s.C);
    HostVector<double> dbias0("dbias0", s.C);
    fill_uniform(dout, 15 + s.C);
    // Gradients accumulate: start from nonzero values and check the increments.
    fill_uniform(dv0m, 16 + s.C);
    fill_uniform(dvf0, 17 + s.C);
    fill_uniform(dp0, 18 + s.C);
    fill_uniform(dbias0, 19 + s.C);

    Space space;
    auto dv = to_device<Space>(dv0m);
    auto dvf = to_device<Space>(dvf0);
    auto dp = to_device<Space>(dp0);
    auto dbias = to_device<Space>(dbias0);
    value_residual7_backward(space, dv, dvf, dp, dbias, to_device<Space>(dout), to_device<Space>(in.v),
                             to_device<Space>(in.v_first), to_device<Space>(in.p), to_device<Space>(in.v0));
    space.fence();

    // L = sum(out * dout); smooth, so h = 1e-5 leaves a truncation error ~1e-10.
    auto vs = as_doubles(in.v), vfs = as_doubles(in.v_first), ps = as_doubles(in.p), v0s = as_doubles(in.v0);
    const Doubles g = as_doubles(dout);
    auto loss = [&]() { return weighted_sum(value_residual7_reference(vs, vfs, ps, v0s, s), g); };
    const FiniteDifferenceCheck fd{1e-5, 1e-6, 1e-8};
    CHECK(fd.mismatches("dv", vs, increments(dv, dv0m), 64, 21, loss) == 0);
    CHECK(fd.mismatches("dv_first", vfs, increments(dvf, dvf0), 64, 22, loss) == 0);
    CHECK(fd.mismatches("dp", ps, increments(dp, dp0), 64, 23, loss) == 0);
    CHECK(fd.mismatches("dv0", v0s, increments(dbias, dbias0), 32, 24, loss) == 0);
  }
}
