// What every version's model shares: the class template each version specializes
// (Model<v4, ExecSpace, Scalar>, ...) and the shape of its training buffers. Programs reach a
// model through include/rwkv/arch.hpp.
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/views.hpp>

#include <stdexcept>
#include <string>

namespace rwkv {

template <class Version, class ExecSpace, class Scalar = float>
class Model;

// Token ids, one per row, in the space's memory; also image positions (0..1023, or -1 for none).
template <class ExecSpace>
using TokenViewOf = Kokkos::View<int*, typename ExecSpace::memory_space>;
// [rows, 3] channel levels in [0, 7] for soft targets, or negative for a row's hard target.
template <class ExecSpace>
using LevelViewOf = Kokkos::View<float**, Kokkos::LayoutRight, typename ExecSpace::memory_space>;
// The input of one RNN step (Model::step) on the device: one token id and one image position.
template <class ExecSpace>
struct StepInput {
  TokenViewOf<ExecSpace> token, position;
  // Checks a step's arguments (a one-slot state, a token of the vocabulary, a position in -1..1023;
  // std::invalid_argument naming the value otherwise) and copies them to the device. Returns
  // whether the step takes the position (config.image_positions and position >= 0).
  bool set(const ExecSpace& space, const ModelConfig& config, int slots, int token, int position);
};

// The first image token of the vocabulary (bytes 0..255 come first): soft targets spread over
// tokens image_token_offset .. image_token_offset + 511.
inline constexpr int image_token_offset = 256;

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
