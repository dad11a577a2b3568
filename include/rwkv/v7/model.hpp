// Model<v7, ExecSpace, Scalar>: the RWKV-7 language model in parallel ("GPT") mode, with its
// hand-written backward pass, composed of the v7 kernels (RWKV-VERSIONS.md section 1.3;
// docs/DESIGN.md, RWKV-7 blocks). Per layer, on x of shape [B*T, C]:
//   att:  a = ln1(x); x_r, x_w, x_k, x_v, x_a, x_g = token_shift7(a)
//         r, k, v = x_r Wr^T, x_k Wk^T, x_v Wv^T
//         z = w0 + tanh(x_w w1) w2;  a_ = sigmoid(a0 + (x_a a1) a2);  g = sigmoid(x_g g1) g2
//         layer 0: v_first = v;  others: v = value_residual7(v, v_first, (x_v v1) v2, v0)
//         k', alpha, beta = key7(k, a_);  y = wkv7(r, z, k', v, alpha, beta) from S0 = 0
//         x = x + ln_x7(y, r, k', v, g) Wo^T
//   ffn:  f = ln2(x); x_k = token_shift7(f);  x = x + relu(x_k Wk^T)^2 Wv^T
//   logits = ln_out(ln0(emb[tokens]) through the layers) head^T, loss = mean cross-entropy.
// Every sequence starts fresh: token shifts of zeros and a zero wkv state. The LoRA matrices are
// used as stored, x w1 (kernels/lora_matmul.hpp). The forward keeps what the backward needs (per
// layer, or only the layer inputs when `recompute` is set: the backward then runs each layer's
// forward again). With shape.precision bf16 the large matrices' products (not the LoRAs') run on
// bfloat16 copies refreshed from the float weights at every forward (src/linear_copies.hpp). RNN mode (infer, step) runs the same layers from and into an RnnState7, T tokens
// of S sequences in one pass: T = 1 is the token-by-token step, T > 1 a parallel prefill; its
// large matrices (r, k, v, output, the channel mix's and the head; not the LoRAs) may be int8 or
// bfloat16 copies (src/linear_copies.hpp).
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/model.hpp>
#include <rwkv/v7/state.hpp>
#include <rwkv/v7/weights.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace rwkv {

template <class ExecSpace, class Scalar>
struct LayerActivationsV7;  // defined in src/v7/model_impl.hpp
template <class ExecSpace, class Scalar>
struct ScratchV7;
template <class ExecSpace, class Scalar>
struct LayerIoV7;
template <class ExecSpace, class Scalar>
struct InferenceV7;
template <class ExecSpace, class Scalar>
class InferenceMatrices;  // src/linear_copies.hpp
template <class ExecSpace, class Scalar>
class TrainingBFloat16Matrices;

template <class ExecSpace, class Scalar>
class Model<v7, ExecSpace, Scalar> {
 public:
  using version = v7;
  using execution_space = ExecSpace;
  using scalar_type = Scalar;
  using TokenView = TokenViewOf<ExecSpace>;
  // Per token: its position in its image, 0..1023, or -1 for none. An empty view: no positions.
  using PositionView = TokenViewOf<ExecSpace>;
  using LevelView = LevelViewOf<ExecSpace>;  // rwkv/model.hpp
  using State = RnnState7<ExecSpace, Scalar>;

  // config.arch may be empty or "rwkv-7"; the model's config() names its version either way.
  // config.head_size must be 8, 16, 32 or 64, the sizes the WKV-7 kernel is built for here
  // (std::invalid_argument otherwise).
  Model(const ModelConfig& config, const TrainingShape& shape, ExecSpace space = ExecSpace());
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // RWKV-7 initialization from a seed (rwkv/v7/init.hpp).
  void initialize(std::uint64_t seed);

  // tokens, targets: [B*T] token ids (row n = b*T + t). Returns the mean cross-entropy (nats).
  // Keeps the logits [B*T, V] in logits() until the next backward(). positions: [B*T] image
  // positions (added to the embeddings when config.image_positions), or empty. soft_levels: [B*T, 3]
  // (rows with a negative level take their hard target), or empty for hard targets only.
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
  // One token of a one-slot state, at image position `position` (-1: none); only the token id and
  // the position cross to the device.
  Matrix<ExecSpace, Scalar> step(int token, const State& state, int position = -1);
  State new_state(int slots = 1) const { return State(config_, slots, space_); }
  // From now on RNN mode multiplies by int8 (or bfloat16) copies of the large matrices
  // (src/linear_copies.hpp); the float weights stay (training and forward() use them). The two
  // exclude each other (std::logic_error).
  void quantize_int8();
  bool quantized() const;
  void use_bfloat16_weights();
  bool bfloat16_weights() const;
  // Bytes of weights one RNN step reads: the matrices as RNN mode multiplies by them, every other
  // tensor, one row of the embedding.
  std::size_t step_weight_bytes() const;

  const ModelConfig& config() const { return config_; }
  const TrainingShape& shape() const { return shape_; }
  const std::vector<TensorSpec>& specs() const { return specs_; }
  Weights7<ExecSpace, Scalar>& weights() { return weights_; }
  Weights7<ExecSpace, Scalar>& grads() { return grads_; }
  const Matrix<ExecSpace, Scalar>& logits() const { return logits_; }
  const Vector<ExecSpace, Scalar>& row_losses() const { return row_loss_; }  // [B*T] of the last forward
  const ExecSpace& space() const { return space_; }

 private:
  void layer_forward(int layer, LayerActivationsV7<ExecSpace, Scalar>& act);
  void layer_pass(int layer, int T, LayerActivationsV7<ExecSpace, Scalar>& act, const LayerIoV7<ExecSpace, Scalar>& io);
  void layer_backward(int layer, LayerActivationsV7<ExecSpace, Scalar>& act);
  void time_mix_backward(int layer, LayerActivationsV7<ExecSpace, Scalar>& act);
  LayerActivationsV7<ExecSpace, Scalar>& activations(int layer);
  void require_training(const char* what) const;
  // y = x W^T in RNN mode, with W's int8 or bfloat16 copy where there is one (layer, index: the
  // matrix in linear_matrices7's order, src/v7/model_impl.hpp).
  void linear(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
              const Matrix<ExecSpace, Scalar>& W, int layer, int index);
  // The training products y = x W^T and dx += dy W, dW += dy^T x, on W's bfloat16 copy when the
  // shape's precision is bf16 (layer, index: as linear()); the LoRAs' products stay float.
  void train_forward(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
                     const Matrix<ExecSpace, Scalar>& W, int layer, int index);
  void train_backward(const Matrix<ExecSpace, Scalar>& dx, const Matrix<ExecSpace, Scalar>& dW,
                      const Matrix<ExecSpace, Scalar>& dy, const Matrix<ExecSpace, Scalar>& x,
                      const Matrix<ExecSpace, Scalar>& W, int layer, int index);

  ModelConfig config_;
  TrainingShape shape_;
  ExecSpace space_;
  std::vector<TensorSpec> specs_;
  Weights7<ExecSpace, Scalar> weights_, grads_;

  TokenView tokens_, targets_;
  StepInput<ExecSpace> step_input_;
  LevelView soft_levels_;  // of the last forward; empty: hard targets
  Matrix<ExecSpace, Scalar> emb_out_;  // emb[tokens] (+ position channels), the input of ln0
  Vector<ExecSpace, Scalar> ln0_mean_, ln0_rstd_;
  std::vector<Matrix<ExecSpace, Scalar>> residual_;  // residual_[i]: input of layer i; [L]: output
  Matrix<ExecSpace, Scalar> residual_grad_;          // gradient of the residual stream, layer by layer
  Matrix<ExecSpace, Scalar> v_first_;                // layer 0's values, mixed into every later layer's
  Matrix<ExecSpace, Scalar> v_first_grad_;           // what the later layers send back to layer 0's v
  std::vector<std::unique_ptr<LayerActivationsV7<ExecSpace, Scalar>>> layers_;  // L, or 1 with recompute
  Matrix<ExecSpace, Scalar> head_in_;  // ln_out(x)
  Vector<ExecSpace, Scalar> ln_out_mean_, ln_out_rstd_;
  Matrix<ExecSpace, Scalar> logits_;  // holds dlogits after backward()
  Vector<ExecSpace, Scalar> row_loss_, row_lse_;
  std::unique_ptr<ScratchV7<ExecSpace, Scalar>> scratch_;
  std::unique_ptr<InferenceV7<ExecSpace, Scalar>> step_work_, prefill_work_;  // RNN mode's buffers: T = 1, T > 1
  std::unique_ptr<InferenceMatrices<ExecSpace, Scalar>> rnn_matrices_;        // RNN mode's int8 or bf16 copies
  std::unique_ptr<TrainingBFloat16Matrices<ExecSpace, Scalar>> train_bf16_;  // precision bf16
};

#define RWKV_MODEL_V7_EXTERN(SPACE, SCALAR) extern template class Model<v7, SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_MODEL_V7_EXTERN)
#undef RWKV_MODEL_V7_EXTERN

}  // namespace rwkv
