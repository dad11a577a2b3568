// Batches of the txt2img task: every image once an epoch, batch rows equal to the samples they
// hold, the fingerprint sensitive to every field, and the unigram baseline by hand.
#include <rwkv/image/quantize.hpp>
#include <rwkv/image/txt2img_batches.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>

namespace {

using namespace rwkv::image;

ImageDataset random_set(int n, unsigned seed) {
  std::mt19937 rng(seed);
  ImageDataset set;
  for (int i = 0; i < n; ++i) {
    RgbImage image(32, 32);
    for (auto& v : image.pixels) v = std::uint8_t(rng() % 256);
    set.images.push_back(image);
    set.captions.push_back("image " + std::to_string(i));
    set.heldout.push_back(i % 4 == 3 ? 1 : 0);
  }
  return set;
}

}  // namespace

TEST_CASE("SampleOrder takes every image once an epoch, in a seeded order", "[txt2img]") {
  for (const std::size_t n : {1, 2, 6, 97, 100, 3405}) {
    for (const std::uint64_t seed : {0, 1, 42}) {
      const SampleOrder order(n, seed);
      for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
        std::set<std::size_t> seen;
        for (std::uint64_t s = epoch * n; s < (epoch + 1) * n; ++s) {
          CHECK(order.epoch(s) == epoch);
          seen.insert(order.image(s));
        }
        CHECK(seen.size() == n);
        CHECK(*seen.rbegin() == n - 1);
      }
    }
  }
  const SampleOrder a(100, 1), b(100, 2);
  int same = 0;
  for (std::uint64_t s = 0; s < 100; ++s) same += a.image(s) == b.image(s);
  CHECK(same < 50);
  CHECK_THROWS_AS(SampleOrder(0, 1), std::invalid_argument);
}

TEST_CASE("fill_batch lays the run's samples side by side", "[txt2img]") {
  const ImageDataset set = random_set(10, 3);
  const auto train = split_indices(set, false), heldout = split_indices(set, true);
  REQUIRE(train.size() == 8);
  REQUIRE(heldout.size() == 2);
  SampleOptions options;
  options.caption_bytes = 16;
  options.seed = 9;
  const SampleOrder order(train.size(), options.seed);
  Txt2ImgBatch batch;
  fill_batch(batch, set, train, order, options, 5, 7);  // crosses into epoch 1
  REQUIRE(batch.rows == 7);
  REQUIRE(batch.T == sample_length(16));
  for (int r = 0; r < 7; ++r) {
    const std::uint64_t s = 5 + std::uint64_t(r);
    const std::size_t image = train[order.image(s)];
    const Sample expected = build_sample(set.images[image], set.captions[image], options, s, order.epoch(s));
    const std::size_t at = std::size_t(r) * std::size_t(batch.T);
    for (int t = 0; t < batch.T; ++t) {
      REQUIRE(batch.tokens[at + t] == expected.tokens[std::size_t(t)]);
      REQUIRE(batch.targets[at + t] == expected.targets[std::size_t(t)]);
      REQUIRE(batch.positions[at + t] == expected.positions[std::size_t(t)]);
      for (int c = 0; c < 3; ++c) REQUIRE(batch.soft_levels[3 * (at + t) + c] == expected.soft_levels[3 * std::size_t(t) + c]);
    }
  }
  options.rounding = Rounding::nearest;
  options.text_first_ratio = 1;
  fill_batch_of_images(batch, set, heldout, options, 0, 2);
  const Sample first = build_sample(set.images[heldout[0]], set.captions[heldout[0]], options, 123, 7);
  for (int t = 0; t < batch.T; ++t) REQUIRE(batch.tokens[std::size_t(t)] == first.tokens[std::size_t(t)]);
}

TEST_CASE("dataset_fingerprint changes with any pixel, caption or split flag", "[txt2img]") {
  ImageDataset set = random_set(3, 4);
  const auto base = dataset_fingerprint(set);
  CHECK(dataset_fingerprint(random_set(3, 4)) == base);
  set.images[2].pixels[100] ^= 1;
  CHECK(dataset_fingerprint(set) != base);
  set = random_set(3, 4);
  set.captions[0] += "!";
  CHECK(dataset_fingerprint(set) != base);
  set = random_set(3, 4);
  set.heldout[1] ^= 1;
  CHECK(dataset_fingerprint(set) != base);
}

TEST_CASE("unigram_bits_per_image_token is the smoothed cross-entropy of held-out pixels", "[txt2img]") {
  ImageDataset set;
  RgbImage white(32, 32), black(32, 32);
  for (auto& v : white.pixels) v = 255;
  set.images = {white, white, black};
  set.captions = {"a", "b", "c"};
  set.heldout = {0, 0, 1};
  // Train: 2048 pixels of colour 511; held out: 1024 of colour 0, counted once by smoothing.
  const double expected = -std::log2(1.0 / (2048.0 + 512.0));
  CHECK(unigram_bits_per_image_token(set, split_indices(set, false), split_indices(set, true)) ==
        Approx(expected).epsilon(1e-12));
  set.heldout = {1, 0, 0};  // held out: white, under counts 1024 white + 1024 black
  CHECK(unigram_bits_per_image_token(set, split_indices(set, false), split_indices(set, true)) ==
        Approx(-std::log2(1025.0 / 2560.0)).epsilon(1e-12));
  CHECK_THROWS_AS(unigram_bits_per_image_token(set, {0, 1, 2}, {}), std::invalid_argument);
}
