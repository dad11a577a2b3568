// Model<v4, ExecSpace, Scalar>: the RWKV-4 language model in parallel ("GPT") mode, with its
// hand-written backward pass. docs/DESIGN.md gives the math; per layer, on x of shape [B*T, C]:
//   att:  a = ln1(x); xk/xv/xr = time_mix(a); k, v, r = xk Wk^T, xv Wv^T, xr Wr^T
//         x = x + (sigmoid(r) * wkv(k, v)) Wo^T
//   ffn:  f = ln2(x); xk/xr = time_mix(f)
//         x = x + sigmoid(xr Wr^T) * (relu(xk Wk^T)^2 Wv^T)
//   logits = ln_out(x) head^T, loss = mean cross-entropy.
// The forward keeps what the backward needs (per layer, or only the layer inputs when
// `recompute` is set: the backward then runs each layer's forward again, gradient checkpointing).
// With shape.precision bf16, forward and backward multiply by bfloat16 copies of the matrices,
// refreshed from the float weights at every forward (so after every optimizer step, load or
// initialization), with the activations rounded to bfloat16 (kernels/gemm_bf16.hpp); weights()
// stay the master weights, in Scalar, and are what checkpoints hold.
// RNN mode (infer, step) runs the same math from and into an RnnState, T tokens of S sequences in
// one pass: T = 1 is the token-by-token step, T > 1 a parallel prefill.
// Image models (config.image_positions) add the 2D position channels of image tokens
// (kernels/position_channels.hpp) to the embeddings before ln0, in training and RNN mode alike; the
// callers give each token's position 0..1023 in its image, or -1 (text, special tokens). Training
// may score image tokens against soft RandRound targets (kernels/cross_entropy_soft.hpp).
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/model.hpp>
#include <rwkv/v4/state.hpp>
#include <rwkv/v4/weights.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rwkv {

template <class ExecSpace, class Scalar>
struct LayerActivationsV4;  // defined in src/v4/model_impl.hpp
template <class ExecSpace, class Scalar>
struct ScratchV4;
template <class ExecSpace, class Scalar>
struct InferenceV4;
template <class ExecSpace, class Scalar>
class InferenceMatrices;  // src/linear_copies.hpp
template <class ExecSpace, class Scalar>
class TrainingBFloat16Matrices;

template <class ExecSpace, class Scalar>
class Model<v4, ExecSpace, Scalar> {
 public:
  using version = v4;
  using execution_space = ExecSpace;
  using scalar_type = Scalar;
  using TokenView = TokenViewOf<ExecSpace>;
  // Per token: its position in its image, 0..1023, or -1 for none. An empty view: no positions.
  using PositionView = TokenViewOf<ExecSpace>;
  using LevelView = LevelViewOf<ExecSpace>;  // rwkv/model.hpp
  using State = RnnState<ExecSpace, Scalar>;

  // config.arch may be empty or "rwkv-4"; the model's config() names its version either way.
  Model(const ModelConfig& config, const TrainingShape& shape, ExecSpace space = ExecSpace());
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // RWKV-4 initialization from a seed (rwkv/v4/init.hpp).
  void initialize(std::uint64_t seed);

  // tokens, targets: [B*T] token ids (row n = b*T + t). Returns the mean cross-entropy (nats).
  // Keeps the logits [B*T, V] in logits() until the next backward().
  // positions [B*T] (or empty): each token's image position, used when config().image_positions.
  // soft_levels [B*T, 3] (or empty): a row with levels >= 0 is scored against its soft RandRound
  // target instead of targets[n] (the vocabulary must hold the 512 image tokens).
  // Positions and levels are not range-checked on the device (as token ids are not).
  double forward(const TokenView& tokens, const TokenView& targets, const PositionView& positions = {},
                 const LevelView& soft_levels = {});
  // Adds the gradient of the last forward's loss to grads(). `l2wrap` > 0 adds RWKV-LM's
  // L2Wrap penalty gradient (l2wrap * max logit at the argmax, per token, scaled by 1/(B*T)).
  void backward(double l2wrap = 0);
  void zero_grad();

  // RNN mode. tokens [S*T]: the next T tokens of each of the state's S sequences (row s*T + t),
  // run in one parallel pass from `state`, which is left as feeding the tokens one at a time would
  // leave it. Returns the logits [S, V] of each sequence's last token, or with all_positions the
  // logits [S*T, V] of every token: a view of the model's buffer, overwritten by the next call.
  // positions [S*T] (or empty) as in forward().
  Matrix<ExecSpace, Scalar> infer(const TokenView& tokens, int T, const State& state, bool all_positions = false,
                                  const PositionView& positions = {});
  // One token of a one-slot state at image position `position` (-1: none); only the token id and
  // the position cross to the device.
  Matrix<ExecSpace, Scalar> step(int token, const State& state, int position = -1);
  State new_state(int slots = 1) const { return State(config_, slots, space_); }
  // From now on RNN mode multiplies by int8 copies of every matrix including the head
  // (kernels/int8_matmul.hpp); the float weights stay (training and forward() use them).
  // int8 and bfloat16 copies exclude each other: asking for the second throws std::logic_error.
  void quantize_int8();
  bool quantized() const;
  // The same with bfloat16 copies (kernels/bf16_matmul.hpp): half the bytes of float32, products
  // summed in Scalar.
  void use_bfloat16_weights();
  bool bfloat16_weights() const;
  // Bytes of weights one RNN step reads: every matrix (float, int8 or bfloat16) and vector, the
  // embedding row aside.
  std::size_t step_weight_bytes() const;

  const ModelConfig& config() const { return config_; }
  const TrainingShape& shape() const { return shape_; }
  const std::vector<TensorSpec>& specs() const { return specs_; }
  Weights<ExecSpace, Scalar>& weights() { return weights_; }
  Weights<ExecSpace, Scalar>& grads() { return grads_; }
  const Matrix<ExecSpace, Scalar>& logits() const { return logits_; }
  const Vector<ExecSpace, Scalar>& row_losses() const { return row_loss_; }  // [B*T] of the last forward
  const ExecSpace& space() const { return space_; }

 private:
  void layer_forward(int layer, LayerActivationsV4<ExecSpace, Scalar>& act);
  void layer_backward(int layer, LayerActivationsV4<ExecSpace, Scalar>& act);
  LayerActivationsV4<ExecSpace, Scalar>& activations(int layer);
  void layer_infer(int layer, int T, const State& state, InferenceV4<ExecSpace, Scalar>& work);
  // y = x W^T with W's int8 or bfloat16 copy where there is one (index: the matrix in
  // linear_matrices' order, src/v4/model_impl.hpp).
  void linear(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
              const Matrix<ExecSpace, Scalar>& W, int layer, int index);
  // The training products y = x W^T and dx += dy W, dW += dy^T x, on W's bfloat16 copy when the
  // shape's precision is bf16 (layer, index: as linear()).
  void train_forward(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
                     const Matrix<ExecSpace, Scalar>& W, int layer, int index);
  void train_backward(const Matrix<ExecSpace, Scalar>& dx, const Matrix<ExecSpace, Scalar>& dW,
                      const Matrix<ExecSpace, Scalar>& dy, const Matrix<ExecSpace, Scalar>& x,
                      const Matrix<ExecSpace, Scalar>& W, int layer, int index);
  void require_training(const char* what) const;
  // x = emb[tokens] (+ the position channels where the config asks for them and positions are given).

  ModelConfig config_;
  TrainingShape shape_;
  ExecSpace space_;
  std::vector<TensorSpec> specs_;
  Weights<ExecSpace, Scalar> weights_, grads_;

  TokenView tokens_, targets_;
  StepInput<ExecSpace> step_input_;
  LevelView soft_levels_;  // of the last forward; empty: hard targets
  Matrix<ExecSpace, Scalar> emb_out_;   // emb[tokens] (+ position channels), the input of ln0
  Vector<ExecSpace, Scalar> ln0_mean_, ln0_rstd_;
  std::vector<Matrix<ExecSpace, Scalar>> residual_;  // residual_[i]: input of layer i; [L]: output
  Matrix<ExecSpace, Scalar> residual_grad_;          // gradient of the residual stream, layer by layer
  std::vector<std::unique_ptr<LayerActivationsV4<ExecSpace, Scalar>>> layers_;  // L, or 1 with recompute
  Matrix<ExecSpace, Scalar> head_in_;  // ln_out(x)
  Vector<ExecSpace, Scalar> ln_out_mean_, ln_out_rstd_;
  Matrix<ExecSpace, Scalar> logits_;   // holds dlogits after backward()
  Vector<ExecSpace, Scalar> row_loss_, row_lse_;
  Matrix<ExecSpace, Scalar> no_shift_;  // empty: every sequence starts fresh (token shift of zeros)
  std::unique_ptr<ScratchV4<ExecSpace, Scalar>> scratch_;
  std::unique_ptr<InferenceV4<ExecSpace, Scalar>> inference_;  // RNN-mode buffers, sized on use
  std::unique_ptr<InferenceMatrices<ExecSpace, Scalar>> rnn_matrices_;          // RNN mode's int8 or bf16 copies
  std::unique_ptr<TrainingBFloat16Matrices<ExecSpace, Scalar>> train_bf16_;  // precision bf16
};

#define RWKV_MODEL_V4_EXTERN(SPACE, SCALAR) extern template class Model<v4, SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_MODEL_V4_EXTERN)
#undef RWKV_MODEL_V4_EXTERN

}  // namespace rwkv
