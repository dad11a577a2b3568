#include <rwkv/txt2img_generate.hpp>

#include <rwkv/checkpoint.hpp>
#include <rwkv/image/quantize.hpp>
#include <rwkv/image/vocabulary.hpp>
#include <rwkv/kernels/token_mask.hpp>

#include <stdexcept>
#include <utility>

namespace rwkv {

namespace vocab = image::vocab;

void require_txt2img_vocabulary(const ModelConfig& config) {
  if (config.vocab_size != vocab::size)
    throw std::invalid_argument("vocab_size is " + std::to_string(config.vocab_size) + ", not the " +
                                std::to_string(vocab::size) +
                                " tokens of a txt2img model (256 bytes, 512 image tokens, 5 special tokens)");
}

ModelConfig read_txt2img_config(const std::string& checkpoint, int& caption_bytes) {
  const ModelConfig config = read_config(checkpoint);
  try {
    require_txt2img_vocabulary(config);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(checkpoint + ": " + e.what());
  }
  if (caption_bytes <= 0) {
    caption_bytes = image::default_caption_bytes;
    if (has_training_state(checkpoint)) {
      const TrainingState state = read_training_state(checkpoint);
      if (state.task == "txt2img") caption_bytes = state.caption_bytes;
    }
  }
  return config;
}

std::vector<int> image_prompt(std::string_view caption, int caption_bytes) {
  const std::string fitted = image::fit_caption(caption, caption_bytes);
  std::vector<int> tokens{vocab::TxtFirst};
  for (const char c : fitted) tokens.push_back(int(static_cast<unsigned char>(c)));
  tokens.resize(std::size_t(caption_bytes) + 1, vocab::End);
  tokens.push_back(vocab::Img);
  return tokens;
}

std::vector<int> caption_prompt(const image::RgbImage& image) {
  if (image.width != image::image_side || image.height != image::image_side)
    throw std::invalid_argument("caption_prompt: the image is " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + ", not 32x32");
  std::vector<int> tokens{vocab::ImgFirst};
  for (const std::uint16_t pixel : image::quantize_image(image, image::Rounding::nearest))
    tokens.push_back(vocab::image_token(pixel));
  tokens.push_back(vocab::Txt);
  return tokens;
}

namespace {

// Positions of a prompt: the raster index of its image tokens in order, -1 for the others.
std::vector<int> prompt_positions(const std::vector<int>& tokens) {
  std::vector<int> positions;
  int next = 0;
  for (const int t : tokens) positions.push_back(vocab::is_image_token(t) ? next++ : -1);
  return positions;
}

template <class View>
View device_copy(const std::vector<int>& host, const char* label) {
  View d(std::string(label), host.size());
  Kokkos::deep_copy(d, Kokkos::View<const int*, Kokkos::HostSpace>(host.data(), host.size()));
  return d;
}

// Slot s of `state` after prompts[s], and its last logits in row s of the result [S, V].
template <class M>
auto prefill_slots(M& model, const typename M::State& state, const std::vector<std::vector<int>>& prompts) {
  const auto& space = model.space();
  const int S = int(prompts.size());
  Matrix<typename M::execution_space, typename M::scalar_type> logits("rwkv::txt2img::logits", S,
                                                                     model.config().vocab_size);
  for (int s = 0; s < S; ++s) {
    if (s > 0 && prompts[std::size_t(s)] == prompts[std::size_t(s) - 1]) {
      state.copy_slot(space, s, state, s - 1);
      Kokkos::deep_copy(space, Kokkos::subview(logits, s, Kokkos::ALL), Kokkos::subview(logits, s - 1, Kokkos::ALL));
      continue;
    }
    const auto& prompt = prompts[std::size_t(s)];
    const auto one = model.new_state();
    const auto last = model.infer(device_copy<typename M::TokenView>(prompt, "rwkv::txt2img::prompt"),
                                  int(prompt.size()), one, false,
                                  device_copy<typename M::PositionView>(prompt_positions(prompt),
                                                                        "rwkv::txt2img::positions"));
    state.copy_slot(space, s, one, 0);
    Kokkos::deep_copy(space, Kokkos::subview(logits, s, Kokkos::ALL), Kokkos::subview(last, 0, Kokkos::ALL));
  }
  space.fence();
  return logits;
}

// Feeds tokens[s] at positions[s] to every slot; the logits [S, V] of the next tokens.
template <class M>
class SlotStepper {
 public:
  SlotStepper(M& model, const typename M::State& state)
      : model_(model),
        state_(state),
        tokens_("rwkv::txt2img::tokens", state.slots()),
        positions_("rwkv::txt2img::positions", state.slots()),
        tokens_host_(Kokkos::create_mirror_view(tokens_)),
        positions_host_(Kokkos::create_mirror_view(positions_)) {}

  auto step(const std::vector<int>& tokens, int position) {
    for (std::size_t s = 0; s < tokens.size(); ++s) {
      tokens_host_(s) = tokens[s];
      positions_host_(s) = position;
    }
    Kokkos::deep_copy(model_.space(), tokens_, tokens_host_);
    Kokkos::deep_copy(model_.space(), positions_, positions_host_);
    return model_.infer(tokens_, 1, state_, false, positions_);
  }

 private:
  M& model_;
  typename M::State state_;
  typename M::TokenView tokens_;
  typename M::PositionView positions_;
  typename M::TokenView::host_mirror_type tokens_host_;
  typename M::PositionView::host_mirror_type positions_host_;
};

}  // namespace

template <class Version, class ExecSpace, class Scalar>
std::vector<std::vector<int>> generate_images(Model<Version, ExecSpace, Scalar>& model, std::span<const std::string> captions,
                                              const Txt2ImgOptions& options, const Txt2ImgProgress& progress) {
  require_txt2img_vocabulary(model.config());
  const int S = int(captions.size());
  if (S == 0) return {};
  std::vector<std::vector<int>> prompts;
  for (const auto& caption : captions) prompts.push_back(image_prompt(caption, options.caption_bytes));
  const auto state = model.new_state(S);
  Matrix<ExecSpace, Scalar> logits = prefill_slots(model, state, prompts);
  Sampler<ExecSpace, Scalar> sampler(model.space(), vocab::size, options.sampling, options.seed, S);
  SlotStepper<Model<Version, ExecSpace, Scalar>> stepper(model, state);
  std::vector<std::vector<int>> images(static_cast<std::size_t>(S));
  for (int p = 0; p < image::image_tokens; ++p) {
    keep_tokens(model.space(), logits, vocab::image_first, vocab::image_last + 1);
    const std::vector<int> drawn = sampler.sample_batch(logits);
    for (int s = 0; s < S; ++s) images[std::size_t(s)].push_back(drawn[std::size_t(s)]);
    if (p + 1 < image::image_tokens) logits = stepper.step(drawn, p);
    if (progress) progress(p + 1, image::image_tokens);
  }
  return images;
}

template <class Version, class ExecSpace, class Scalar>
std::vector<std::string> generate_captions(Model<Version, ExecSpace, Scalar>& model,
                                           std::span<const image::RgbImage> images, const Txt2ImgOptions& options,
                                           const Txt2ImgProgress& progress) {
  require_txt2img_vocabulary(model.config());
  if (options.caption_bytes < 1)
    throw std::invalid_argument("caption_bytes must be positive, got " + std::to_string(options.caption_bytes));
  const int S = int(images.size());
  if (S == 0) return {};
  std::vector<std::vector<int>> prompts;
  for (const auto& image : images) prompts.push_back(caption_prompt(image));
  const auto state = model.new_state(S);
  Matrix<ExecSpace, Scalar> logits = prefill_slots(model, state, prompts);
  Sampler<ExecSpace, Scalar> sampler(model.space(), vocab::size, options.sampling, options.seed, S);
  SlotStepper<Model<Version, ExecSpace, Scalar>> stepper(model, state);
  std::vector<std::string> captions(static_cast<std::size_t>(S));
  std::vector<bool> done(static_cast<std::size_t>(S), false);
  int open = S;
  for (int i = 0; i < options.caption_bytes && open > 0; ++i) {
    keep_tokens(model.space(), logits, 0, vocab::byte_tokens, vocab::End);
    const std::vector<int> drawn = sampler.sample_batch(logits);
    for (std::size_t s = 0; s < std::size_t(S); ++s) {
      if (done[s]) continue;
      if (drawn[s] == vocab::End) {
        done[s] = true;
      } else {
        captions[s] += char(drawn[s]);
        done[s] = int(captions[s].size()) == options.caption_bytes;
      }
      open -= done[s] ? 1 : 0;
    }
    if (open > 0) logits = stepper.step(drawn, -1);
    if (progress) progress(i + 1, options.caption_bytes);
  }
  return captions;
}

#define RWKV_TXT2IMG_GENERATE_DEFINE_VERSION(VERSION, SPACE, SCALAR) \
  RWKV_TXT2IMG_GENERATE_INSTANTIATE(, VERSION, SPACE, SCALAR)
#define RWKV_TXT2IMG_GENERATE_DEFINE(SPACE, SCALAR) \
  RWKV_FOR_EACH_VERSION(RWKV_TXT2IMG_GENERATE_DEFINE_VERSION, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TXT2IMG_GENERATE_DEFINE)

}  // namespace rwkv
