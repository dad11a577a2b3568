// Soft-target cross-entropy of the image task: the forward against a plain long-double reference,
// the backward (with and without L2Wrap) against central finite differences, and whole levels
// giving the hard target's loss and gradient bit for bit.
#include "test_support.hpp"

#include <rwkv/kernels/cross_entropy.hpp>
#include <rwkv/kernels/cross_entropy_soft.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using HostTargets = Kokkos::View<int*, Kokkos::HostSpace>;
using HostLevels = Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace>;

struct Problem {
  int rows, V, offset;
  HostTargets targets;
  HostLevels levels;
};

// Row kinds in turn: hard (levels -1), soft with random fractional levels, soft with whole levels,
// soft at the ends of the range (0 and 7, and one just below 7).
Problem random_problem(int rows, int V, int offset, std::uint64_t seed) {
  Problem p{rows, V, offset, HostTargets("targets", rows), HostLevels("levels", rows, 3)};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> level(0.0f, 7.0f);
  for (int n = 0; n < rows; ++n) {
    p.targets(n) = int(rng() % unsigned(V));
    for (int c = 0; c < 3; ++c) {
      switch (n % 4) {
        case 0: p.levels(n, c) = -1.0f; break;
        case 1: p.levels(n, c) = level(rng); break;
        case 2: p.levels(n, c) = float(rng() % 8); break;
        default: p.levels(n, c) = c == 0 ? 0.0f : c == 1 ? 7.0f : 6.75f; break;
      }
    }
  }
  return p;
}

// q of row n, dense over the vocabulary, built straight from the definition.
std::vector<long double> reference_q(const Problem& p, int n) {
  std::vector<long double> q(std::size_t(p.V), 0.0L);
  if (p.levels(n, 0) < 0) {
    q[std::size_t(p.targets(n))] = 1;
    return q;
  }
  long double w[3][8] = {};
  for (int c = 0; c < 3; ++c) {
    const double L = p.levels(n, c), lo = std::floor(L), frac = L - lo;
    w[c][int(lo)] += 1 - frac;
    if (frac > 0) w[c][int(lo) + 1] += frac;
  }
  for (int r = 0; r < 8; ++r)
    for (int g = 0; g < 8; ++g)
      for (int b = 0; b < 8; ++b) q[std::size_t(p.offset + r * 64 + g * 8 + b)] = w[0][r] * w[1][g] * w[2][b];
  return q;
}

// scale * sum_n (lse_n - sum_v q_v z_v) + l2wrap / 2 * sum_n max_n^2, in long double.
double reference_objective(const std::vector<double>& z, const Problem& p, double scale, double l2wrap,
                           std::vector<double>* row_loss = nullptr) {
  long double f = 0;
  for (int n = 0; n < p.rows; ++n) {
    const double* row = &z[std::size_t(n) * p.V];
    const long double m = *std::max_element(row, row + p.V);
    long double sum = 0, expected = 0;
    const auto q = reference_q(p, n);
    for (int v = 0; v < p.V; ++v) {
      sum += std::exp((long double)row[v] - m);
      expected += q[std::size_t(v)] * row[v];
    }
    const long double loss = m + std::log(sum) - expected;
    if (row_loss) row_loss->push_back(double(loss));
    f += scale * loss + l2wrap / 2 * m * m;
  }
  return double(f);
}

template <class Space, class Scalar>
struct Run {
  std::vector<double> loss, lse, dz;
};

template <class Space, class Scalar>
Run<Space, Scalar> run_soft(const HostMatrix<Scalar>& z, const Problem& p, double scale, double l2wrap) {
  Space space;
  const auto zd = to_device<Space>(z);
  const auto td = to_device<Space>(p.targets);
  const auto ld = to_device<Space>(p.levels);
  Vector<Space, Scalar> loss("loss", p.rows), lse("lse", p.rows);
  cross_entropy_soft_forward(space, loss, lse, zd, td, ld, p.offset);
  Matrix<Space, Scalar> dz("dz", p.rows, p.V);
  Kokkos::deep_copy(dz, std::numeric_limits<Scalar>::quiet_NaN());
  cross_entropy_soft_backward(space, dz, zd, lse, td, ld, p.offset, Scalar(scale), Scalar(l2wrap));
  space.fence();
  return {as_doubles(to_host(loss)), as_doubles(to_host(lse)), as_doubles(to_host(dz))};
}

template <class Space, class Scalar>
void check_forward(int rows, int V, int offset) {
  CAPTURE(rows, V, offset, sizeof(Scalar));
  const Problem p = random_problem(rows, V, offset, 21 + V);
  HostMatrix<Scalar> z("z", rows, V);
  fill_uniform(z, 22 + V, -4.0, 4.0);
  const auto got = run_soft<Space, Scalar>(z, p, 1.0, 0.0);
  std::vector<double> expected;
  reference_objective(as_doubles(z), p, 1.0, 0.0, &expected);
  // As cross_entropy's bound (V + 8 roundings of the sum), plus the q-weighted sum of 8 logits of
  // magnitude <= 4 with weights rounded to Scalar.
  const double u = std::numeric_limits<Scalar>::epsilon() / 2;
  int bad = 0;
  for (int n = 0; n < rows; ++n) bad += !(std::abs(got.loss[std::size_t(n)] - expected[std::size_t(n)]) <= 2 * u * (V + 8 + 8 * 4 * 4));
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("soft-target cross-entropy forward matches a plain double reference", "[cross_entropy][image]",
                        Spaces) {
  // The byte + image + specials vocabulary; image tokens at the very end; odd sizes.
  check_forward<TestType, double>(12, 773, 256);
  check_forward<TestType, float>(12, 773, 256);
  check_forward<TestType, double>(9, 515, 3);
  check_forward<TestType, float>(9, 515, 3);
  check_forward<TestType, double>(5, 512, 0);
  // No rows: nothing to score, no shape refused.
  check_forward<TestType, double>(0, 773, 256);
  check_forward<TestType, float>(0, 773, 256);
}

TEMPLATE_LIST_TEST_CASE("soft-target cross-entropy backward matches central finite differences",
                        "[cross_entropy][image]", Spaces) {
  const int rows = 4, V = 517, offset = 5;
  const double scale = 0.41;
  for (const double l2wrap : {0.0, 0.05}) {
    CAPTURE(l2wrap);
    const Problem p = random_problem(rows, V, offset, 31);
    HostMatrix<double> z("z", rows, V);
    fill_uniform(z, 32, -2.0, 2.0);
    for (int n = 0; n < rows; ++n) z(n, (97 * n + 300) % V) = 3.0;  // a clear maximum for L2Wrap
    auto zs = as_doubles(z);
    const double h = 1e-5;
    for (int n = 0; n < rows; ++n) {  // away from argmax ties
      std::vector<double> row(zs.begin() + std::ptrdiff_t(n) * V, zs.begin() + std::ptrdiff_t(n + 1) * V);
      std::sort(row.rbegin(), row.rend());
      REQUIRE(row[0] - row[1] > 100 * h);
    }
    const auto got = run_soft<TestType, double>(z, p, scale, l2wrap);
    auto f = [&]() { return reference_objective(zs, p, scale, l2wrap); };
    int bad = 0, soft_nonzero = 0;
    for (std::size_t i = 0; i < zs.size(); ++i) {
      const double fd = central_difference(&zs[i], h, f);
      if (!close(got.dz[i], fd, 1e-7, 1e-9)) {
        if (++bad <= 5) UNSCOPED_INFO("dz[" << i << "]: kernel " << got.dz[i] << ", finite difference " << fd);
      }
      // A soft row's gradient is negative on its several target tokens (q_v > p_v there).
      soft_nonzero += i / V == 1 && fd < -0.01 * scale;
    }
    CHECK(bad == 0);
    CHECK(soft_nonzero >= 2);
  }
}

TEMPLATE_LIST_TEST_CASE("soft targets on whole levels give the hard loss and gradient, bit for bit",
                        "[cross_entropy][image]", Spaces) {
  using Space = TestType;
  const int rows = 8, V = 773, offset = 256;
  Problem p = random_problem(rows, V, offset, 41);
  HostTargets hard("hard", rows);
  for (int n = 0; n < rows; ++n) {
    const int r = n % 8, g = (3 * n + 1) % 8, b = (5 * n + 7) % 8;  // 0 and 7 among them
    p.levels(n, 0) = float(r);
    p.levels(n, 1) = float(g);
    p.levels(n, 2) = float(b);
    hard(n) = offset + r * 64 + g * 8 + b;
  }
  HostMatrix<float> z("z", rows, V);
  fill_uniform(z, 42, -6.0, 6.0);
  const double scale = 1.0 / rows, l2wrap = 1e-4 / rows;
  const auto soft = run_soft<Space, float>(z, p, scale, l2wrap);
  Space space;
  const auto zd = to_device<Space>(z);
  const auto hd = to_device<Space>(hard);
  Vector<Space, float> loss("loss", rows), lse("lse", rows);
  cross_entropy_forward(space, loss, lse, zd, hd);
  Matrix<Space, float> dz("dz", rows, V);
  cross_entropy_backward(space, dz, zd, lse, hd, float(scale), float(l2wrap));
  space.fence();
  CHECK(soft.loss == as_doubles(to_host(loss)));
  CHECK(soft.lse == as_doubles(to_host(lse)));
  CHECK(soft.dz == as_doubles(to_host(dz)));
}

TEMPLATE_LIST_TEST_CASE("soft-target cross-entropy refuses levels and offsets that do not fit", "[cross_entropy][image]",
                        Spaces) {
  using Space = TestType;
  Space space;
  Matrix<Space, float> z("z", 3, 600), dz("dz", 3, 600);
  Vector<Space, float> loss("loss", 3), lse("lse", 3);
  Kokkos::View<int*, typename Space::memory_space> targets("targets", 3);
  Kokkos::View<float**, Kokkos::LayoutRight, typename Space::memory_space> levels("levels", 3, 3), short_levels("l", 2, 3);
  CHECK_THROWS_WITH(cross_entropy_soft_forward(space, loss, lse, z, targets, levels, 100),
                    Catch::Contains("image tokens 100..611") && Catch::Contains("vocabulary of 600"));
  CHECK_THROWS_WITH(cross_entropy_soft_backward(space, dz, z, lse, targets, short_levels, 0, 1.0f),
                    Catch::Contains("[2, 3]") && Catch::Contains("3 rows"));
  CHECK_NOTHROW(cross_entropy_soft_forward(space, loss, lse, z, targets, levels, 88));
}
