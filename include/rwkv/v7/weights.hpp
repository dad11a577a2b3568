// The parameters of an RWKV-7 model, named as RWKV-LM's state_dict, as views into one flat buffer
// (tensor_spec.hpp). The same layout is used for weights, gradients and the optimizer moments.
// Shapes (docs/FORMAT.md): the per-channel vectors [C]; the LoRA matrices in PyTorch's orientation,
// w1 [C, D] and w2 [D, C], used as x w1 (not x W^T); r_k [H, N]; the linear layers [out, in].
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/tensor_spec.hpp>
#include <rwkv/v7/version.hpp>

#include <string>
#include <vector>

namespace rwkv {

// The LoRA ranks of a config: each field as given, or where 0 RWKV-LM train_temp's suggestion
// max(32, round(m sqrt(C) / 32) * 32) with m = 2.5 (w), 2.5 (a), 1.7 (v), 5 (g).
struct Lora7Ranks {
  int w, a, v, g;
};
Lora7Ranks lora7_ranks(const ModelConfig& config);
// The config of a model of RWKV-7: arch "rwkv-7" (std::invalid_argument when it names another
// version) and the ranks as lora7_ranks gives them, so that files and reports name them.
ModelConfig config_of_v7(const ModelConfig& config);

// Whether layer `layer` has the value-residual LoRA att.v0/v1/v2 (layers >= 1, and layer 0 with
// config.layer0_value_lora, where it is carried but unused).
inline bool has_value_lora(const ModelConfig& config, int layer) { return layer > 0 || config.layer0_value_lora; }

// Every tensor of the model in RWKV-LM's order (scripts/convert_pth.py's expected_shapes_v7), with
// RWKV-7's optimizer groups: att.w0 learns at 2x with layer-wise rates, and weight decay applies to
// the 2-D `.weight` matrices only (emb, head and the linear layers; not the LoRAs, not r_k).
// Validates the config first, and that n_embd is a multiple of head_size.
std::vector<TensorSpec> tensor_specs(v7, const ModelConfig& config);

// One LoRA: the bias (empty for the gate's, which has none) and the two matrices.
template <class ExecSpace, class Scalar>
struct Lora7Weights {
  Vector<ExecSpace, Scalar> bias;
  Matrix<ExecSpace, Scalar> down, up;  // [C, D], [D, C]
};

template <class ExecSpace, class Scalar>
struct BlockWeights7 {
  using V = Vector<ExecSpace, Scalar>;
  using M = Matrix<ExecSpace, Scalar>;
  V ln1_weight, ln1_bias, ln2_weight, ln2_bias;
  V att_x_r, att_x_w, att_x_k, att_x_v, att_x_a, att_x_g;
  Lora7Weights<ExecSpace, Scalar> att_w, att_a, att_v, att_g;  // att_v empty where has_value_lora is false
  V att_k_k, att_k_a;
  M att_r_k;  // [H, N]
  M att_receptance, att_key, att_value, att_output;
  V att_ln_x_weight, att_ln_x_bias;
  V ffn_x_k;
  M ffn_key, ffn_value;
};

// Views into one flat buffer (they do not own memory: `flat` does).
template <class ExecSpace, class Scalar>
struct Weights7 {
  using V = Vector<ExecSpace, Scalar>;
  using M = Matrix<ExecSpace, Scalar>;
  V flat;
  M emb;
  V ln0_weight, ln0_bias;
  std::vector<BlockWeights7<ExecSpace, Scalar>> blocks;
  V ln_out_weight, ln_out_bias;
  M head;

  // Allocates a zeroed flat buffer for `specs` and binds every named view into it.
  Weights7(const std::string& label, const ModelConfig& config, const std::vector<TensorSpec>& specs);
  Weights7() = default;
};

#define RWKV_WEIGHTS7_EXTERN(SPACE, SCALAR) extern template struct Weights7<SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WEIGHTS7_EXTERN)
#undef RWKV_WEIGHTS7_EXTERN

}  // namespace rwkv
