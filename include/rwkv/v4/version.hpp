// The RWKV-4 version tag: Model<v4, ExecSpace, Scalar> and the other v4 files specialize on it.
#pragma once

namespace rwkv {

struct v4 {
  static constexpr const char* name = "rwkv-4";  // the checkpoint attribute 'arch'
  static constexpr const char* flag = "v4";      // --arch
  // Whether its config has heads and LoRAs (ModelConfig's head_size, rank_*, layer0_value_lora,
  // ln_x_eps; checkpoint attributes of their own, docs/FORMAT.md).
  static constexpr bool head_shapes = false;
  // rwkv-train's AdamW defaults for a new run of this version.
  static constexpr double lr_final = 1e-5;
  static constexpr double adam_eps = 1e-8;
  static constexpr double weight_decay = 0.0;
};

}  // namespace rwkv
