// lora_matmul: y = x A with A [in, out] against a plain double loop; its backward against central
// finite differences of sum(y * g) in double, accumulating onto nonzero gradients; on a LoRA's
// shapes, one row, odd sizes and empty ones.
#include "gradient_check.hpp"

#include <rwkv/kernels/lora_matmul.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using Doubles = std::vector<double>;

struct Shape {
  int rows, in, out;
};
const Shape shapes[] = {{10, 16, 4}, {10, 4, 16}, {1, 13, 3}, {37, 65, 33}, {0, 5, 3}, {4, 0, 3}};

Doubles product(const Doubles& x, const Doubles& A, Shape s) {
  Doubles y(std::size_t(s.rows) * s.out, 0.0);
  for (int n = 0; n < s.rows; ++n)
    for (int o = 0; o < s.out; ++o)
      for (int i = 0; i < s.in; ++i) y[n * s.out + o] += x[n * s.in + i] * A[i * s.out + o];
  return y;
}

template <class Space>
void check(Shape s) {
  CAPTURE(s.rows, s.in, s.out);
  HostMatrix<double> x("x", s.rows, s.in), A("A", s.in, s.out), g("g", s.rows, s.out);
  HostMatrix<double> dx0("dx0", s.rows, s.in), dA0("dA0", s.in, s.out);
  fill_uniform(x, 1);
  fill_uniform(A, 2);
  fill_uniform(g, 3);
  fill_uniform(dx0, 4);
  fill_uniform(dA0, 5);
  Space space;
  Matrix<Space, double> y("y", s.rows, s.out);
  Kokkos::deep_copy(y, 7.0);  // overwritten
  lora_matmul_forward(space, y, to_device<Space>(x), to_device<Space>(A));
  auto dx = to_device<Space>(dx0), dA = to_device<Space>(dA0);
  lora_matmul_backward(space, dx, dA, to_device<Space>(g), to_device<Space>(x), to_device<Space>(A));
  space.fence();

  Doubles xs = as_doubles(x), As = as_doubles(A);
  const Doubles gs = as_doubles(g), got = as_doubles(to_host(y)), want = product(xs, As, s);
  int bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) bad += !close(got[i], want[i], 1e-13, 1e-13);
  CHECK(bad == 0);

  // The loss is linear in each coordinate: a large step has no truncation error, and the rounding
  // of the loss (some hundred terms) divided by it stays near 1e-13.
  const FiniteDifferenceCheck fd{0.25, 1e-10, 1e-11};
  CHECK(fd.mismatches("dx", xs, increments(dx, dx0), [&] { return weighted_sum(product(xs, As, s), gs); }) == 0);
  CHECK(fd.mismatches("dA", As, increments(dA, dA0), [&] { return weighted_sum(product(xs, As, s), gs); }) == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("lora_matmul: x A and its gradients in the stored orientation", "[lora_matmul]", Spaces) {
  for (const Shape s : shapes) check<TestType>(s);
}
