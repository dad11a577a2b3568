// What every version's model shares: the class template each version specializes
// (Model<v4, ExecSpace, Scalar>, ...) and the shape of its training buffers. Programs reach a
// model through include/rwkv/arch.hpp.
#pragma once

#include <stdexcept>
#include <string>

namespace rwkv {

template <class Version, class ExecSpace, class Scalar = float>
class Model;

// The arithmetic of the training products. bf16: mixed precision as RWKV-LM trains on GPUs, the
// linear layers' products (head included) on bfloat16 copies of the weights and activations with
// float32 sums (kernels/gemm_bf16.hpp); the master weights, gradients, optimizer state and
// everything else (WKV, layer norms, loss) stay in the model's Scalar.
enum class Precision { fp32, bf16 };

inline const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

// "fp32" or "bf16"; throws std::invalid_argument naming the two for anything else.
inline Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  throw std::invalid_argument("precision must be fp32 or bf16, got '" + name + "'");
}

struct TrainingShape {
  int batch = 1;    // B sequences per step; 0: inference only (no gradients, no training buffers)
  int ctx_len = 1;  // T tokens per sequence
  bool recompute = false;  // gradient checkpointing: keep only layer inputs, recompute in backward
  Precision precision = Precision::fp32;  // of forward() and backward()'s products
};
inline constexpr TrainingShape inference_only{0, 0, false};

}  // namespace rwkv
