#include "test_support.hpp"

#include <rwkv/kernels/matrix_loops.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;


struct Shape {
  int rows, C;
};
// Fewer rows than lanes, one more, many; channel blocks that are partial, exact, and several; no
// rows (the sums add 0), no channels, neither.
const Shape shapes[] = {{1, 1}, {31, 7}, {33, 32}, {200, 70}, {1000, 33}, {5, 100}, {0, 7}, {5, 0}, {0, 0}};

}  // namespace

TEMPLATE_LIST_TEST_CASE("for_each_element visits every element once", "[matrix_loops]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes) {
    CAPTURE(s.rows, s.C);
    Matrix<Space, int> visits("visits", s.rows, s.C), where("where", s.rows, s.C);
    const int C = s.C;
    for_each_element("test::for_each_element", Space(), s.rows, s.C, KOKKOS_LAMBDA(int n, int c) {
      visits(n, c) += 1;
      where(n, c) = n * C + c;
    });
    Space().fence();
    const auto v = to_host(visits), w = to_host(where);
    int bad = 0;
    for (int n = 0; n < s.rows; ++n)
      for (int c = 0; c < s.C; ++c) bad += v(n, c) != 1 || w(n, c) != n * C + c;
    CHECK(bad == 0);
  }
}

// The documented order, in float: slot (l, c) adds rows l, l + lanes, ... in turn; then each
// channel adds its slots in lane order to out. Only additions: the same bits on every space.
TEMPLATE_LIST_TEST_CASE("accumulate_column_sums adds in its fixed order", "[matrix_loops]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes) {
    CAPTURE(s.rows, s.C);
    HostMatrix<float> a("a", s.rows, s.C);
    HostVector<float> out0("out0", s.C);
    fill_uniform(a, 1 + s.rows);
    fill_uniform(out0, 2 + s.rows);  // the sums accumulate into out

    HostVector<float> expected("expected", s.C);
    for (int c = 0; c < s.C; ++c) {
      float total = 0;
      for (int l = 0; l < column_sum_lanes; ++l) {
        float slot = 0;
        for (int n = l; n < s.rows; n += column_sum_lanes) slot += a(n, c);
        total += slot;
      }
      expected(c) = out0(c) + total;
    }

    Space space;
    auto ad = to_device<Space>(a);
    auto out = to_device<Space>(out0);
    accumulate_column_sums("test::column_sums", space, out, s.rows, s.C, KOKKOS_LAMBDA(int n, int c) { return ad(n, c); });
    space.fence();
    const auto got = to_host(out);
    CHECK((s.C == 0 || std::memcmp(got.data(), expected.data(), sizeof(float) * s.C) == 0));
  }
}
