// The RWKV-7 version tag: Model<v7, ExecSpace, Scalar> and the other v7 files specialize on it.
#pragma once

namespace rwkv {

struct v7 {
  static constexpr const char* name = "rwkv-7";  // the checkpoint attribute 'arch'
  static constexpr const char* flag = "v7";      // --arch
  // Whether its config has heads and LoRAs (ModelConfig's head_size, rank_*, layer0_value_lora,
  // ln_x_eps; checkpoint attributes of their own, docs/FORMAT.md).
  static constexpr bool head_shapes = true;
  // rwkv-train's AdamW defaults for a new run: RWKV-LM's RWKV-7 demo training run
  // (RWKV-VERSIONS.md 1.1).
  static constexpr double lr_final = 6e-5;
  static constexpr double adam_eps = 1e-18;
  static constexpr double weight_decay = 1e-3;
};

}  // namespace rwkv
