#include <rwkv/tensor_spec.hpp>

#include <cstdio>
#include <stdexcept>

namespace rwkv {

void TensorList::add(std::string name, int rows, int cols, double lr_scale, bool decays) {
  total_ += double(rows) * double(cols > 0 ? cols : 1);
  if (total_ > max_parameters) {
    char count[32];
    std::snprintf(count, sizeof count, "%.3g", total_);
    const ModelConfig& c = config_;
    throw std::invalid_argument("model config: n_layer " + std::to_string(c.n_layer) + ", n_embd " +
                                std::to_string(c.n_embd) + ", dim_ffn " + std::to_string(c.ffn()) + ", vocab_size " +
                                std::to_string(c.vocab_size) + " give " + count + " parameters by tensor " + name +
                                ", more than the limit of 2^40");
  }
  specs_.push_back({std::move(name), rows, cols, offset_, lr_scale, decays && cols > 0});
  offset_ += specs_.back().size();
}

}  // namespace rwkv
