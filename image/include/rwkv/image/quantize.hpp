// Image tokens: each channel quantized to 8 levels, a pixel to one of 8 * 8 * 8 = 512 tokens, a
// 32x32 image to 1024 tokens in raster order (row by row, left to right).
//   level of a value v in 0..255: v / 255 * 7, a float in [0, 7]
//   token = r * 64 + g * 8 + b for integer levels r, g, b
//   value of a level l: round(l * 255 / 7)  (0, 36, 73, 109, 146, 182, 219, 255)
// Integer levels come from plain rounding (to nearest) or RandRound: a level of 4.578 becomes 5
// with probability 0.578, else 4, so the expected level is the float level. Its uniform numbers
// are a hash of (seed, sample, epoch, value index), not a stream: a run is reproducible whatever
// order, or on whichever thread, samples are drawn.
#pragma once

#include <rwkv/image/rgb_image.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace rwkv::image {

inline constexpr int channel_levels = 8;
inline constexpr int pixel_tokens = channel_levels * channel_levels * channel_levels;  // 512

inline float channel_level(std::uint8_t value) { return float(value) / 255.0f * float(channel_levels - 1); }

inline std::uint8_t level_value(int level) {
  return std::uint8_t(std::lround(double(level) * 255.0 / double(channel_levels - 1)));
}

inline int pixel_token(int r, int g, int b) { return (r * channel_levels + g) * channel_levels + b; }

inline std::array<int, 3> token_levels(int token) {
  return {token / (channel_levels * channel_levels), token / channel_levels % channel_levels, token % channel_levels};
}

// Which draw a RandRound is: value index = pixel index * 3 + channel within an image.
struct RandRoundKey {
  std::uint64_t seed = 0;
  std::uint64_t sample = 0;
  std::uint64_t epoch = 0;
};

// Uniform in [0, 1) (53 bits), a pure function of key and value index.
double rand_round_uniform(const RandRoundKey& key, std::uint64_t value_index);

// floor(level) + 1 when u < level - floor(level), else floor(level).
inline int rand_round(float level, double u) {
  const float floor_level = std::floor(level);
  return int(floor_level) + (u < double(level - floor_level) ? 1 : 0);
}

enum class Rounding { nearest, random };

// One token per pixel, raster order. key is used only for Rounding::random.
std::vector<std::uint16_t> quantize_image(const RgbImage& image, Rounding rounding, const RandRoundKey& key = {});

// The image of `tokens` (width * height of them, each < pixel_tokens), values from level_value.
RgbImage dequantize_image(std::span<const std::uint16_t> tokens, int width, int height);

}  // namespace rwkv::image
