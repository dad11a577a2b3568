// The held-out evaluation of a txt2img model, as image-LM papers report it: bits per image token
// (and per sub-pixel, a third of it, as ImageGPT counts), the text twin of evaluate.hpp; its
// baseline is image::unigram_bits_per_image_token.
#pragma once

#include <rwkv/image/vocabulary.hpp>
#include <rwkv/txt2img_data.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace rwkv {

struct Txt2ImgHeldoutScore {
  double nats_per_image_token = 0;   // caption first: the image given its caption
  double nats_per_caption_byte = 0;  // image first: the caption given its image (End padding not counted)
  long images = 0;
};

// The model's loss on up to max_images held-out images (0: all), each sample built with nearest
// rounding, in both orders; hard targets. Batches of the model's training shape.
template <class ModelT>
Txt2ImgHeldoutScore evaluate_txt2img_heldout(ModelT& model, const Txt2ImgData& data, std::size_t max_images) {
  using namespace rwkv::image;
  const int B = model.shape().batch, T = model.shape().ctx_len;
  const std::size_t count = max_images > 0 && max_images < data.heldout.size() ? max_images : data.heldout.size();
  Txt2ImgHeldoutScore score;
  if (count == 0) return score;
  Txt2ImgViews<ModelT> views(B, T, false);
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

}  // namespace rwkv
