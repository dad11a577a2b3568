#include <rwkv/v7/weights.hpp>

#include <rwkv/core/huge_pages.hpp>
#include <rwkv/tensor_views.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rwkv {

namespace {

// RWKV-LM train_temp's rank for a LoRA of C channels (RWKV-VERSIONS.md 1.2); nearbyint rounds
// halves to even, as Python's round does.
int suggested_rank(int C, double multiplier) {
  return std::max(32, int(std::nearbyint(multiplier * std::sqrt(double(C)) / 32)) * 32);
}

}  // namespace

Lora7Ranks lora7_ranks(const ModelConfig& c) {
  auto rank = [&](int given, double multiplier) { return given > 0 ? given : suggested_rank(c.n_embd, multiplier); };
  return {rank(c.rank_w, 2.5), rank(c.rank_a, 2.5), rank(c.rank_v, 1.7), rank(c.rank_g, 5.0)};
}

ModelConfig config_of_v7(const ModelConfig& config) {
  ModelConfig c = config_for_arch(config, v7::name);
  const Lora7Ranks ranks = lora7_ranks(c);
  c.rank_w = ranks.w;
  c.rank_a = ranks.a;
  c.rank_v = ranks.v;
  c.rank_g = ranks.g;
  return c;
}

std::vector<TensorSpec> tensor_specs(v7, const ModelConfig& c) {
  validate(c);
  if (c.n_embd % c.head_size != 0)
    throw std::invalid_argument("model config: n_embd " + std::to_string(c.n_embd) + " is not a multiple of head_size " +
                                std::to_string(c.head_size));
  const int C = c.n_embd, F = c.ffn(), V = c.vocab_size, N = c.head_size, H = C / N;
  const Lora7Ranks ranks = lora7_ranks(c);
  TensorList list(c);
  const auto vec = [&](const std::string& name, double lr_scale = 1.0) { list.add(name, C, 0, lr_scale); };
  const auto linear = [&](const std::string& name, int rows, int cols) { list.add(name, rows, cols); };
  const auto undecayed = [&](const std::string& name, int rows, int cols) { list.add(name, rows, cols, 1.0, false); };
  linear("emb.weight", V, C);
  vec("blocks.0.ln0.weight");
  vec("blocks.0.ln0.bias");
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    for (const char* name : {"ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias"}) vec(b + name);
    for (const char* name : {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g"}) vec(b + "att." + name);
    const auto lora = [&](const std::string& name, int rank, double bias_lr_scale) {
      vec(b + "att." + name + "0", bias_lr_scale);
      undecayed(b + "att." + name + "1", C, rank);
      undecayed(b + "att." + name + "2", rank, C);
    };
    lora("w", ranks.w, 2.0);
    lora("a", ranks.a, 1.0);
    if (has_value_lora(c, i)) lora("v", ranks.v, 1.0);
    undecayed(b + "att.g1", C, ranks.g);
    undecayed(b + "att.g2", ranks.g, C);
    vec(b + "att.k_k");
    vec(b + "att.k_a");
    undecayed(b + "att.r_k", H, N);
    for (const char* name : {"receptance", "key", "value", "output"}) linear(b + "att." + name + ".weight", C, C);
    vec(b + "att.ln_x.weight");
    vec(b + "att.ln_x.bias");
    vec(b + "ffn.x_k");
    linear(b + "ffn.key.weight", F, C);
    linear(b + "ffn.value.weight", C, F);
  }
  vec("ln_out.weight");
  vec("ln_out.bias");
  linear("head.weight", V, C);
  return list.take();
}

template <class ExecSpace, class Scalar>
Weights7<ExecSpace, Scalar>::Weights7(const std::string& label, const ModelConfig& c, const std::vector<TensorSpec>& specs)
    : flat(allocate_with_huge_pages<V>(label, parameter_count(specs))) {
  Kokkos::deep_copy(flat, Scalar(0));
  TensorViews<ExecSpace, Scalar> views(flat, specs);
  emb = views.mat("emb.weight");
  ln0_weight = views.vec("blocks.0.ln0.weight");
  ln0_bias = views.vec("blocks.0.ln0.bias");
  blocks.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    auto& w = blocks[i];
    w.ln1_weight = views.vec(b + "ln1.weight");
    w.ln1_bias = views.vec(b + "ln1.bias");
    w.ln2_weight = views.vec(b + "ln2.weight");
    w.ln2_bias = views.vec(b + "ln2.bias");
    w.att_x_r = views.vec(b + "att.x_r");
    w.att_x_w = views.vec(b + "att.x_w");
    w.att_x_k = views.vec(b + "att.x_k");
    w.att_x_v = views.vec(b + "att.x_v");
    w.att_x_a = views.vec(b + "att.x_a");
    w.att_x_g = views.vec(b + "att.x_g");
    const auto lora = [&](const std::string& name) {
      Lora7Weights<ExecSpace, Scalar> l;
      l.bias = views.vec(b + "att." + name + "0");
      l.down = views.mat(b + "att." + name + "1");
      l.up = views.mat(b + "att." + name + "2");
      return l;
    };
    w.att_w = lora("w");
    w.att_a = lora("a");
    if (has_value_lora(c, i)) w.att_v = lora("v");
    w.att_g.down = views.mat(b + "att.g1");
    w.att_g.up = views.mat(b + "att.g2");
    w.att_k_k = views.vec(b + "att.k_k");
    w.att_k_a = views.vec(b + "att.k_a");
    w.att_r_k = views.mat(b + "att.r_k");
    w.att_receptance = views.mat(b + "att.receptance.weight");
    w.att_key = views.mat(b + "att.key.weight");
    w.att_value = views.mat(b + "att.value.weight");
    w.att_output = views.mat(b + "att.output.weight");
    w.att_ln_x_weight = views.vec(b + "att.ln_x.weight");
    w.att_ln_x_bias = views.vec(b + "att.ln_x.bias");
    w.ffn_x_k = views.vec(b + "ffn.x_k");
    w.ffn_key = views.mat(b + "ffn.key.weight");
    w.ffn_value = views.mat(b + "ffn.value.weight");
  }
  ln_out_weight = views.vec("ln_out.weight");
  ln_out_bias = views.vec("ln_out.bias");
  head = views.mat("head.weight");
  views.finish();
}

#define RWKV_WEIGHTS7_DEFINE(SPACE, SCALAR) template struct Weights7<SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WEIGHTS7_DEFINE)

}  // namespace rwkv
