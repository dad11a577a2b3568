// The shared hashes against their published values, on the host and on every space, and the
// values the library's users of them produced before they shared them: checkpoints record these
// hashes and seeded runs replay these streams, so none of them may move.
#include "test_support.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/core/hash.hpp>
#include <rwkv/data.hpp>
#include <rwkv/image/image_dataset.hpp>
#include <rwkv/image/quantize.hpp>
#include <rwkv/image/txt2img_batches.hpp>
#include <rwkv/kernels/sampling.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>

namespace {

using namespace rwkv;
using namespace rwkv::test;

// SplitMix64's first outputs from seed 0, as its reference implementation prints them.
constexpr std::uint64_t splitmix64_seed0[] = {0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull, 0x06c45d188009454full,
                                              0xf88bb8a8724c81ecull, 0x1b39896a51a8749bull};

}  // namespace

TEST_CASE("fnv1a64 gives FNV-1a's published values and hashes pieces as their concatenation", "[hash]") {
  CHECK(fnv1a64(bytes_of("")) == 0xcbf29ce484222325ull);
  CHECK(fnv1a64(bytes_of("")) == fnv1a64_offset_basis);
  CHECK(fnv1a64(bytes_of("a")) == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64(bytes_of("foobar")) == 0x85944171f73967e8ull);
  CHECK(fnv1a64(bytes_of("bar"), fnv1a64(bytes_of("foo"))) == fnv1a64(bytes_of("foobar")));
  const std::uint8_t bytes[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  CHECK(fnv1a64(std::as_bytes(std::span(bytes))) == fnv1a64(bytes_of("foobar")));
}

TEST_CASE("splitmix64 gives SplitMix64's published outputs from seed 0", "[hash]") {
  for (std::uint64_t n = 1; n <= 5; ++n) {
    CAPTURE(n);
    CHECK(splitmix64(0, n) == splitmix64_seed0[n - 1]);
  }
  CHECK(mix64(0) == splitmix64_seed0[0]);
  // Output n + 1 of a seed is output n of the seed one increment further.
  CHECK(splitmix64(12345, 2) == splitmix64(12345 + splitmix64_increment, 1));
  STATIC_REQUIRE(mix64(0) == 0xe220a8397b1dcdafull);
}

TEMPLATE_LIST_TEST_CASE("splitmix64 gives the same outputs in device code", "[hash]", Spaces) {
  using Space = TestType;
  Kokkos::View<std::uint64_t*, typename Space::memory_space> outputs("outputs", 5);
  Kokkos::parallel_for(
      "test::splitmix64", Kokkos::RangePolicy<Space>(Space(), 0, 5),
      KOKKOS_LAMBDA(int i) { outputs(i) = splitmix64(0, std::uint64_t(i) + 1); });
  Space().fence();
  const auto got = to_host(outputs);
  int wrong = 0;
  for (int i = 0; i < 5; ++i) wrong += got(i) != splitmix64_seed0[i];
  CHECK(wrong == 0);
}

// Values computed by each place's own copy of the hash before they called the shared one.
TEST_CASE("the hashes' users give the values they gave before sharing them", "[hash]") {
  // A checkpoint's data hash: two little-endian bytes per token.
  const std::uint16_t tokens[] = {0x0001, 0x0102, 0xffff};
  CHECK(token_hash(tokens, 3) == 0x448594d7ed7fc247ull);
  CHECK(token_hash(tokens, 0) == fnv1a64_offset_basis);

  // Sampling's uniforms.
  UniformStream stream(7);
  CHECK(stream.next() == 0x1.8f2f879164c82p-2);
  CHECK(stream.next() == 0x1.130f35fd0f180p-6);
  CHECK(stream.next() == 0x1.cd30810175625p-1);

  // The training data's window offset.
  const WindowSampler sampler(std::size_t(1) << 40, 1, 12345);
  CHECK(sampler.offset() == 0x22118258a9d111a0ull % sampler.prime());

  // RandRound's uniforms.
  CHECK(image::rand_round_uniform(image::RandRoundKey{3, 5, 2}, 11) == 0x1.0f77dd2e907c0p-1);

  // The held-out split: "a red car" sits at exactly this fraction (in percent).
  const double caption_percent = 0x1.4dd2bb058fef6p+6;
  CHECK_FALSE(image::is_heldout("a red car", caption_percent));
  CHECK(image::is_heldout("a red car", std::nextafter(caption_percent, 100.0)));

  // An image set's fingerprint: pixels, captions with their terminating zero, heldout flags.
  image::ImageDataset set;
  for (int k = 0; k < 2; ++k) {
    image::RgbImage picture(32, 32);
    for (std::size_t i = 0; i < picture.pixels.size(); ++i) picture.pixels[i] = std::uint8_t((i * 7 + std::size_t(k)) % 256);
    set.images.push_back(picture);
    set.captions.push_back(k == 0 ? "red" : "a blue square");
    set.heldout.push_back(std::uint8_t(k));
  }
  CHECK(image::dataset_fingerprint(set) == 0xa4a72e544b1a7bd3ull);
}
