// Definitions of Model<v7, ...>, private to the library: src/v7/model.cpp instantiates them for
// the spaces and scalars of rwkv/core/instantiate.hpp.
#pragma once

#include <rwkv/v7/init.hpp>
#include <rwkv/v7/model.hpp>

#include "../embedding_and_loss.hpp"
#include "../linear_copies.hpp"

#include <rwkv/kernels/activations.hpp>
#include <rwkv/kernels/key7.hpp>
#include <rwkv/kernels/layer_norm.hpp>
#include <rwkv/kernels/ln_x7.hpp>
#include <rwkv/kernels/lora7.hpp>
#include <rwkv/kernels/lora_matmul.hpp>
#include <rwkv/kernels/time_mix.hpp>
#include <rwkv/kernels/token_shift7.hpp>
#include <rwkv/kernels/value_residual7.hpp>
#include <rwkv/kernels/wkv7.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>

namespace rwkv {

// Calls f(std::integral_constant<int, N>) for the head size N (rwkv/v7/model.hpp lists them).
template <class F>
void with_head_size(int N, F&& f) {
  switch (N) {
    case 8: return f(std::integral_constant<int, 8>());
    case 16: return f(std::integral_constant<int, 16>());
    case 32: return f(std::integral_constant<int, 32>());
    case 64: return f(std::integral_constant<int, 64>());
    default:
      throw std::invalid_argument("Model<v7>: head_size " + std::to_string(N) + " (the WKV-7 kernel is built for 8, "
                                  "16, 32 and 64)");
  }
}

// What one layer's forward keeps for its backward. Names follow rwkv/v7/model.hpp's comment; the
// LoRAs' hidden activations are h_* (after tanh or sigmoid where there is one), their second
// products p_*.
template <class ExecSpace, class Scalar>
struct LayerActivationsV7 {
  using M = Matrix<ExecSpace, Scalar>;
  using V = Vector<ExecSpace, Scalar>;
  // time mix
  M a;  V a_mean, a_rstd;
  Matrices<time_mix7_lerps, ExecSpace, Scalar> xc;  // the six token-shift lerps, TimeMix7Lerp's order
  M r, k, v;
  M h_w, z;    // tanh(x_w w1), w0 + h_w w2
  M h_a, iclr; // x_a a1, sigmoid(a0 + h_a a2)
  M h_v, p_v, v_mixed;  // x_v v1, h_v v2, the value after the residual (layers >= 1)
  M h_g, g;    // sigmoid(x_g g1), h_g g2
  M k_out, alpha, beta, k_norm;
  M y;  Wkv7Saved<ExecSpace, Scalar> wkv_saved;
  M u, ln_x_mean, ln_x_rstd;  // ln_x7's output and statistics
  M x_mid;  // x after the time mix's residual: the input of ln2
  // channel mix
  M f;  V f_mean, f_rstd;
  M ffn_xk, ffn_k, ffn_k2;  // [B*T, C], [B*T, F], [B*T, F]: x_k, x_k Wk^T, relu(.)^2

  // keep_wkv_states: allocate what wkv7's backward needs (training); RNN mode keeps none.
  LayerActivationsV7(int B, int T, int C, int F, int H, int N, const Lora7Ranks& D, bool keep_wkv_states)
      : a(m("a", B * T, C)), a_mean("a_mean", B * T), a_rstd("a_rstd", B * T), r(m("r", B * T, C)),
        k(m("k", B * T, C)), v(m("v", B * T, C)), h_w(m("h_w", B * T, D.w)), z(m("z", B * T, C)),
        h_a(m("h_a", B * T, D.a)), iclr(m("iclr", B * T, C)), h_v(m("h_v", B * T, D.v)), p_v(m("p_v", B * T, C)),
        v_mixed(m("v_mixed", B * T, C)), h_g(m("h_g", B * T, D.g)), g(m("g", B * T, C)), k_out(m("k_out", B * T, C)),
        alpha(m("alpha", B * T, C)), beta(m("beta", B * T, C)), k_norm(m("k_norm", B * T, H)), y(m("y", B * T, C)),
        wkv_saved(keep_wkv_states ? Wkv7Saved<ExecSpace, Scalar>("wkv_saved", B, T, H, N) : Wkv7Saved<ExecSpace, Scalar>()),
        u(m("u", B * T, C)), ln_x_mean(m("ln_x_mean", B * T, H)),
        ln_x_rstd(m("ln_x_rstd", B * T, H)), x_mid(m("x_mid", B * T, C)), f(m("f", B * T, C)),
        f_mean("f_mean", B * T), f_rstd("f_rstd", B * T), ffn_xk(m("ffn_xk", B * T, C)),
        ffn_k(m("ffn_k", B * T, F)), ffn_k2(m("ffn_k2", B * T, F)) {
    for (int i = 0; i < time_mix7_lerps; ++i) xc[i] = m("xc", B * T, C);
  }
  static M m(const char* label, int rows, int cols) { return M(std::string(label), rows, cols); }
};

// Gradient buffers of the layer being differentiated, shared by all layers, and the forward's
// branch output and zero initial state.
template <class ExecSpace, class Scalar>
struct ScratchV7 {
  using M = Matrix<ExecSpace, Scalar>;
  Matrices<time_mix7_lerps, ExecSpace, Scalar> d_xc;
  M branch;  // a branch's output before the residual add (forward)
  M d_r, d_k, d_v, d_v_mixed, d_z, d_iclr, d_g, d_k_out, d_alpha, d_beta, d_y, d_u;  // [B*T, C]
  M d_p_a, d_p_v, d_norm, d_ffn_xk;                                                  // [B*T, C]
  M d_h_w, d_h_w_in, d_h_a, d_h_v, d_h_g, d_h_g_in;  // [B*T, D]: after and before the activation
  M d_ffn_k, d_ffn_k2;                               // [B*T, F]
  M head_work;                                       // [B*T, H]
  M d_logits_in;                                     // [B*T, C]: gradient of ln_out's output
  Wkv7State<ExecSpace, Scalar> wkv_state;            // [B, H, N, N]

  ScratchV7(int B, int T, int C, int F, int H, int N, const Lora7Ranks& D) {
    const int rows = B * T;
    for (int i = 0; i < time_mix7_lerps; ++i) d_xc[i] = M("d_xc", rows, C);
    M* const per_channel[] = {&branch, &d_r,     &d_k,   &d_v,    &d_v_mixed, &d_z,      &d_iclr,
                              &d_g,    &d_k_out, &d_alpha, &d_beta, &d_y,   &d_u,      &d_p_a,
                              &d_p_v,  &d_norm,  &d_ffn_xk, &d_logits_in};
    for (M* c : per_channel) *c = M("scratch", rows, C);
    d_h_w = M("d_h_w", rows, D.w);
    d_h_w_in = M("d_h_w_in", rows, D.w);
    d_h_a = M("d_h_a", rows, D.a);
    d_h_v = M("d_h_v", rows, D.v);
    d_h_g = M("d_h_g", rows, D.g);
    d_h_g_in = M("d_h_g_in", rows, D.g);
    d_ffn_k = M("d_ffn_k", rows, F);
    d_ffn_k2 = M("d_ffn_k2", rows, F);
    head_work = M("head_work", rows, H);
    wkv_state = Wkv7State<ExecSpace, Scalar>("wkv_state", B, H, N, N);
  }
};

// What one layer's pass reads and writes besides its activations. Training: the residual stream
// from layer to layer, fresh sequences (empty shifts, a zeroed wkv state) and the states wkv7's
// backward needs; RNN mode: x in place, and the state's shifts and wkv state, which it advances.
template <class ExecSpace, class Scalar>
struct LayerIoV7 {
  Matrix<ExecSpace, Scalar> x_in, x_out, v_first, branch;
  Matrix<ExecSpace, Scalar> att_shift, ffn_shift;  // [S, C], or empty for zeros
  Wkv7State<ExecSpace, Scalar> wkv_state;
  Wkv7Saved<ExecSpace, Scalar> wkv_saved;  // empty: save nothing
};

// RNN-mode buffers for S slots of T tokens.
template <class ExecSpace, class Scalar>
struct InferenceV7 {
  using M = Matrix<ExecSpace, Scalar>;
  using V = Vector<ExecSpace, Scalar>;
  int slots, T;
  LayerActivationsV7<ExecSpace, Scalar> layer;  // reused by every layer
  M emb, x, v_first, branch;                    // [S*T, C]
  V mean, rstd;                                 // [S*T]
  M last, last_norm, logits;                    // [S, C], [S, C], [S, V]
  V last_mean, last_rstd;                       // [S]
  M all_logits;  // [S*T, V], allocated when every position's logits are asked for

  InferenceV7(int S, int T_, const ModelConfig& c)
      : slots(S), T(T_),
        layer(S, T_, c.n_embd, c.ffn(), c.n_embd / c.head_size, c.head_size, lora7_ranks(c), false),
        emb("infer_emb", S * T_, c.n_embd), x("infer_x", S * T_, c.n_embd), v_first("infer_v_first", S * T_, c.n_embd),
        branch("infer_branch", S * T_, c.n_embd), mean("infer_mean", S * T_), rstd("infer_rstd", S * T_),
        last("infer_last", S, c.n_embd), last_norm("infer_last_norm", S, c.n_embd),
        logits("infer_logits", S, c.vocab_size), last_mean("infer_last_mean", S), last_rstd("infer_last_rstd", S) {}
};

// The large matrices, per layer in Linear's order, then the head (as layer n_layer, index 0), each
// with a label: what RNN mode's int8 or bfloat16 copies stand for (src/linear_copies.hpp). The
// LoRAs stay float: their products are thin.
struct LinearV7 {
  enum Index : int { att_receptance, att_key, att_value, att_output, ffn_key, ffn_value, per_layer };
};

template <class ExecSpace, class Scalar>
LabelledMatrices<ExecSpace, Scalar> linear_matrices7(const Weights7<ExecSpace, Scalar>& w, int n_layer,
                                                     const std::string& prefix) {
  LabelledMatrices<ExecSpace, Scalar> sources;
  for (int i = 0; i < n_layer; ++i) {
    const auto& b = w.blocks[i];
    const std::string l = prefix + "." + std::to_string(i) + ".";
    sources.insert(sources.end(), {{b.att_receptance, l + "att.receptance"},
                                   {b.att_key, l + "att.key"},
                                   {b.att_value, l + "att.value"},
                                   {b.att_output, l + "att.output"},
                                   {b.ffn_key, l + "ffn.key"},
                                   {b.ffn_value, l + "ffn.value"}});
  }
  sources.emplace_back(w.head, prefix + ".head");
  return sources;
}

template <class ExecSpace, class Scalar>
Model<v7, ExecSpace, Scalar>::Model(const ModelConfig& config, const TrainingShape& shape, ExecSpace space)
    : config_(config_of_v7(config)), shape_(shape), space_(space), specs_(tensor_specs(v7{}, config_)),
      weights_("weights", config_, specs_), rnn_matrices_(std::make_unique<InferenceMatrices<ExecSpace, Scalar>>()) {
  with_head_size(config_.head_size, [](auto) {});
  if (shape.batch < 0 || shape.ctx_len < 0 || (shape.batch > 0) != (shape.ctx_len > 0))
    throw std::invalid_argument("Model: training shape batch " + std::to_string(shape.batch) + ", ctx_len " +
                                std::to_string(shape.ctx_len) + " (both positive, or both 0 for inference only)");
  if (shape.batch == 0) return;
  grads_ = Weights7<ExecSpace, Scalar>("grads", config_, specs_);
  const int B = shape.batch, T = shape.ctx_len, C = config_.n_embd, F = config_.ffn(), V = config_.vocab_size;
  const int N = config_.head_size, H = C / N, rows = B * T;
  const Lora7Ranks ranks = lora7_ranks(config_);
  tokens_ = TokenView("tokens", rows);
  targets_ = TokenView("targets", rows);
  emb_out_ = Matrix<ExecSpace, Scalar>("emb_out", rows, C);
  ln0_mean_ = Vector<ExecSpace, Scalar>("ln0_mean", rows);
  ln0_rstd_ = Vector<ExecSpace, Scalar>("ln0_rstd", rows);
  for (int i = 0; i <= config_.n_layer; ++i) residual_.emplace_back("residual_" + std::to_string(i), rows, C);
  residual_grad_ = Matrix<ExecSpace, Scalar>("residual_grad", rows, C);
  v_first_ = Matrix<ExecSpace, Scalar>("v_first", rows, C);
  v_first_grad_ = Matrix<ExecSpace, Scalar>("v_first_grad", rows, C);
  const int kept = shape.recompute ? 1 : config_.n_layer;
  for (int i = 0; i < kept; ++i)
    layers_.push_back(std::make_unique<LayerActivationsV7<ExecSpace, Scalar>>(B, T, C, F, H, N, ranks, true));
  head_in_ = Matrix<ExecSpace, Scalar>("head_in", rows, C);
  ln_out_mean_ = Vector<ExecSpace, Scalar>("ln_out_mean", rows);
  ln_out_rstd_ = Vector<ExecSpace, Scalar>("ln_out_rstd", rows);
  logits_ = Matrix<ExecSpace, Scalar>("logits", rows, V);
  row_loss_ = Vector<ExecSpace, Scalar>("row_loss", rows);
  row_lse_ = Vector<ExecSpace, Scalar>("row_lse", rows);
  scratch_ = std::make_unique<ScratchV7<ExecSpace, Scalar>>(B, T, C, F, H, N, ranks);
  if (shape.precision == Precision::bf16)
    train_bf16_ = std::make_unique<TrainingBFloat16Matrices<ExecSpace, Scalar>>(
        linear_matrices7(weights_, config_.n_layer, "train_bf16"));
}

template <class ExecSpace, class Scalar>
Model<v7, ExecSpace, Scalar>::~Model() = default;

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::initialize(std::uint64_t seed) {
  auto host = Kokkos::create_mirror_view(weights_.flat);
  initialize_weights(v7{}, config_, specs_, seed, host.data());
  Kokkos::deep_copy(space_, weights_.flat, host);
  space_.fence();
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::zero_grad() {
  require_training("zero_grad");
  Kokkos::deep_copy(space_, grads_.flat, Scalar(0));
}

template <class ExecSpace, class Scalar>
LayerActivationsV7<ExecSpace, Scalar>& Model<v7, ExecSpace, Scalar>::activations(int layer) {
  return *layers_[shape_.recompute ? 0 : layer];
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::linear(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
                                          const Matrix<ExecSpace, Scalar>& W, int layer, int index) {
  rnn_matrices_->linear(space_, y, x, W, std::size_t(layer) * LinearV7::per_layer + index);
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::train_forward(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
                                                 const Matrix<ExecSpace, Scalar>& W, int layer, int index) {
  if (!train_bf16_) return matmul_forward(space_, y, x, W);
  train_bf16_->forward(space_, y, x, std::size_t(layer) * LinearV7::per_layer + index);
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::train_backward(const Matrix<ExecSpace, Scalar>& dx, const Matrix<ExecSpace, Scalar>& dW,
                                                  const Matrix<ExecSpace, Scalar>& dy, const Matrix<ExecSpace, Scalar>& x,
                                                  const Matrix<ExecSpace, Scalar>& W, int layer, int index) {
  if (!train_bf16_) return matmul_backward(space_, dx, dW, dy, x, W);
  train_bf16_->backward(space_, dx, dW, dy, x, std::size_t(layer) * LinearV7::per_layer + index);
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::quantize_int8() {
  rnn_matrices_->quantize_int8(space_, linear_matrices7(weights_, config_.n_layer, "int8"));
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::use_bfloat16_weights() {
  rnn_matrices_->use_bfloat16(space_, linear_matrices7(weights_, config_.n_layer, "bf16"));
}

template <class ExecSpace, class Scalar>
bool Model<v7, ExecSpace, Scalar>::quantized() const {
  return rnn_matrices_->int8();
}

template <class ExecSpace, class Scalar>
bool Model<v7, ExecSpace, Scalar>::bfloat16_weights() const {
  return rnn_matrices_->bfloat16();
}

template <class ExecSpace, class Scalar>
std::size_t Model<v7, ExecSpace, Scalar>::step_weight_bytes() const {
  return rnn_matrices_->step_weight_bytes(specs_);
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::require_training(const char* what) const {
  if (shape_.batch == 0)
    throw std::logic_error(std::string("Model::") + what + ": this model was built for inference only");
}

}  // namespace rwkv
