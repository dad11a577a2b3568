#include <rwkv/image/position.hpp>

#include <stdexcept>
#include <string>

namespace rwkv::image {

std::vector<float> position_embedding(int position, int n_embd) {
  if (n_embd < position_channels)
    throw std::invalid_argument("image position channels: n_embd is " + std::to_string(n_embd) + ", they need at least " +
                                std::to_string(position_channels));
  if (position < 0 || position >= position_count)
    throw std::invalid_argument("image position channels: position " + std::to_string(position) + " is outside 0.." +
                                std::to_string(position_count - 1));
  std::vector<float> channels(static_cast<std::size_t>(n_embd), 0.0f);
  for (int c = 0; c < position_channels; ++c) channels[std::size_t(c)] = position_channel(position, c);
  return channels;
}

}  // namespace rwkv::image
