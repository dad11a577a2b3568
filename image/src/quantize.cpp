#include <rwkv/image/quantize.hpp>

#include <rwkv/core/hash.hpp>

#include <stdexcept>
#include <string>

namespace rwkv::image {
double rand_round_uniform(const RandRoundKey& key, std::uint64_t value_index) {
  const std::uint64_t h = mix64(mix64(mix64(mix64(key.seed) ^ key.sample) ^ key.epoch) ^ value_index);
  return double(h >> 11) * 0x1.0p-53;
}

std::vector<std::uint16_t> quantize_image(const RgbImage& image, Rounding rounding, const RandRoundKey& key) {
  const std::size_t n_pixels = std::size_t(image.width) * std::size_t(image.height);
  if (image.width <= 0 || image.height <= 0 || image.pixels.size() != n_pixels * 3)
    throw std::invalid_argument("quantize_image: an image of " + std::to_string(image.width) + " x " +
                                std::to_string(image.height) + " pixels holding " +
                                std::to_string(image.pixels.size()) + " bytes");
  std::vector<std::uint16_t> tokens(n_pixels);
  for (std::size_t p = 0; p < n_pixels; ++p) {
    int levels[3];
    for (int c = 0; c < 3; ++c) {
      const float level = channel_level(image.pixels[3 * p + c]);
      levels[c] = rounding == Rounding::nearest ? int(std::lround(level))
                                                : rand_round(level, rand_round_uniform(key, 3 * p + std::size_t(c)));
    }
    tokens[p] = std::uint16_t(pixel_token(levels[0], levels[1], levels[2]));
  }
  return tokens;
}

RgbImage dequantize_image(std::span<const std::uint16_t> tokens, int width, int height) {
  if (width <= 0 || height <= 0 || tokens.size() != std::size_t(width) * std::size_t(height))
    throw std::invalid_argument("dequantize_image: " + std::to_string(tokens.size()) + " tokens for " +
                                std::to_string(width) + " x " + std::to_string(height) + " pixels");
  RgbImage image(width, height);
  for (std::size_t p = 0; p < tokens.size(); ++p) {
    if (tokens[p] >= pixel_tokens)
      throw std::invalid_argument("dequantize_image: token " + std::to_string(tokens[p]) + " at pixel " +
                                  std::to_string(p) + " is not an image token (0.." +
                                  std::to_string(pixel_tokens - 1) + ")");
    const auto levels = token_levels(tokens[p]);
    for (int c = 0; c < 3; ++c) image.pixels[3 * p + std::size_t(c)] = level_value(levels[std::size_t(c)]);
  }
  return image;
}

}  // namespace rwkv::image
