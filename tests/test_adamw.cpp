#include "test_support.hpp"

#include <rwkv/kernels/adamw.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;


const int sizes[] = {1, 7, 65, 1000, 4099, 0};

// torch.optim.AdamW's single-tensor step, written out in double.
void adamw_reference(std::vector<double>& p, const std::vector<double>& grad, std::vector<double>& m,
                     std::vector<double>& v, const AdamWStep& s) {
  const double bias1 = 1 - std::pow(s.beta1, double(s.step));
  const double bias2 = 1 - std::pow(s.beta2, double(s.step));
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double g = grad[i] * s.grad_scale;
    if (s.weight_decay > 0) p[i] *= 1 - s.lr * s.weight_decay;
    m[i] = s.beta1 * m[i] + (1 - s.beta1) * g;
    v[i] = s.beta2 * v[i] + (1 - s.beta2) * g * g;
    p[i] -= s.lr / bias1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bias2) + s.eps);
  }
}

// Several steps of the kernel against the reference, both starting from the same Scalar values.
// Large steps (lr = 0.05) so that an error in any term shows well above the tolerance.
template <class Space, class Scalar>
void check_steps(int n, double weight_decay, double grad_scale, double rtol, double atol) {
  CAPTURE(n, weight_decay, grad_scale);
  HostVector<Scalar> param("param", n), m("m", n), v("v", n), grad("grad", n);
  fill_uniform(param, 1 + n);
  auto p_ref = as_doubles(param);
  std::vector<double> m_ref(n, 0.0), v_ref(n, 0.0);

  Space space;
  auto pd = to_device<Space>(param);
  auto md = to_device<Space>(m);
  auto vd = to_device<Space>(v);
  for (long step = 1; step <= 5; ++step) {
    // Gradients of mixed scales, some tiny, so that eps matters for some elements.
    fill_uniform(grad, 100 * step + n, -1.0, 1.0);
    for (int i = 0; i < n; i += 3) grad(i) *= Scalar(1e-7);
    const AdamWStep s{0.05, 0.9, 0.99, 1e-8, weight_decay, step, grad_scale};
    adamw_update(space, pd, to_device<Space>(grad), md, vd, s);
    adamw_reference(p_ref, as_doubles(grad), m_ref, v_ref, s);
  }
  space.fence();
  const auto p = as_doubles(to_host(pd)), mg = as_doubles(to_host(md)), vg = as_doubles(to_host(vd));
  int bad = 0;
  for (int i = 0; i < n; ++i) {
    bad += !close(p[i], p_ref[i], rtol, atol);
    bad += !close(mg[i], m_ref[i], rtol, atol);  // m may cancel to near 0: absolute, like p
    bad += !close(vg[i], v_ref[i], rtol, 0.0);   // a sum of positive terms: relative
  }
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("adamw_update matches torch's AdamW formula over several steps", "[adamw]", Spaces) {
  for (const int n : sizes)
    for (const double wd : {0.0, 0.1})
      for (const double scale : {1.0, 0.37}) {
        check_steps<TestType, double>(n, wd, scale, 1e-13, 1e-15);
        // Float: each step rounds p, m, v and the update term (|p| ~ 1, lr = 0.05) to ~6e-8 relative.
        check_steps<TestType, float>(n, wd, scale, 2e-6, 1e-6);
      }
}

TEMPLATE_LIST_TEST_CASE("adamw_update decays weights only when weight_decay > 0", "[adamw]", Spaces) {
  using Space = TestType;
  // A zero gradient leaves m = v = 0 and the Adam term 0: only the decay moves the parameters.
  const int n = 9;
  HostVector<double> param("param", n);
  fill_uniform(param, 7);
  Space space;
  Vector<Space, double> grad("grad", n), m("m", n), v("v", n);
  auto kept = to_device<Space>(param), decayed = to_device<Space>(param), negative = to_device<Space>(param);
  adamw_update(space, kept, grad, m, v, AdamWStep{0.01, 0.9, 0.99, 1e-8, 0.0, 1, 1.0});
  adamw_update(space, decayed, grad, m, v, AdamWStep{0.01, 0.9, 0.99, 1e-8, 0.5, 1, 1.0});
  adamw_update(space, negative, grad, m, v, AdamWStep{0.01, 0.9, 0.99, 1e-8, -0.5, 1, 1.0});
  space.fence();
  const auto k = to_host(kept), d = to_host(decayed), neg = to_host(negative);
  int bad = 0;
  for (int i = 0; i < n; ++i) {
    bad += k(i) != param(i);
    bad += neg(i) != param(i);
    bad += d(i) != param(i) * (1 - 0.01 * 0.5);
  }
  CHECK(bad == 0);
}

TEMPLATE_LIST_TEST_CASE("sum_of_squares matches a double reference and is deterministic", "[adamw]", Spaces) {
  using Space = TestType;
  for (const int n : {0, 1, 7, 1023, 1025, 33000, 1100007}) {
    CAPTURE(n);
    HostVector<float> x("x", n);
    fill_uniform(x, 41 + n, -3.0, 3.0);
    double ref = 0;
    for (int i = 0; i < n; ++i) ref += double(x(i)) * double(x(i));

    Space space;
    auto xd = to_device<Space>(x);
    const double first = sum_of_squares(space, xd);
    const double second = sum_of_squares(space, xd);
    // Squares of floats are exact in double; each sum of n positive terms is within n * 1.1e-16
    // (relative) of the exact one, whatever the order.
    CHECK(close(first, ref, 2.2e-16 * n, 0.0));
    CHECK(std::memcmp(&first, &second, sizeof(double)) == 0);
  }
}
