// The model configuration every RWKV version shares; a version reads the fields it uses.
#pragma once

#include <string>

namespace rwkv {

struct ModelConfig {
  int n_layer = 6;
  int n_embd = 512;
  int dim_ffn = 0;  // 0 = 4 * n_embd
  int vocab_size = 256;
  // Add the 2D position channels of image tokens (kernels/position_channels.hpp) to their
  // embeddings, before ln0; needs n_embd >= 66. Stored in checkpoints as attribute image_positions.
  bool image_positions = false;
  // The checkpoint attribute 'arch' ("rwkv-4", ...): which version the config describes. A model
  // sets its own on construction; include/rwkv/arch.hpp maps it to the version.
  std::string arch;

  // RWKV-7's shapes beyond the shared four, named as the checkpoint attributes (docs/FORMAT.md):
  // the head width N (H = n_embd / N heads), the LoRA ranks of the decay, the in-context learning
  // rate, the value residual and the gate (0: RWKV-LM train_temp's suggestion for n_embd, see
  // rwkv/v7/weights.hpp), whether layer 0 carries the value LoRA it never uses, and the eps of the
  // per-head GroupNorm att.ln_x.
  int head_size = 64;
  int rank_w = 0;
  int rank_a = 0;
  int rank_v = 0;
  int rank_g = 0;
  bool layer0_value_lora = false;
  double ln_x_eps = 64e-5;

  int ffn() const { return dim_ffn > 0 ? dim_ffn : 4 * n_embd; }
};

// Far above any real model: keeps the tensor lists a config implies (e.g. one read from a file)
// small; the parameter limit is TensorList's (tensor_spec.hpp).
inline constexpr int max_layers = 4096;
inline constexpr double max_parameters = 1099511627776.0;  // 2^40

// Throws std::invalid_argument naming the field and value when a size is not positive or a field
// exceeds its limit. The parameter count is checked when a version lists the tensors.
void validate(const ModelConfig& config);

// "2 heads of 16; LoRA ranks 32 (decay), ...": the shapes of a config with heads and LoRAs, for
// reports (the caller knows the version has them: has_head_shapes in rwkv/arch.hpp).
std::string head_shapes_summary(const ModelConfig& config);

// The config with arch set to `name`, for a model of that version; throws std::invalid_argument
// when the config names another version.
ModelConfig config_for_arch(ModelConfig config, const char* name);

}  // namespace rwkv
