#include <rwkv/image/txt2img_batches.hpp>

#include <rwkv/core/hash.hpp>
#include <rwkv/image/quantize.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace rwkv::image {

std::vector<std::size_t> split_indices(const ImageDataset& set, bool heldout) {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < set.size(); ++i)
    if (bool(set.heldout[i]) == heldout) indices.push_back(i);
  return indices;
}

SampleOrder::SampleOrder(std::size_t n, std::uint64_t seed) : n_(n) {
  if (n == 0) throw std::invalid_argument("no images to sample from");
  // A stride near n times the golden ratio's fraction spreads consecutive samples; the first
  // coprime with n from there.
  std::uint64_t stride = std::max<std::uint64_t>(1, std::uint64_t(double(n) * 0.6180339887498949)) + mix64(seed) % 7;
  while (std::gcd(stride % n_, n_) != 1) ++stride;
  stride_ = stride % n_;
  offset_ = mix64(seed ^ 0x5851f42d4c957f2dull) % n_;
}

namespace {

void put_sample(Txt2ImgBatch& batch, int row, const Sample& s) {
  const std::size_t at = std::size_t(row) * std::size_t(batch.T);
  std::copy(s.tokens.begin(), s.tokens.end(), batch.tokens.begin() + at);
  std::copy(s.targets.begin(), s.targets.end(), batch.targets.begin() + at);
  std::copy(s.positions.begin(), s.positions.end(), batch.positions.begin() + at);
  std::copy(s.soft_levels.begin(), s.soft_levels.end(), batch.soft_levels.begin() + 3 * at);
}

void shape(Txt2ImgBatch& batch, const SampleOptions& options, int rows) {
  batch.rows = rows;
  batch.T = sample_length(options.caption_bytes);
  const std::size_t n = std::size_t(rows) * std::size_t(batch.T);
  batch.tokens.resize(n);
  batch.targets.resize(n);
  batch.positions.resize(n);
  batch.soft_levels.resize(3 * n);
}

}  // namespace

void fill_batch(Txt2ImgBatch& batch, const ImageDataset& set, const std::vector<std::size_t>& indices,
                const SampleOrder& order, const SampleOptions& options, std::uint64_t first, int rows) {
  shape(batch, options, rows);
  for (int r = 0; r < rows; ++r) {
    const std::uint64_t sample = first + std::uint64_t(r);
    const std::size_t image = indices.at(order.image(sample));
    put_sample(batch, r, build_sample(set.images[image], set.captions[image], options, sample, order.epoch(sample)));
  }
}

void fill_batch_of_images(Txt2ImgBatch& batch, const ImageDataset& set, const std::vector<std::size_t>& indices,
                          const SampleOptions& options, std::size_t first, int rows) {
  shape(batch, options, rows);
  for (int r = 0; r < rows; ++r) {
    const std::size_t image = indices.at(first + std::size_t(r));
    put_sample(batch, r, build_sample(set.images[image], set.captions[image], options, image, 0));
  }
}

std::uint64_t dataset_fingerprint(const ImageDataset& set) {
  std::uint64_t hash = fnv1a64_offset_basis;
  for (std::size_t i = 0; i < set.size(); ++i) {
    hash = fnv1a64(std::as_bytes(std::span(set.images[i].pixels)), hash);
    hash = fnv1a64(bytes_of({set.captions[i].c_str(), set.captions[i].size() + 1}), hash);  // with its terminating zero
    hash = fnv1a64(std::as_bytes(std::span(&set.heldout[i], 1)), hash);
  }
  return hash;
}

double unigram_bits_per_image_token(const ImageDataset& set, const std::vector<std::size_t>& train,
                                    const std::vector<std::size_t>& heldout) {
  if (heldout.empty()) throw std::invalid_argument("no held-out images for the unigram baseline");
  std::array<double, 512> counts;
  counts.fill(1.0);
  double total = 512;
  for (const std::size_t i : train)
    for (const int token : quantize_image(set.images[i], Rounding::nearest)) {
      counts[std::size_t(token)] += 1;
      total += 1;
    }
  double bits = 0, n = 0;
  for (const std::size_t i : heldout)
    for (const int token : quantize_image(set.images[i], Rounding::nearest)) {
      bits -= std::log2(counts[std::size_t(token)] / total);
      n += 1;
    }
  return bits / n;
}

}  // namespace rwkv::image
