// 2D position channels for image tokens (added to their embeddings by the model, later): token p
// of a 32x32 image (raster order) sits at x = p % 32, y = p / 32 and sets
//   channel x        to 1   (one-hot x, channels 0..31)
//   channel 32 + y   to 1   (one-hot y, channels 32..63)
//   channel 64       to x / 31
//   channel 65       to y / 31
// and leaves every other channel 0, so n_embd must be at least 66.
#pragma once

#include <vector>

namespace rwkv::image {

inline constexpr int position_side = 32;
inline constexpr int position_count = position_side * position_side;
inline constexpr int position_channels = 2 * position_side + 2;

// Channel `channel` for position `position` (both in range): pure, no library calls, so device
// code may use it too.
constexpr float position_channel(int position, int channel) {
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
