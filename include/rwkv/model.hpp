// What every version's model shares: the class template each version specializes
// (Model<v4, ExecSpace, Scalar>, ...) and the shape of its training buffers. Programs reach a
// model through include/rwkv/arch.hpp.
#pragma once

namespace rwkv {

template <class Version, class ExecSpace, class Scalar = float>
class Model;

struct TrainingShape {
  int batch = 1;    // B sequences per step; 0: inference only (no gradients, no training buffers)
  int ctx_len = 1;  // T tokens per sequence
  bool recompute = false;  // gradient checkpointing: keep only layer inputs, recompute in backward
};
inline constexpr TrainingShape inference_only{0, 0, false};

}  // namespace rwkv
