#include <rwkv/config.hpp>

#include <rwkv/kernels/position_channels.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace rwkv {

void validate(const ModelConfig& c) {
  auto positive = [](const char* field, int value) {
    if (value <= 0) throw std::invalid_argument(std::string("model config: ") + field + " must be positive, got " + std::to_string(value));
  };
  positive("n_layer", c.n_layer);
  positive("n_embd", c.n_embd);
  positive("vocab_size", c.vocab_size);
  if (c.dim_ffn < 0) throw std::invalid_argument("model config: dim_ffn must be >= 0 (0 = 4 * n_embd), got " + std::to_string(c.dim_ffn));
  positive("head_size", c.head_size);
  const std::pair<const char*, int> ranks[] = {{"rank_w", c.rank_w}, {"rank_a", c.rank_a}, {"rank_v", c.rank_v},
                                               {"rank_g", c.rank_g}};
  for (const auto& [field, value] : ranks)
    if (value < 0)
      throw std::invalid_argument(std::string("model config: ") + field + " must be >= 0 (0 = the suggested rank), got " +
                                  std::to_string(value));
  if (!(c.ln_x_eps > 0) || !std::isfinite(c.ln_x_eps))
    throw std::invalid_argument("model config: ln_x_eps must be positive and finite, got " + std::to_string(c.ln_x_eps));
  if (c.image_positions && c.n_embd < position_channel_count)
    throw std::invalid_argument("model config: image_positions needs n_embd >= " +
                                std::to_string(position_channel_count) + " (one channel per image row and column, plus two), got n_embd " +
                                std::to_string(c.n_embd));
  if (c.n_layer > max_layers)
    throw std::invalid_argument("model config: n_layer " + std::to_string(c.n_layer) + " exceeds the limit of " +
                                std::to_string(max_layers));
  if (c.dim_ffn == 0 && c.n_embd > std::numeric_limits<int>::max() / 4)
    throw std::invalid_argument("model config: n_embd " + std::to_string(c.n_embd) + " is too large for dim_ffn = 4 * n_embd");
}

std::string head_shapes_summary(const ModelConfig& c) {
  return std::to_string(c.n_embd / c.head_size) + " heads of " + std::to_string(c.head_size) + "; LoRA ranks " +
         std::to_string(c.rank_w) + " (decay), " + std::to_string(c.rank_a) + " (in-context rate), " +
         std::to_string(c.rank_v) + " (value), " + std::to_string(c.rank_g) + " (gate)";
}

ModelConfig config_for_arch(ModelConfig config, const char* name) {
  if (!config.arch.empty() && config.arch != name)
    throw std::invalid_argument("model config: arch '" + config.arch + "' given to a model of " + name);
  config.arch = name;
  return config;
}

}  // namespace rwkv
