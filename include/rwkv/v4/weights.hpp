// The parameters of an RWKV-4 model, named as the reference PyTorch state_dict, as views into one
// flat buffer (tensor_spec.hpp). The same layout is used for weights, gradients and the optimizer
// moments.
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/tensor_spec.hpp>
#include <rwkv/v4/version.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace rwkv {

// Every tensor of the model in state_dict order, with its offset in the flat buffer; time_decay
// learns at 2x and time_first at 3x with layer-wise rates. Validates the config first.
std::vector<TensorSpec> tensor_specs(v4, const ModelConfig& config);

template <class ExecSpace, class Scalar>
struct BlockWeights {
  using V = Vector<ExecSpace, Scalar>;
  using M = Matrix<ExecSpace, Scalar>;
  V ln1_weight, ln1_bias, ln2_weight, ln2_bias;
  V att_time_decay, att_time_first, att_time_mix_k, att_time_mix_v, att_time_mix_r;
  M att_key, att_value, att_receptance, att_output;
  V ffn_time_mix_k, ffn_time_mix_r;
  M ffn_key, ffn_receptance, ffn_value;
};

// Views into one flat buffer (they do not own memory: `flat` does).
template <class ExecSpace, class Scalar>
struct Weights {
  using V = Vector<ExecSpace, Scalar>;
  using M = Matrix<ExecSpace, Scalar>;
  V flat;
  M emb;
  V ln0_weight, ln0_bias;
  std::vector<BlockWeights<ExecSpace, Scalar>> blocks;
  V ln_out_weight, ln_out_bias;
  M head;

  // Allocates a zeroed flat buffer for `specs` and binds every named view into it.
  Weights(const std::string& label, const ModelConfig& config, const std::vector<TensorSpec>& specs);
  Weights() = default;
};

#define RWKV_WEIGHTS_EXTERN(SPACE, SCALAR) extern template struct Weights<SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WEIGHTS_EXTERN)
#undef RWKV_WEIGHTS_EXTERN

}  // namespace rwkv
