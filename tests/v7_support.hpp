// What the RWKV-7 tests share: the tiny config of their checks and the names of layer 0's unused
// value LoRA.
#pragma once

#include <rwkv/config.hpp>

#include <string>

namespace rwkv::test {

// L2, C16 in heads of 8, V11, LoRA ranks 4/3/2/5; layer 0 with or without att.v0/v1/v2.
inline ModelConfig tiny_v7_config(bool layer0_value_lora) {
  ModelConfig c;
  c.n_layer = 2;
  c.n_embd = 16;
  c.vocab_size = 11;
  c.head_size = 8;
  c.rank_w = 4;
  c.rank_a = 3;
  c.rank_v = 2;
  c.rank_g = 5;
  c.layer0_value_lora = layer0_value_lora;
  return c;
}

inline bool in_layer0_value_lora(const std::string& name) {
  return name == "blocks.0.att.v0" || name == "blocks.0.att.v1" || name == "blocks.0.att.v2";
}

}  // namespace rwkv::test
