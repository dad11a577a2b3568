// 2D position channels for image tokens (the model adds them to their embeddings when
// config.image_positions is set: kernels/position_channels.hpp): token p
// of a 32x32 image (raster order) sits at x = p % 32, y = p / 32 and sets
//   channel x        to 1   (one-hot x, channels 0..31)
//   channel 32 + y   to 1   (one-hot y, channels 32..63)
//   channel 64       to x / 31
//   channel 65       to y / 31
// and leaves every other channel 0, so n_embd must be at least 66.
#pragma once

#include <Kokkos_Macros.hpp>

#include <vector>

namespace rwkv::image {

inline constexpr int position_side = 32;
inline constexpr int position_count = position_side * position_side;
inline constexpr int position_channels = 2 * position_side + 2;

// Channel `channel` for position `position` (both in range): pure, no library calls, and marked
// for the device too (kernels/position_channels.hpp calls it; CUDA builds lack
// --expt-relaxed-constexpr, so constexpr alone would not do).
KOKKOS_INLINE_FUNCTION constexpr float position_channel(int position, int channel) {
  const int x = position % position_side, y = position / position_side;
  if (channel < position_side) return channel == x ? 1.0f : 0.0f;
  if (channel < 2 * position_side) return channel - position_side == y ? 1.0f : 0.0f;
  if (channel == 2 * position_side) return float(x) / float(position_side - 1);
  if (channel == 2 * position_side + 1) return float(y) / float(position_side - 1);
  return 0.0f;
}

// All n_embd channels of `position`. Throws std::invalid_argument when n_embd < position_channels
// or position is outside 0..position_count - 1.
std::vector<float> position_embedding(int position, int n_embd);

}  // namespace rwkv::image
