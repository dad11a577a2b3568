// The tensors of a model, named as the reference PyTorch state_dict, laid out in one flat buffer so
// that the optimizer, the gradient norm and checkpoints walk one array. Each version lists its own
// (tensor_specs(version, config)); everything shared (AdamW, checkpoint I/O) reads only this.
#pragma once

#include <rwkv/config.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace rwkv {

struct TensorSpec {
  std::string name;   // state_dict name, e.g. "blocks.0.att.key.weight"
  int rows = 0;       // vectors: rows = length, cols = 0
  int cols = 0;
  std::size_t offset = 0;  // into the flat buffer
  // Learning-rate multiplier of the tensor's parameter group when layer-wise rates are on (RWKV-LM's
  // lr_2x / lr_3x groups); the version that lists the tensor decides it.
  double lr_scale = 1.0;
  // Whether AdamW's weight decay applies (RWKV-LM's lr_decay group); only matrices can decay, and
  // the version that lists the tensor decides which (RWKV-7 keeps its LoRAs and r_k out).
  bool weight_decay = false;

  bool is_matrix() const { return cols > 0; }
  std::size_t size() const { return std::size_t(rows) * std::size_t(cols > 0 ? cols : 1); }
};

inline std::size_t parameter_count(const std::vector<TensorSpec>& specs) {
  return specs.empty() ? 0 : specs.back().offset + specs.back().size();
}

// Appends a config's tensors in order with consecutive offsets; throws std::invalid_argument naming
// the config once the total passes max_parameters (counted in double, so no size product overflows
// on the way).
class TensorList {
 public:
  explicit TensorList(const ModelConfig& config) : config_(config) {}
  // A matrix (cols > 0) decays unless `decays` is false; a vector never does.
  void add(std::string name, int rows, int cols, double lr_scale = 1.0, bool decays = true);
  std::vector<TensorSpec> take() { return std::move(specs_); }

 private:
  const ModelConfig& config_;
  std::vector<TensorSpec> specs_;
  std::size_t offset_ = 0;
  double total_ = 0;
};

}  // namespace rwkv
