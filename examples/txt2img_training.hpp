// rwkv-train's txt2img task: an image data set's samples as training batches, and the held-out
// evaluation image-LM papers report: bits per image token (and per sub-pixel, a third of it, as
// ImageGPT counts), against the unigram baseline of the quantized pixels.
#pragma once

#include <rwkv/image/image_dataset.hpp>
#include <rwkv/image/txt2img_batches.hpp>
#include <rwkv/image/vocabulary.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace txt2img {

struct Data {
  rwkv::image::ImageDataset set;
  std::vector<std::size_t> train, heldout;
  rwkv::image::SampleOptions options;
  rwkv::image::SampleOrder order;
  rwkv::image::Txt2ImgBatch batch;  // this rank's samples of the step
};

inline Data load_data(const std::string& path, const rwkv::image::SampleOptions& options) {
  rwkv::image::ImageDataset set = rwkv::image::read_image_dataset(path);
  auto train = rwkv::image::split_indices(set, false), heldout = rwkv::image::split_indices(set, true);
  if (train.empty()) throw std::runtime_error(path + ": no training images (all " + std::to_string(set.size()) + " are held out)");
  rwkv::image::SampleOrder order(train.size(), options.seed);
  return Data{std::move(set), std::move(train), std::move(heldout), options, order, {}};
}

// The device views a training step reads, for the rows of a batch.
template <class ModelT>
struct StepViews {
  typename ModelT::TokenView tokens, targets;
  typename ModelT::PositionView positions;
  typename ModelT::LevelView soft_levels;  // empty without soft targets

  StepViews(int rows, int T, bool soft)
      : tokens("txt2img_tokens", std::size_t(rows) * T), targets("txt2img_targets", std::size_t(rows) * T),
        positions("txt2img_positions", std::size_t(rows) * T),
        soft_levels("txt2img_soft_levels", soft ? std::size_t(rows) * T : 0, 3) {}

  // `batch` (as many rows as the views hold) to the device.
  void load(const rwkv::image::Txt2ImgBatch& batch) {
    const std::size_t n = tokens.extent(0);
    using Host = Kokkos::View<const int*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    Kokkos::deep_copy(tokens, Host(batch.tokens.data(), n));
    Kokkos::deep_copy(targets, Host(batch.targets.data(), n));
    Kokkos::deep_copy(positions, Host(batch.positions.data(), n));
    if (soft_levels.extent(0) > 0)
      Kokkos::deep_copy(soft_levels, Kokkos::View<const float**, Kokkos::LayoutRight, Kokkos::HostSpace,
                                                  Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                         batch.soft_levels.data(), n, 3));
  }
};

struct HeldoutScore {
  double nats_per_image_token = 0;  // caption first: the image given its caption
  double nats_per_caption_byte = 0;  // image first: the caption given its image (End padding not counted)
  long images = 0;
};

// The model's loss on up to max_images held-out images (0: all), each sample built with nearest
// rounding, in both orders; hard targets. Batches of the model's training shape.
template <class ModelT>
HeldoutScore evaluate_heldout(ModelT& model, const Data& data, std::size_t max_images) {
  using namespace rwkv::image;
  const int B = model.shape().batch, T = model.shape().ctx_len;
  const std::size_t count = max_images > 0 && max_images < data.heldout.size() ? max_images : data.heldout.size();
  HeldoutScore score;
  if (count == 0) return score;
  StepViews<ModelT> views(B, T, false);
  Txt2ImgBatch batch;
  double image_nats = 0, caption_nats = 0;
  long image_rows = 0, caption_rows = 0;
  for (const bool text_first : {true, false}) {
    SampleOptions options = data.options;
    options.rounding = Rounding::nearest;
    options.text_first_ratio = text_first ? 1 : 0;
    for (std::size_t first = 0; first < count; first += std::size_t(B)) {
      const int real = int(std::min<std::size_t>(std::size_t(B), count - first));
      // A short last batch repeats its first image in the spare rows, which are not counted.
      std::vector<std::size_t> images(data.heldout.begin() + first, data.heldout.begin() + first + real);
      images.resize(std::size_t(B), images.front());
      fill_batch_of_images(batch, data.set, images, options, 0, B);
      views.load(batch);
      model.forward(views.tokens, views.targets, views.positions);
      const auto losses = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.row_losses());
      for (std::size_t i = 0; i < std::size_t(real) * std::size_t(T); ++i) {
        const int target = batch.targets[i];
        if (text_first && vocab::is_image_token(target)) {
          image_nats += losses(i);
          ++image_rows;
        } else if (!text_first && vocab::is_byte_token(target)) {
          caption_nats += losses(i);
          ++caption_rows;
        }
      }
    }
  }
  score.nats_per_image_token = image_nats / double(image_rows);
  score.nats_per_caption_byte = caption_rows > 0 ? caption_nats / double(caption_rows) : 0;
  score.images = long(count);
  return score;
}

}  // namespace txt2img
