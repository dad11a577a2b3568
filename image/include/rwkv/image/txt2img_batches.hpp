// Training and evaluation batches for the txt2img task, built from an ImageDataset: which image
// each sample of a run takes, the batch arrays the model reads (tokens, targets, image positions,
// soft levels), the data set's fingerprint for resuming, and the unigram baseline of its pixels.
#pragma once

#include <rwkv/image/image_dataset.hpp>
#include <rwkv/image/sequence.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rwkv::image {

// The images of one split (indices into the data set): the training images, or the held-out ones.
std::vector<std::size_t> split_indices(const ImageDataset& set, bool heldout);

// Sample s of a run takes image (offset + s * stride) mod n of its split: every image once an epoch
// (stride is coprime with n), in an order fixed by the seed; epoch = s / n.
class SampleOrder {
 public:
  SampleOrder(std::size_t n, std::uint64_t seed);
  std::size_t image(std::uint64_t sample) const { return std::size_t((offset_ + sample % n_ * stride_) % n_); }
  std::uint64_t epoch(std::uint64_t sample) const { return sample / n_; }

 private:
  std::uint64_t n_, stride_, offset_;
};

// `rows` samples side by side, each sample_length(caption_bytes) positions: the arrays the model
// reads, row-major [rows, T] (soft_levels [rows, T, 3]).
struct Txt2ImgBatch {
  int rows = 0, T = 0;
  std::vector<std::int32_t> tokens, targets, positions;
  std::vector<float> soft_levels;
};

// Samples first .. first + rows - 1 of the run, images from `indices` through `order`.
void fill_batch(Txt2ImgBatch& batch, const ImageDataset& set, const std::vector<std::size_t>& indices,
                const SampleOrder& order, const SampleOptions& options, std::uint64_t first, int rows);

// Samples of the images indices[first ..] in that order, epoch 0 (evaluation: with nearest
// rounding and text_first_ratio 0 or 1 the batch does not depend on the seed).
void fill_batch_of_images(Txt2ImgBatch& batch, const ImageDataset& set, const std::vector<std::size_t>& indices,
                          const SampleOptions& options, std::size_t first, int rows);

// FNV-1a over the pixels and captions: a resumed run checks it trains on the same data.
std::uint64_t dataset_fingerprint(const ImageDataset& set);

// Cross-entropy in bits per image token of the held-out images' pixel tokens (nearest rounding)
// under the training images' pixel-token frequencies (add-one smoothed over the 512 colours): the
// baseline a model must beat.
double unigram_bits_per_image_token(const ImageDataset& set, const std::vector<std::size_t>& train,
                                    const std::vector<std::size_t>& heldout);

}  // namespace rwkv::image
