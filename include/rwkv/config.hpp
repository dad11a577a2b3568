// Model configuration, training shape and architecture tags.
#pragma once

#include <string>

namespace rwkv {

// Architecture versions are tag types: Model<v4, ...>; a new version adds a tag and its kernels.
struct v4 {
  static constexpr const char* name = "rwkv-4";
};

struct ModelConfig {
  int n_layer = 6;
  int n_embd = 512;
  int dim_ffn = 0;  // 0 = 4 * n_embd
  int vocab_size = 256;
  // Add the 2D position channels of image tokens (kernels/position_channels.hpp) to their embeddings, before
  // ln0; needs n_embd >= 66. Stored in checkpoints as attribute image_positions.
  bool image_positions = false;

  int ffn() const { return dim_ffn > 0 ? dim_ffn : 4 * n_embd; }
};

// What a model allocates for training, the same for every architecture.
struct TrainingShape {
  int batch = 1;    // B sequences per step; 0: inference only (no gradients, no training buffers)
  int ctx_len = 1;  // T tokens per sequence
  bool recompute = false;  // gradient checkpointing: keep only layer inputs, recompute in backward
};
inline constexpr TrainingShape inference_only{0, 0, false};

// Limits on what a config (e.g. one read from a file) may claim, far above any real model. They
// keep every size, offset and tensor list a config implies from overflowing or exhausting memory
// before a file's datasets are even looked at.
inline constexpr int max_layers = 4096;
inline constexpr double max_parameters = 1099511627776.0;  // 2^40

// Throws std::invalid_argument naming the field and value when a size is not positive, or the
// config exceeds the limits above.
void validate(const ModelConfig& config);

}  // namespace rwkv
