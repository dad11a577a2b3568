// The 2D position channels of image tokens added to embeddings: exact for every one of the 1024
// positions, rows without a position and channels past 66 untouched.
#include "test_support.hpp"

#include <rwkv/kernels/position_channels.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using HostPositions = Kokkos::View<int*, Kokkos::HostSpace>;

// Rows 0..1023 hold the positions in a shuffled order; every fifth row of the rest has position
// -1, the others repeat random positions.
HostPositions shuffled_positions(int rows, std::uint64_t seed) {
  std::vector<int> all(position_count);
  for (int p = 0; p < position_count; ++p) all[std::size_t(p)] = p;
  std::mt19937_64 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  HostPositions positions("positions", rows);
  for (int n = 0; n < rows; ++n)
    positions(n) = n < position_count ? all[std::size_t(n)] : n % 5 == 0 ? -1 : int(rng() % position_count);
  return positions;
}

template <class Space, class Scalar>
void check_positions(int C) {
  CAPTURE(C);
  const int rows = position_count + 101;
  HostMatrix<Scalar> x("x", rows, C);
  fill_uniform(x, 3 + C);
  const auto positions = shuffled_positions(rows, 4 + C);
  Space space;
  const auto xd = to_device<Space>(x);
  position_channels_forward(space, xd, to_device<Space>(positions));
  space.fence();
  const auto got = to_host(xd);
  int bad = 0, changed = 0;
  for (int n = 0; n < rows; ++n)
    for (int c = 0; c < C; ++c) {
      const int p = positions(n);
      // The same one addition in Scalar as the kernel: exact equality.
      const Scalar expected =
          p >= 0 && c < position_channel_count ? Scalar(x(n, c) + Scalar(position_channel(p, c))) : x(n, c);
      bad += got(n, c) != expected;
      changed += got(n, c) != x(n, c);
    }
  CHECK(bad == 0);
  // Each positioned row gains its two one-hot channels, and x/31, y/31 unless they are 0.
  CHECK(changed > 2 * position_count);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("position_channels_forward adds the channels of all 1024 positions exactly", "[image][position]",
                        Spaces) {
  for (const int C : {66, 67, 130}) {
    check_positions<TestType, float>(C);
    check_positions<TestType, double>(C);
  }
}

TEMPLATE_LIST_TEST_CASE("position_channels_forward on rows without a position changes nothing", "[image][position]",
                        Spaces) {
  using Space = TestType;
  for (const int rows : {7, 0}) {  // and no rows: nothing to do
    CAPTURE(rows);
    HostMatrix<float> x("x", rows, 70);
    fill_uniform(x, 9);
    HostPositions none("none", rows);
    Kokkos::deep_copy(none, -1);
    Space space;
    const auto xd = to_device<Space>(x);
    position_channels_forward(space, xd, to_device<Space>(none));
    space.fence();
    const auto got = to_host(xd);
    int differ = 0;
    for (int n = 0; n < rows; ++n)
      for (int c = 0; c < 70; ++c) differ += got(n, c) != x(n, c);
    CHECK(differ == 0);
  }
}

TEST_CASE("position_channel gives the one-hot and ramp channels of all 1024 positions", "[image][position]") {
  for (int p = 0; p < position_count; ++p) {
    const int x = p % 32, y = p / 32;
    for (int c = 0; c < 80; ++c) {
      float expected = 0;
      if (c == x || c == 32 + y) expected = 1;
      if (c == 64) expected = float(x) / 31.0f;
      if (c == 65) expected = float(y) / 31.0f;
      INFO("position " << p << " channel " << c);
      REQUIRE(position_channel(p, c) == expected);
    }
  }
  CHECK(position_channel(1023, 64) == 1.0f);
  CHECK(position_channel(1023, 65) == 1.0f);
  STATIC_REQUIRE(position_channel_count == 66);
}
