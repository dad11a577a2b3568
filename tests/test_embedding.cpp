#include "gradient_check.hpp"

#include <rwkv/kernels/embedding.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using HostTokens = Kokkos::View<int*, Kokkos::HostSpace>;

struct Shape {
  int rows, C, V;
};
// Vocabularies smaller than the row count (tokens repeat), larger (rows of weight no token uses),
// V = 1 (every row the same token), C = 1 and C not a multiple of any vector width; no rows, no
// channels, and no rows with no vocabulary.
const Shape shapes[] = {{1, 1, 1}, {37, 7, 5}, {3, 65, 100}, {64, 1, 3}, {50, 130, 2}, {29, 16, 1},
                        {0, 7, 5}, {5, 0, 3}, {0, 4, 0}};

HostTokens random_tokens(int rows, int V, std::uint64_t seed) {
  HostTokens tokens("tokens", rows);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(0, std::max(V - 1, 0));  // V = 0 only with no rows
  for (int n = 0; n < rows; ++n) tokens(n) = pick(rng);
  return tokens;
}

// dweight in Scalar arithmetic, each row of dx added in row order: what the kernel promises bit
// for bit.
template <class Scalar>
HostMatrix<Scalar> scatter_in_row_order(const HostMatrix<Scalar>& dweight0, const HostMatrix<Scalar>& dx,
                                        const HostTokens& tokens) {
  HostMatrix<Scalar> dweight("dweight", dweight0.extent(0), dweight0.extent(1));
  Kokkos::deep_copy(dweight, dweight0);
  for (std::size_t n = 0; n < dx.extent(0); ++n)
    for (std::size_t c = 0; c < dx.extent(1); ++c) dweight(tokens(n), c) += dx(n, c);
  return dweight;
}

template <class Scalar>
bool same_bits(const HostMatrix<Scalar>& a, const HostMatrix<Scalar>& b) {
  return a.span() == b.span() && std::memcmp(a.data(), b.data(), a.span() * sizeof(Scalar)) == 0;
}

template <class Space, class Scalar>
void check_forward(const Shape s) {
  CAPTURE(s.rows, s.C, s.V);
  HostMatrix<Scalar> weight("weight", s.V, s.C);
  fill_uniform(weight, 1 + s.C);
  const auto tokens = random_tokens(s.rows, s.V, 2 + s.C);

  Space space;
  Matrix<Space, Scalar> x("x", s.rows, s.C);
  embedding_forward(space, x, to_device<Space>(tokens), to_device<Space>(weight));
  space.fence();
  const auto got = to_host(x);
  int bad = 0;
  for (int n = 0; n < s.rows; ++n)
    for (int c = 0; c < s.C; ++c) bad += got(n, c) != weight(tokens(n), c);  // a copy: exact
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("embedding_forward gathers the token rows", "[embedding]", Spaces) {
  for (const Shape s : shapes) {
    check_forward<TestType, double>(s);
    check_forward<TestType, float>(s);
  }
}

TEMPLATE_LIST_TEST_CASE("embedding_backward matches central finite differences", "[embedding]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes) {
    CAPTURE(s.rows, s.C, s.V);
    HostMatrix<double> weight("weight", s.V, s.C), dx("dx", s.rows, s.C), dweight0("dweight0", s.V, s.C);
    fill_uniform(weight, 11 + s.C);
    fill_uniform(dx, 12 + s.C);
    fill_uniform(dweight0, 13 + s.C);  // gradients accumulate: check the increments
    const auto tokens = random_tokens(s.rows, s.V, 14 + s.C);

    Space space;
    auto dwd = to_device<Space>(dweight0);
    embedding_backward(space, dwd, to_device<Space>(dx), to_device<Space>(tokens));
    space.fence();
    const auto dweight = increments(dwd, dweight0);

    // L = sum(x * dx) is linear in weight: the central difference is exact but for rounding.
    auto ws = as_doubles(weight);
    const auto g = as_doubles(dx);
    auto loss = [&]() {
      double l = 0;
      for (int n = 0; n < s.rows; ++n)
        for (int c = 0; c < s.C; ++c) l += ws[std::size_t(tokens(n)) * s.C + c] * g[std::size_t(n) * s.C + c];
      return l;
    };
    const FiniteDifferenceCheck fd{1e-3, 1e-9, 1e-10};
    CHECK(fd.mismatches("dweight", ws, dweight, 96, 15, loss) == 0);
    if (s.rows == 0) CHECK(dweight == std::vector<double>(ws.size(), 0.0));  // no rows: dweight as it was
  }
}

// Repeated tokens accumulate, in row order: the float result equals, bit for bit, adding the rows
// one after another on the host; rows of weight that no token uses are untouched.
TEMPLATE_LIST_TEST_CASE("embedding_backward adds repeated tokens in row order", "[embedding]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes) {
    CAPTURE(s.rows, s.C, s.V);
    HostMatrix<float> dx("dx", s.rows, s.C), dweight0("dweight0", s.V, s.C);
    fill_uniform(dx, 21 + s.C);
    fill_uniform(dweight0, 22 + s.C);
    const auto tokens = random_tokens(s.rows, s.V, 23 + s.C);

    Space space;
    auto dwd = to_device<Space>(dweight0);
    embedding_backward(space, dwd, to_device<Space>(dx), to_device<Space>(tokens));
    space.fence();
    CHECK(same_bits(to_host(dwd), scatter_in_row_order(dweight0, dx, tokens)));
  }
}

TEMPLATE_LIST_TEST_CASE("embedding_backward is deterministic at training size", "[embedding]", Spaces) {
  using Space = TestType;
  // N = 2048 rows (B*T), C = 768, a byte vocabulary with a skewed distribution: long runs of the
  // same tokens, and most of them in a few rows.
  const int rows = 2048, C = 768, V = 256;
  HostMatrix<float> dx("dx", rows, C), dweight0("dweight0", V, C);
  fill_uniform(dx, 31);
  fill_uniform(dweight0, 32);
  HostTokens tokens("tokens", rows);
  std::mt19937_64 rng(33);
  std::geometric_distribution<int> pick(0.05);
  for (int n = 0; n < rows; ++n) tokens(n) = n % 97 < 20 ? 32 : pick(rng) % V;

  Space space;
  auto dxd = to_device<Space>(dx);
  auto td = to_device<Space>(tokens);
  auto first = to_device<Space>(dweight0);
  auto second = to_device<Space>(dweight0);
  embedding_backward(space, first, dxd, td);
  embedding_backward(space, second, dxd, td);
  space.fence();
  const auto a = to_host(first), b = to_host(second);
  CHECK(same_bits(a, b));
  CHECK(same_bits(a, scatter_in_row_order(dweight0, dx, tokens)));
}
