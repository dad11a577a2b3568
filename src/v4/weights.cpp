#include <rwkv/v4/weights.hpp>

#include <rwkv/core/huge_pages.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/tensor_views.hpp>

#include <stdexcept>

namespace rwkv {

std::vector<TensorSpec> tensor_specs(v4, const ModelConfig& c) {
  validate(c);
  const int C = c.n_embd, F = c.ffn(), V = c.vocab_size;
  TensorList list(c);
  const auto add = [&](std::string name, int rows, int cols, double lr_scale = 1.0) {
    list.add(std::move(name), rows, cols, lr_scale);
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
    add(b + "att.time_decay", C, 0, 2.0);
    add(b + "att.time_first", C, 0, 3.0);
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
  return list.take();
}

template <class ExecSpace, class Scalar>
Weights<ExecSpace, Scalar>::Weights(const std::string& label, const ModelConfig& c, const std::vector<TensorSpec>& specs)
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
    w.att_time_decay = views.vec(b + "att.time_decay");
    w.att_time_first = views.vec(b + "att.time_first");
    w.att_time_mix_k = views.vec(b + "att.time_mix_k");
    w.att_time_mix_v = views.vec(b + "att.time_mix_v");
    w.att_time_mix_r = views.vec(b + "att.time_mix_r");
    w.att_key = views.mat(b + "att.key.weight");
    w.att_value = views.mat(b + "att.value.weight");
    w.att_receptance = views.mat(b + "att.receptance.weight");
    w.att_output = views.mat(b + "att.output.weight");
    w.ffn_time_mix_k = views.vec(b + "ffn.time_mix_k");
    w.ffn_time_mix_r = views.vec(b + "ffn.time_mix_r");
    w.ffn_key = views.mat(b + "ffn.key.weight");
    w.ffn_receptance = views.mat(b + "ffn.receptance.weight");
    w.ffn_value = views.mat(b + "ffn.value.weight");
  }
  ln_out_weight = views.vec("ln_out.weight");
  ln_out_bias = views.vec("ln_out.bias");
  head = views.mat("head.weight");
  views.finish();
}

#define RWKV_WEIGHTS_DEFINE(SPACE, SCALAR) template struct Weights<SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WEIGHTS_DEFINE)

}  // namespace rwkv
