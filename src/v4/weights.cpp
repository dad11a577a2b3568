#include <rwkv/v4/weights.hpp>

#include <rwkv/core/huge_pages.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/position_channels.hpp>

#include <cstdio>
#include <limits>
#include <stdexcept>

namespace rwkv {

void validate(const ModelConfig& c) {
  auto positive = [](const char* field, int value) {
    if (value <= 0) throw std::invalid_argument(std::string("model config: ") + field + " must be positive, got " + std::to_string(value));
  };
  positive("n_layer", c.n_layer);
  positive("n_embd", c.n_embd);
  positive("vocab_size", c.vocab_size);
  if (c.dim_ffn < 0) throw std::invalid_argument("model config: dim_ffn must be >= 0 (0 = 4 * n_embd), got " + std::to_string(c.dim_ffn));
  if (c.image_positions && c.n_embd < position_channel_count)
    throw std::invalid_argument("model config: image_positions needs n_embd >= " +
                                std::to_string(position_channel_count) + " (one channel per image row and column, plus two), got n_embd " +
                                std::to_string(c.n_embd));
  if (c.n_layer > max_layers)
    throw std::invalid_argument("model config: n_layer " + std::to_string(c.n_layer) + " exceeds the limit of " +
                                std::to_string(max_layers));
  if (c.dim_ffn == 0 && c.n_embd > std::numeric_limits<int>::max() / 4)
    throw std::invalid_argument("model config: n_embd " + std::to_string(c.n_embd) + " is too large for dim_ffn = 4 * n_embd");
  // In double: exact enough for a limit, and no integer product can overflow on the way.
  const double C = c.n_embd, F = c.ffn(), V = c.vocab_size;
  const double parameters = 2 * V * C + 4 * C + c.n_layer * (11 * C + 5 * C * C + 2 * F * C);
  if (parameters > max_parameters) {
    char count[32];
    std::snprintf(count, sizeof count, "%.3g", parameters);
    throw std::invalid_argument("model config: n_layer " + std::to_string(c.n_layer) + ", n_embd " + std::to_string(c.n_embd) +
                                ", dim_ffn " + std::to_string(c.ffn()) + ", vocab_size " + std::to_string(c.vocab_size) +
                                " give " + count + " parameters, more than the limit of 2^40");
  }
}

std::vector<TensorSpec> tensor_specs(v4, const ModelConfig& c) {
  validate(c);
  const int C = c.n_embd, F = c.ffn(), V = c.vocab_size;
  std::vector<TensorSpec> specs;
  std::size_t offset = 0;
  auto add = [&](std::string name, int rows, int cols) {
    specs.push_back({std::move(name), rows, cols, offset});
    offset += specs.back().size();
  };
  add("emb.weight", V, C);
  add("blocks.0.ln0.weight", C, 0);
  add("blocks.0.ln0.bias", C, 0);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    add(b + "ln1.weight", C, 0);
    add(b + "ln1.bias", C, 0);
    add(b + "ln2.weight", C, 0);
    add(b + "ln2.bias", C, 0);
    add(b + "att.time_decay", C, 0);
    add(b + "att.time_first", C, 0);
    add(b + "att.time_mix_k", C, 0);
    add(b + "att.time_mix_v", C, 0);
    add(b + "att.time_mix_r", C, 0);
    add(b + "att.key.weight", C, C);
    add(b + "att.value.weight", C, C);
    add(b + "att.receptance.weight", C, C);
    add(b + "att.output.weight", C, C);
    add(b + "ffn.time_mix_k", C, 0);
    add(b + "ffn.time_mix_r", C, 0);
    add(b + "ffn.key.weight", F, C);
    add(b + "ffn.receptance.weight", C, C);
    add(b + "ffn.value.weight", C, F);
  }
  add("ln_out.weight", C, 0);
  add("ln_out.bias", C, 0);
  add("head.weight", V, C);
  return specs;
}

std::size_t parameter_count(const std::vector<TensorSpec>& specs) {
  return specs.empty() ? 0 : specs.back().offset + specs.back().size();
}

template <class ExecSpace, class Scalar>
Weights<ExecSpace, Scalar>::Weights(const std::string& label, const ModelConfig& c, const std::vector<TensorSpec>& specs)
    : flat(allocate_with_huge_pages<V>(label, parameter_count(specs))) {
  Kokkos::deep_copy(flat, Scalar(0));
  std::size_t next = 0;
  // Binds in spec order and checks the name, so this list and tensor_specs() cannot drift apart.
  auto spec = [&](const std::string& name) -> const TensorSpec& {
    if (next >= specs.size() || specs[next].name != name)
      throw std::logic_error("weights layout: expected " + name + " at position " + std::to_string(next));
    return specs[next++];
  };
  auto vec = [&](const std::string& name) {
    const TensorSpec& s = spec(name);
    return V(flat.data() + s.offset, s.rows);
  };
  auto mat = [&](const std::string& name) {
    const TensorSpec& s = spec(name);
    return M(flat.data() + s.offset, s.rows, s.cols);
  };
  emb = mat("emb.weight");
  ln0_weight = vec("blocks.0.ln0.weight");
  ln0_bias = vec("blocks.0.ln0.bias");
  blocks.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    auto& w = blocks[i];
    w.ln1_weight = vec(b + "ln1.weight");
    w.ln1_bias = vec(b + "ln1.bias");
    w.ln2_weight = vec(b + "ln2.weight");
    w.ln2_bias = vec(b + "ln2.bias");
    w.att_time_decay = vec(b + "att.time_decay");
    w.att_time_first = vec(b + "att.time_first");
    w.att_time_mix_k = vec(b + "att.time_mix_k");
    w.att_time_mix_v = vec(b + "att.time_mix_v");
    w.att_time_mix_r = vec(b + "att.time_mix_r");
    w.att_key = mat(b + "att.key.weight");
    w.att_value = mat(b + "att.value.weight");
    w.att_receptance = mat(b + "att.receptance.weight");
    w.att_output = mat(b + "att.output.weight");
    w.ffn_time_mix_k = vec(b + "ffn.time_mix_k");
    w.ffn_time_mix_r = vec(b + "ffn.time_mix_r");
    w.ffn_key = mat(b + "ffn.key.weight");
    w.ffn_receptance = mat(b + "ffn.receptance.weight");
    w.ffn_value = mat(b + "ffn.value.weight");
  }
  ln_out_weight = vec("ln_out.weight");
  ln_out_bias = vec("ln_out.bias");
  head = mat("head.weight");
  if (next != specs.size()) throw std::logic_error("weights layout: " + std::to_string(specs.size() - next) + " tensors left unbound");
}

#define RWKV_WEIGHTS_DEFINE(SPACE, SCALAR) template struct Weights<SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WEIGHTS_DEFINE)

}  // namespace rwkv
