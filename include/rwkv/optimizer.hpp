// AdamW over a model's flat parameter buffer, with RWKV-LM's schedule (lr_schedule.hpp) and
// gradient clipping by global norm. Weight decay applies to the tensors whose TensorSpec says so
// (matrices only; which of them, the version decides); with layerwise_lr, each
// tensor learns at its TensorSpec::lr_scale times the rate (RWKV-LM's lr_2x / lr_3x groups).
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/tensor_spec.hpp>

#include <string>
#include <vector>

namespace rwkv {

struct OptimizerConfig {
  double lr_init = 6e-4;
  double lr_final = 1e-5;
  long warmup_steps = 0;
  long total_steps = 1;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double grad_clip = 1.0;  // max global gradient norm; 0 = no clipping
  bool layerwise_lr = true;
};

struct StepReport {
  double lr = 0;         // the base learning rate of this step
  double grad_norm = 0;  // before clipping
};

template <class ExecSpace, class Scalar>
class AdamW {
 public:
  AdamW(const std::vector<TensorSpec>& specs, const OptimizerConfig& config);

  // Applies step number `step` (0-based) to params given grads (both laid out by `specs`).
  StepReport step(const ExecSpace& space, const Vector<ExecSpace, Scalar>& params,
                  const Vector<ExecSpace, Scalar>& grads, long step);

  const OptimizerConfig& config() const { return config_; }
  Vector<ExecSpace, Scalar>& first_moment() { return m_; }
  Vector<ExecSpace, Scalar>& second_moment() { return v_; }

 private:
  std::vector<TensorSpec> specs_;
  OptimizerConfig config_;
  Vector<ExecSpace, Scalar> m_, v_;
};

#define RWKV_ADAMW_EXTERN(SPACE, SCALAR) extern template class AdamW<SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_ADAMW_EXTERN)
#undef RWKV_ADAMW_EXTERN

}  // namespace rwkv
