// --dtype and --int8 of the programs that run RNN mode (rwkv-generate, rwkv-eval): which copy of
// the matrices RNN mode multiplies by. float32: the weights as loaded; bfloat16: each matrix
// rounded to bfloat16, the products summed in float32 (kernels/bf16_matmul.hpp); stored: bfloat16
// where the checkpoint stores bfloat16 (which the copy keeps exactly), else float32; --int8: int8
// (kernels/int8_matmul.hpp), which excludes a 16-bit --dtype.
#pragma once

#include "cli.hpp"

#include <rwkv/checkpoint.hpp>

#include <stdexcept>
#include <string>

namespace rwkv::cli {

enum class RnnWeights { float32, bfloat16, int8 };

struct WeightOptions {
  std::string dtype = "float32";
  bool int8 = false;
};

inline void add_weight_options(po::options_description& d, WeightOptions& w, const char* int8_help) {
  d.add_options()
      ("dtype", po::value(&w.dtype)->default_value("float32"),
       "RNN-mode matrices: float32, bfloat16 (summed in float32) or stored (bfloat16 if the checkpoint is)")
      ("int8", po::bool_switch(&w.int8), int8_help);
}

// Throws std::invalid_argument for an unknown --dtype, or bfloat16 with --int8.
inline RnnWeights rnn_weights(const WeightOptions& w, const std::string& checkpoint) {
  if (w.dtype != "float32" && w.dtype != "bfloat16" && w.dtype != "stored")
    throw std::invalid_argument("--dtype " + w.dtype + ": expected float32, bfloat16 or stored");
  if (w.int8 && w.dtype == "bfloat16")
    throw std::invalid_argument("--int8 and --dtype bfloat16 exclude each other: give one");
  if (w.int8) return RnnWeights::int8;
  if (w.dtype == "bfloat16" || (w.dtype == "stored" && inspect_checkpoint(checkpoint).weight_dtype == "bfloat16"))
    return RnnWeights::bfloat16;
  return RnnWeights::float32;
}

template <class ModelT>
void use_rnn_weights(ModelT& model, RnnWeights w) {
  if (w == RnnWeights::int8) model.quantize_int8();
  if (w == RnnWeights::bfloat16) model.use_bfloat16_weights();
}

// " (int8 weights)", " (bfloat16 weights)" or "", for the programs' summary lines.
inline const char* weights_note(RnnWeights w) {
  return w == RnnWeights::int8 ? " (int8 weights)" : w == RnnWeights::bfloat16 ? " (bfloat16 weights)" : "";
}

}  // namespace rwkv::cli
