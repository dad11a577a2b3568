#include <rwkv/image/sequence.hpp>
#include <rwkv/image/vocabulary.hpp>

#include <algorithm>
#include <stdexcept>

namespace rwkv::image {
namespace {

// The RandRound value index of the order draw: beyond any pixel's (3 * 1024), so the draw is
// independent of the sample's pixel roundings.
constexpr std::uint64_t order_draw = ~std::uint64_t(0);

bool is_utf8_continuation(char byte) { return (static_cast<unsigned char>(byte) & 0xC0) == 0x80; }

}  // namespace

std::string fit_caption(std::string_view caption, int caption_bytes) {
  if (caption_bytes < 1) throw std::invalid_argument("caption_bytes must be at least 1, not " + std::to_string(caption_bytes));
  std::size_t length = std::min(caption.size(), std::size_t(caption_bytes));
  if (length < caption.size())
    while (length > 0 && is_utf8_continuation(caption[length])) --length;
  return std::string(caption.substr(0, length));
}

bool text_first(const SampleOptions& options, std::uint64_t sample, std::uint64_t epoch) {
  if (!(options.text_first_ratio >= 0.0 && options.text_first_ratio <= 1.0))
    throw std::invalid_argument("text_first_ratio must be in [0, 1], not " + std::to_string(options.text_first_ratio));
  return rand_round_uniform({options.seed, sample, epoch}, order_draw) < options.text_first_ratio;
}

Sample build_sample(const RgbImage& image, std::string_view caption, const SampleOptions& options,
                    std::uint64_t sample, std::uint64_t epoch) {
  if (image.width != image_side || image.height != image_side)
    throw std::invalid_argument("build_sample: a " + std::to_string(image.width) + " x " + std::to_string(image.height) +
                                " image, expected " + std::to_string(image_side) + " x " + std::to_string(image_side));
  const std::string text = fit_caption(caption, options.caption_bytes);
  const auto pixels = quantize_image(image, options.rounding, {options.seed, sample, epoch});

  Sample s;
  s.text_first = text_first(options, sample, epoch);
  const int length = sample_length(options.caption_bytes);
  std::vector<std::int32_t> sequence;  // T + 1 tokens
  std::vector<std::int32_t> position;  // raster index of each image token, else -1
  sequence.reserve(std::size_t(length) + 1);
  position.reserve(std::size_t(length) + 1);
  const auto put = [&](int token, int raster) {
    sequence.push_back(token);
    position.push_back(raster);
  };
  const auto put_caption = [&] {
    for (int i = 0; i < options.caption_bytes; ++i)
      put(std::size_t(i) < text.size() ? static_cast<unsigned char>(text[std::size_t(i)]) : vocab::End, -1);
  };
  const auto put_image = [&] {
    for (int p = 0; p < image_tokens; ++p) put(vocab::image_token(pixels[std::size_t(p)]), p);
  };
  if (s.text_first) {
    put(vocab::TxtFirst, -1);
    put_caption();
    put(vocab::Img, -1);
    put_image();
  } else {
    put(vocab::ImgFirst, -1);
    put_image();
    put(vocab::Txt, -1);
    put_caption();
  }
  put(vocab::End, -1);

  s.tokens.assign(sequence.begin(), sequence.end() - 1);
  s.targets.assign(sequence.begin() + 1, sequence.end());
  s.positions.assign(position.begin(), position.end() - 1);
  s.soft_levels.assign(3 * std::size_t(length), -1.0f);
  for (int t = 0; t < length; ++t) {
    const int raster = position[std::size_t(t) + 1];
    if (raster < 0) continue;
    for (int c = 0; c < 3; ++c)
      s.soft_levels[3 * std::size_t(t) + std::size_t(c)] = channel_level(image.pixels[3 * std::size_t(raster) + std::size_t(c)]);
  }
  return s;
}

RgbImage decode_image_tokens(std::span<const std::int32_t> tokens) {
  if (tokens.size() != std::size_t(image_tokens))
    throw std::invalid_argument("decode_image_tokens: " + std::to_string(tokens.size()) + " tokens, expected " +
                                std::to_string(image_tokens));
  std::vector<std::uint16_t> pixels(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!vocab::is_image_token(tokens[i]))
      throw std::invalid_argument("decode_image_tokens: token " + std::to_string(tokens[i]) + " at index " +
                                  std::to_string(i) + " is not an image token (" + std::to_string(vocab::image_first) +
                                  ".." + std::to_string(vocab::image_last) + ")");
    pixels[i] = std::uint16_t(vocab::pixel_of(tokens[i]));
  }
  return dequantize_image(pixels, image_side, image_side);
}

std::string caption_of(std::span<const std::int32_t> tokens) {
  const auto marker = std::find_if(tokens.begin(), tokens.end(),
                                   [](std::int32_t t) { return t == vocab::TxtFirst || t == vocab::Txt; });
  if (marker == tokens.end()) throw std::invalid_argument("caption_of: the tokens hold no TxtFirst or Txt token");
  std::string caption;
  for (auto t = marker + 1; t != tokens.end() && vocab::is_byte_token(*t); ++t) caption.push_back(char(*t));
  return caption;
}

}  // namespace rwkv::image
