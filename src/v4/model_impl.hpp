// Definitions of Model<v4, ...>, private to the library: src/v4/model.cpp instantiates them for
// the spaces and scalars of rwkv/core/instantiate.hpp.
#pragma once

#include <rwkv/v4/init.hpp>
#include <rwkv/v4/model.hpp>

#include "../embedding_and_loss.hpp"
#include "../linear_copies.hpp"

#include <rwkv/kernels/activations.hpp>
#include <rwkv/kernels/layer_norm.hpp>
#include <rwkv/kernels/time_mix.hpp>
#include <rwkv/kernels/wkv.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace rwkv {

// What one layer's forward keeps for its backward. Names follow rwkv/v4/model.hpp's comment.
template <class ExecSpace, class Scalar>
struct LayerActivationsV4 {
  using M = Matrix<ExecSpace, Scalar>;
  using V = Vector<ExecSpace, Scalar>;
  // attention
  M a;  V a_mean, a_rstd;
  M att_xk, att_xv, att_xr, att_k, att_v, att_r;
  M wkv, att_gate, att_gated;
  WkvSaved<ExecSpace, Scalar> wkv_saved;
  M x_mid;  // x after the attention residual: the input of ln2
  // channel mix
  M f;  V f_mean, f_rstd;
  M ffn_xk, ffn_xr;
  M ffn_k, ffn_k2;  // [N, F]: xk Wk^T and relu(.)^2
  M ffn_v, ffn_r, ffn_gate;

  LayerActivationsV4(int B, int T, int C, int F)
      : a("a", B * T, C), a_mean("a_mean", B * T), a_rstd("a_rstd", B * T),
        att_xk("att_xk", B * T, C), att_xv("att_xv", B * T, C), att_xr("att_xr", B * T, C),
        att_k("att_k", B * T, C), att_v("att_v", B * T, C), att_r("att_r", B * T, C),
        wkv("wkv", B * T, C), att_gate("att_gate", B * T, C), att_gated("att_gated", B * T, C),
        wkv_saved("wkv_saved", B, T, C), x_mid("x_mid", B * T, C),
        f("f", B * T, C), f_mean("f_mean", B * T), f_rstd("f_rstd", B * T),
        ffn_xk("ffn_xk", B * T, C), ffn_xr("ffn_xr", B * T, C),
        ffn_k("ffn_k", B * T, F), ffn_k2("ffn_k2", B * T, F),
        ffn_v("ffn_v", B * T, C), ffn_r("ffn_r", B * T, C), ffn_gate("ffn_gate", B * T, C) {}
};

// Gradient buffers of the layer being differentiated, shared by all layers.
template <class ExecSpace, class Scalar>
struct ScratchV4 {
  using M = Matrix<ExecSpace, Scalar>;
  M d_out, d_gate_in, d_r, d_k, d_v, d_xk, d_xv, d_xr, d_norm;  // [N, C]
  M d_ffn_k, d_ffn_k2;  // [N, F]
  M d_logits_in;        // [N, C]: gradient of ln_out's output
  WkvState<ExecSpace, Scalar> wkv_state, d_wkv_state;

  ScratchV4(int B, int T, int C, int F)
      : d_out("d_out", B * T, C), d_gate_in("d_gate_in", B * T, C), d_r("d_r", B * T, C),
        d_k("d_k", B * T, C), d_v("d_v", B * T, C), d_xk("d_xk", B * T, C), d_xv("d_xv", B * T, C),
        d_xr("d_xr", B * T, C), d_norm("d_norm", B * T, C), d_ffn_k("d_ffn_k", B * T, F),
        d_ffn_k2("d_ffn_k2", B * T, F), d_logits_in("d_logits_in", B * T, C),
        wkv_state("wkv_state", B, C), d_wkv_state("d_wkv_state", B, C) {}
};

// RNN-mode buffers for up to `rows` = S*T tokens in flight (the first S*T rows are used).
template <class ExecSpace, class Scalar>
struct InferenceV4 {
  using M = Matrix<ExecSpace, Scalar>;
  using V = Vector<ExecSpace, Scalar>;
  int rows = 0, slots = 0;
  M emb, x, a, xk, xv, xr, k, v, r, y, gate, gated, branch;  // [rows, C]
  M ffn_k;                                                   // [rows, F]
  V mean, rstd;                                              // [rows]
  M last, last_norm, logits;                                 // [S, C], [S, C], [S, V]
  V last_mean, last_rstd;                                    // [S]
  M all_logits;  // [rows, V], allocated when every position's logits are asked for

  InferenceV4(int rows_, int slots_, int C, int F, int vocab)
      : rows(rows_), slots(slots_), emb(alloc("emb", rows_, C)), x(alloc("x", rows_, C)), a(alloc("a", rows_, C)),
        xk(alloc("xk", rows_, C)), xv(alloc("xv", rows_, C)), xr(alloc("xr", rows_, C)), k(alloc("k", rows_, C)),
        v(alloc("v", rows_, C)), r(alloc("r", rows_, C)), y(alloc("y", rows_, C)), gate(alloc("gate", rows_, C)),
        gated(alloc("gated", rows_, C)), branch(alloc("branch", rows_, C)), ffn_k(alloc("ffn_k", rows_, F)),
        mean("mean", rows_), rstd("rstd", rows_), last(alloc("last", slots_, C)),
        last_norm(alloc("last_norm", slots_, C)), logits(alloc("logits", slots_, vocab)),
        last_mean("last_mean", slots_), last_rstd("last_rstd", slots_) {}

  static M alloc(const char* label, int n, int cols) {
    return M(Kokkos::view_alloc(std::string("infer_") + label, Kokkos::WithoutInitializing), n, cols);
  }
  // The first n rows of a [rows, cols] buffer.
  static M head_rows(const M& m, int n) { return Kokkos::subview(m, Kokkos::make_pair(0, n), Kokkos::ALL); }
  static V head_rows(const V& v, int n) { return Kokkos::subview(v, Kokkos::make_pair(0, n)); }
};

// The matrices of the linear layers, per layer in Linear's order, then the head (as layer n_layer,
// index 0), each with a label: what RNN mode's int8 or bfloat16 copies and training with precision
// bf16 multiply by (src/linear_copies.hpp).
struct LinearV4 {
  enum Index : int { att_key, att_value, att_receptance, att_output, ffn_key, ffn_receptance, ffn_value, per_layer };
};

template <class ExecSpace, class Scalar>
LabelledMatrices<ExecSpace, Scalar> linear_matrices(const Weights<ExecSpace, Scalar>& w, int n_layer,
                                                    const std::string& prefix) {
  LabelledMatrices<ExecSpace, Scalar> sources;
  for (int i = 0; i < n_layer; ++i) {
    const auto& b = w.blocks[i];
    const std::string l = prefix + "." + std::to_string(i) + ".";
    sources.insert(sources.end(), {{b.att_key, l + "att.key"},
                                   {b.att_value, l + "att.value"},
                                   {b.att_receptance, l + "att.receptance"},
                                   {b.att_output, l + "att.output"},
                                   {b.ffn_key, l + "ffn.key"},
                                   {b.ffn_receptance, l + "ffn.receptance"},
                                   {b.ffn_value, l + "ffn.value"}});
  }
  sources.emplace_back(w.head, prefix + ".head");
  return sources;
}

template <class ExecSpace, class Scalar>
Model<v4, ExecSpace, Scalar>::Model(const ModelConfig& config, const TrainingShape& shape, ExecSpace space)
    : config_(config_for_arch(config, v4::name)), shape_(shape), space_(space), specs_(tensor_specs(v4{}, config_)),
      weights_("weights", config, specs_), rnn_matrices_(std::make_unique<InferenceMatrices<ExecSpace, Scalar>>()) {
  if (shape.batch < 0 || shape.ctx_len < 0 || (shape.batch > 0) != (shape.ctx_len > 0))
    throw std::invalid_argument("Model: training shape batch " + std::to_string(shape.batch) + ", ctx_len " +
                                std::to_string(shape.ctx_len) + " (both positive, or both 0 for inference only)");
  if (shape.batch == 0) return;
  grads_ = Weights<ExecSpace, Scalar>("grads", config, specs_);
  const int B = shape.batch, T = shape.ctx_len, C = config.n_embd, F = config.ffn(), V = config.vocab_size;
  const int N = B * T;
  tokens_ = TokenView("tokens", N);
  targets_ = TokenView("targets", N);
  emb_out_ = Matrix<ExecSpace, Scalar>("emb_out", N, C);
  ln0_mean_ = Vector<ExecSpace, Scalar>("ln0_mean", N);
  ln0_rstd_ = Vector<ExecSpace, Scalar>("ln0_rstd", N);
  for (int i = 0; i <= config.n_layer; ++i) residual_.emplace_back("residual_" + std::to_string(i), N, C);
  residual_grad_ = Matrix<ExecSpace, Scalar>("residual_grad", N, C);
  const int kept = shape.recompute ? 1 : config.n_layer;
  for (int i = 0; i < kept; ++i) layers_.push_back(std::make_unique<LayerActivationsV4<ExecSpace, Scalar>>(B, T, C, F));
  head_in_ = Matrix<ExecSpace, Scalar>("head_in", N, C);
  ln_out_mean_ = Vector<ExecSpace, Scalar>("ln_out_mean", N);
  ln_out_rstd_ = Vector<ExecSpace, Scalar>("ln_out_rstd", N);
  logits_ = Matrix<ExecSpace, Scalar>("logits", N, V);
  row_loss_ = Vector<ExecSpace, Scalar>("row_loss", N);
  row_lse_ = Vector<ExecSpace, Scalar>("row_lse", N);
  scratch_ = std::make_unique<ScratchV4<ExecSpace, Scalar>>(B, T, C, F);
  if (shape.precision == Precision::bf16)
    train_bf16_ = std::make_unique<TrainingBFloat16Matrices<ExecSpace, Scalar>>(
        linear_matrices(weights_, config_.n_layer, "train_bf16"));
}

template <class ExecSpace, class Scalar>
Model<v4, ExecSpace, Scalar>::~Model() = default;

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::initialize(std::uint64_t seed) {
  auto host = Kokkos::create_mirror_view(weights_.flat);
  initialize_weights(v4{}, config_, specs_, seed, host.data());
  Kokkos::deep_copy(space_, weights_.flat, host);
  space_.fence();
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::zero_grad() {
  require_training("zero_grad");
  Kokkos::deep_copy(space_, grads_.flat, Scalar(0));
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::layer_forward(int i, LayerActivationsV4<ExecSpace, Scalar>& A) {
  using Q = LinearV4;
  const int T = shape_.ctx_len;
  const auto& w = weights_.blocks[i];
  const auto& x = residual_[i];
  auto& s = *scratch_;
  // attention (time mix)
  layer_norm_forward(space_, A.a, A.a_mean, A.a_rstd, x, w.ln1_weight, w.ln1_bias);
  time_mix_forward(space_, T, A.att_xk, A.a, no_shift_, w.att_time_mix_k);
  time_mix_forward(space_, T, A.att_xv, A.a, no_shift_, w.att_time_mix_v);
  time_mix_forward(space_, T, A.att_xr, A.a, no_shift_, w.att_time_mix_r);
  train_forward(A.att_k, A.att_xk, w.att_key, i, Q::att_key);
  train_forward(A.att_v, A.att_xv, w.att_value, i, Q::att_value);
  train_forward(A.att_r, A.att_xr, w.att_receptance, i, Q::att_receptance);
  wkv_reset_state(space_, s.wkv_state);
  wkv_forward(space_, T, A.wkv, s.wkv_state, A.wkv_saved, w.att_time_decay, w.att_time_first, A.att_k, A.att_v);
  sigmoid_gate_forward(space_, A.att_gated, A.att_gate, A.att_r, A.wkv);
  train_forward(s.d_out, A.att_gated, w.att_output, i, Q::att_output);  // d_out is free in the forward
  residual_add_forward(space_, A.x_mid, x, s.d_out);
  // channel mix
  layer_norm_forward(space_, A.f, A.f_mean, A.f_rstd, A.x_mid, w.ln2_weight, w.ln2_bias);
  time_mix_forward(space_, T, A.ffn_xk, A.f, no_shift_, w.ffn_time_mix_k);
  time_mix_forward(space_, T, A.ffn_xr, A.f, no_shift_, w.ffn_time_mix_r);
  train_forward(A.ffn_k, A.ffn_xk, w.ffn_key, i, Q::ffn_key);
  squared_relu_forward(space_, A.ffn_k2, A.ffn_k);
  train_forward(A.ffn_v, A.ffn_k2, w.ffn_value, i, Q::ffn_value);
  train_forward(A.ffn_r, A.ffn_xr, w.ffn_receptance, i, Q::ffn_receptance);
  sigmoid_gate_forward(space_, s.d_out, A.ffn_gate, A.ffn_r, A.ffn_v);
  residual_add_forward(space_, residual_[i + 1], A.x_mid, s.d_out);
}

// residual_grad_ holds the gradient of layer i's output on entry and of its input on exit: the
// residual passes it through and each branch's backward adds to it.
template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::layer_backward(int i, LayerActivationsV4<ExecSpace, Scalar>& A) {
  using Q = LinearV4;
  const int T = shape_.ctx_len;
  const auto& w = weights_.blocks[i];
  auto& g = grads_.blocks[i];
  auto& s = *scratch_;
  const auto& dx = residual_grad_;
  const Matrix<ExecSpace, Scalar> no_shift_grad;  // sequences start fresh: no state gradient
  auto zero = [&](const auto& view) { Kokkos::deep_copy(space_, view, Scalar(0)); };

  // channel mix: x_out = x_mid + sigmoid(r) * (relu(k)^2 Wv^T)
  zero(s.d_r);
  zero(s.d_v);
  sigmoid_gate_backward(space_, s.d_r, s.d_v, dx, A.ffn_gate, A.ffn_v);
  zero(s.d_xr);
  train_backward(s.d_xr, g.ffn_receptance, s.d_r, A.ffn_xr, w.ffn_receptance, i, Q::ffn_receptance);
  zero(s.d_ffn_k2);
  train_backward(s.d_ffn_k2, g.ffn_value, s.d_v, A.ffn_k2, w.ffn_value, i, Q::ffn_value);
  zero(s.d_ffn_k);
  squared_relu_backward(space_, s.d_ffn_k, s.d_ffn_k2, A.ffn_k);
  zero(s.d_xk);
  train_backward(s.d_xk, g.ffn_key, s.d_ffn_k, A.ffn_xk, w.ffn_key, i, Q::ffn_key);
  zero(s.d_norm);
  time_mix_backward(space_, T, s.d_norm, no_shift_grad, g.ffn_time_mix_k, s.d_xk, A.f, no_shift_, w.ffn_time_mix_k);
  time_mix_backward(space_, T, s.d_norm, no_shift_grad, g.ffn_time_mix_r, s.d_xr, A.f, no_shift_, w.ffn_time_mix_r);
  layer_norm_backward(space_, dx, g.ln2_weight, g.ln2_bias, s.d_norm, A.x_mid, w.ln2_weight, A.f_mean, A.f_rstd);

  // attention: x_mid = x + (sigmoid(r) * wkv) Wo^T
  zero(s.d_gate_in);
  train_backward(s.d_gate_in, g.att_output, dx, A.att_gated, w.att_output, i, Q::att_output);
  zero(s.d_r);
  zero(s.d_out);  // the gradient of the wkv output
  sigmoid_gate_backward(space_, s.d_r, s.d_out, s.d_gate_in, A.att_gate, A.wkv);
  zero(s.d_k);
  zero(s.d_v);
  zero(s.d_wkv_state.aa);  // the final state feeds nothing: its gradient is zero
  zero(s.d_wkv_state.bb);
  zero(s.d_wkv_state.pp);
  wkv_backward(space_, T, g.att_time_decay, g.att_time_first, s.d_k, s.d_v, s.d_wkv_state, s.d_out, A.wkv_saved,
               w.att_time_decay, w.att_time_first, A.att_k, A.att_v);
  zero(s.d_xk);
  zero(s.d_xv);
  zero(s.d_xr);
  train_backward(s.d_xk, g.att_key, s.d_k, A.att_xk, w.att_key, i, Q::att_key);
  train_backward(s.d_xv, g.att_value, s.d_v, A.att_xv, w.att_value, i, Q::att_value);
  train_backward(s.d_xr, g.att_receptance, s.d_r, A.att_xr, w.att_receptance, i, Q::att_receptance);
  zero(s.d_norm);
  time_mix_backward(space_, T, s.d_norm, no_shift_grad, g.att_time_mix_k, s.d_xk, A.a, no_shift_, w.att_time_mix_k);
  time_mix_backward(space_, T, s.d_norm, no_shift_grad, g.att_time_mix_v, s.d_xv, A.a, no_shift_, w.att_time_mix_v);
  time_mix_backward(space_, T, s.d_norm, no_shift_grad, g.att_time_mix_r, s.d_xr, A.a, no_shift_, w.att_time_mix_r);
  layer_norm_backward(space_, dx, g.ln1_weight, g.ln1_bias, s.d_norm, residual_[i], w.ln1_weight, A.a_mean, A.a_rstd);
}

template <class ExecSpace, class Scalar>
LayerActivationsV4<ExecSpace, Scalar>& Model<v4, ExecSpace, Scalar>::activations(int layer) {
  return *layers_[shape_.recompute ? 0 : layer];
}

template <class ExecSpace, class Scalar>
double Model<v4, ExecSpace, Scalar>::forward(const TokenView& tokens, const TokenView& targets,
                                             const PositionView& positions, const LevelView& soft_levels) {
  require_training("forward");
  const int N = shape_.batch * shape_.ctx_len;
  check_soft_levels<ExecSpace>(config_, N, soft_levels);
  tokens_ = tokens;
  targets_ = targets;
  soft_levels_ = soft_levels;
  const auto& w = weights_;
  if (train_bf16_) train_bf16_->refresh(space_, linear_matrices(weights_, config_.n_layer, "train_bf16"));
  embed_tokens(space_, config_, emb_out_, tokens, positions, w.emb);
  layer_norm_forward(space_, residual_[0], ln0_mean_, ln0_rstd_, emb_out_, w.ln0_weight, w.ln0_bias);
  for (int i = 0; i < config_.n_layer; ++i) layer_forward(i, activations(i));
  layer_norm_forward(space_, head_in_, ln_out_mean_, ln_out_rstd_, residual_[config_.n_layer], w.ln_out_weight,
                     w.ln_out_bias);
  train_forward(logits_, head_in_, w.head, config_.n_layer, 0);
  return loss_forward(space_, row_loss_, row_lse_, logits_, targets, soft_levels_);
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::backward(double l2wrap) {
  require_training("backward");
  const auto& w = weights_;
  auto& g = grads_;
  auto& s = *scratch_;
  // The logits' storage receives their gradient. The position channels are constants: the
  // gradient of the embedding output passes to emb unchanged, below.
  loss_backward(space_, logits_, row_lse_, targets_, soft_levels_, l2wrap);
  Kokkos::deep_copy(space_, s.d_logits_in, Scalar(0));
  train_backward(s.d_logits_in, g.head, logits_, head_in_, w.head, config_.n_layer, 0);
  Kokkos::deep_copy(space_, residual_grad_, Scalar(0));
  layer_norm_backward(space_, residual_grad_, g.ln_out_weight, g.ln_out_bias, s.d_logits_in,
                      residual_[config_.n_layer], w.ln_out_weight, ln_out_mean_, ln_out_rstd_);
  for (int i = config_.n_layer - 1; i >= 0; --i) {
    if (shape_.recompute) layer_forward(i, activations(i));
    layer_backward(i, activations(i));
  }
  Kokkos::deep_copy(space_, s.d_norm, Scalar(0));
  layer_norm_backward(space_, s.d_norm, g.ln0_weight, g.ln0_bias, residual_grad_, emb_out_, w.ln0_weight, ln0_mean_,
                      ln0_rstd_);
  embedding_backward(space_, g.emb, s.d_norm, tokens_);
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::require_training(const char* what) const {
  if (shape_.batch == 0)
    throw std::logic_error(std::string("Model::") + what + ": this model was built for inference only");
}

// One layer in RNN mode on work.x [S*T, C], in place; reads and advances layer i of the state.
// The token shifts read the state's last tokens before last_token() replaces them.
template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::layer_infer(int i, int T, const State& state, InferenceV4<ExecSpace, Scalar>& work) {
  using Work = InferenceV4<ExecSpace, Scalar>;
  using Q = LinearV4;
  const int N = state.slots() * T;
  const auto rows = [N](const auto& m) { return Work::head_rows(m, N); };
  const auto& w = weights_.blocks[i];
  const auto x = rows(work.x), a = rows(work.a), xk = rows(work.xk), xv = rows(work.xv), xr = rows(work.xr);
  const auto k = rows(work.k), v = rows(work.v), r = rows(work.r), y = rows(work.y);
  const auto gate = rows(work.gate), gated = rows(work.gated), branch = rows(work.branch);
  const auto mean = rows(work.mean), rstd = rows(work.rstd);
  const auto ffn_k = rows(work.ffn_k);
  // attention (time mix)
  layer_norm_forward(space_, a, mean, rstd, x, w.ln1_weight, w.ln1_bias);
  time_mix_forward(space_, T, xk, a, state.att_shift(i), w.att_time_mix_k);
  time_mix_forward(space_, T, xv, a, state.att_shift(i), w.att_time_mix_v);
  time_mix_forward(space_, T, xr, a, state.att_shift(i), w.att_time_mix_r);
  last_token(space_, T, state.att_shift(i), a);
  linear(k, xk, w.att_key, i, Q::att_key);
  linear(v, xv, w.att_value, i, Q::att_value);
  linear(r, xr, w.att_receptance, i, Q::att_receptance);
  wkv_forward(space_, T, y, state.wkv(i), WkvSaved<ExecSpace, Scalar>(), w.att_time_decay, w.att_time_first, k, v);
  sigmoid_gate_forward(space_, gated, gate, r, y);
  linear(branch, gated, w.att_output, i, Q::att_output);
  residual_add_forward(space_, x, x, branch);
  // channel mix (a and its statistics are free again)
  layer_norm_forward(space_, a, mean, rstd, x, w.ln2_weight, w.ln2_bias);
  time_mix_forward(space_, T, xk, a, state.ffn_shift(i), w.ffn_time_mix_k);
  time_mix_forward(space_, T, xr, a, state.ffn_shift(i), w.ffn_time_mix_r);
  last_token(space_, T, state.ffn_shift(i), a);
  linear(ffn_k, xk, w.ffn_key, i, Q::ffn_key);
  squared_relu_forward(space_, ffn_k, ffn_k);
  linear(v, ffn_k, w.ffn_value, i, Q::ffn_value);
  linear(r, xr, w.ffn_receptance, i, Q::ffn_receptance);
  sigmoid_gate_forward(space_, branch, gate, r, v);
  residual_add_forward(space_, x, x, branch);
}

template <class ExecSpace, class Scalar>
Matrix<ExecSpace, Scalar> Model<v4, ExecSpace, Scalar>::infer(const TokenView& tokens, int T, const State& state,
                                                              bool all_positions, const PositionView& positions) {
  const int S = state.slots(), N = S * T;
  if (state.layers() != config_.n_layer || state.n_embd() != config_.n_embd)
    throw std::invalid_argument("Model::infer: state of " + std::to_string(state.layers()) + " layers x " +
                                std::to_string(state.n_embd()) + " channels for a model of " +
                                std::to_string(config_.n_layer) + " x " + std::to_string(config_.n_embd));
  if (T < 1 || int(tokens.extent(0)) != N)
    throw std::invalid_argument("Model::infer: " + std::to_string(tokens.extent(0)) + " tokens for " +
                                std::to_string(S) + " slots x T = " + std::to_string(T));
  if (!inference_ || inference_->rows < N || inference_->slots != S)
    inference_ = std::make_unique<InferenceV4<ExecSpace, Scalar>>(
        std::max(N, inference_ && inference_->slots == S ? inference_->rows : 0), S, config_.n_embd, config_.ffn(),
        config_.vocab_size);
  auto& work = *inference_;
  using Work = InferenceV4<ExecSpace, Scalar>;
  const auto& w = weights_;
  const auto emb = Work::head_rows(work.emb, N), x = Work::head_rows(work.x, N);
  embed_tokens(space_, config_, emb, tokens, positions, w.emb);
  layer_norm_forward(space_, x, Work::head_rows(work.mean, N), Work::head_rows(work.rstd, N), emb, w.ln0_weight,
                     w.ln0_bias);
  for (int i = 0; i < config_.n_layer; ++i) layer_infer(i, T, state, work);
  if (all_positions) {
    if (int(work.all_logits.extent(0)) < N)
      work.all_logits = Work::alloc("all_logits", N, config_.vocab_size);
    const auto norm = Work::head_rows(work.a, N), logits = Work::head_rows(work.all_logits, N);
    layer_norm_forward(space_, norm, Work::head_rows(work.mean, N), Work::head_rows(work.rstd, N), x,
                       w.ln_out_weight, w.ln_out_bias);
    linear(logits, norm, w.head, config_.n_layer, 0);
    return logits;
  }
  // Only each sequence's last token needs logits.
  last_token(space_, T, work.last, x);
  layer_norm_forward(space_, work.last_norm, work.last_mean, work.last_rstd, work.last, w.ln_out_weight,
                     w.ln_out_bias);
  linear(work.logits, work.last_norm, w.head, config_.n_layer, 0);
  return work.logits;
}

template <class ExecSpace, class Scalar>
Matrix<ExecSpace, Scalar> Model<v4, ExecSpace, Scalar>::step(int token, const State& state, int position) {
  if (step_input_.set(space_, config_, state.slots(), token, position))
    return infer(step_input_.token, 1, state, false, step_input_.position);
  return infer(step_input_.token, 1, state);
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::linear(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
                                          const Matrix<ExecSpace, Scalar>& W, int layer, int index) {
  rnn_matrices_->linear(space_, y, x, W, std::size_t(layer) * LinearV4::per_layer + index);
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::train_forward(const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
                                                 const Matrix<ExecSpace, Scalar>& W, int layer, int index) {
  if (!train_bf16_) return matmul_forward(space_, y, x, W);
  train_bf16_->forward(space_, y, x, std::size_t(layer) * LinearV4::per_layer + index);
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::train_backward(const Matrix<ExecSpace, Scalar>& dx, const Matrix<ExecSpace, Scalar>& dW,
                                                  const Matrix<ExecSpace, Scalar>& dy, const Matrix<ExecSpace, Scalar>& x,
                                                  const Matrix<ExecSpace, Scalar>& W, int layer, int index) {
  if (!train_bf16_) return matmul_backward(space_, dx, dW, dy, x, W);
  train_bf16_->backward(space_, dx, dW, dy, x, std::size_t(layer) * LinearV4::per_layer + index);
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::quantize_int8() {
  rnn_matrices_->quantize_int8(space_, linear_matrices(weights_, config_.n_layer, "int8"));
}

template <class ExecSpace, class Scalar>
void Model<v4, ExecSpace, Scalar>::use_bfloat16_weights() {
  rnn_matrices_->use_bfloat16(space_, linear_matrices(weights_, config_.n_layer, "bf16"));
}

template <class ExecSpace, class Scalar>
bool Model<v4, ExecSpace, Scalar>::quantized() const {
  return rnn_matrices_->int8();
}

template <class ExecSpace, class Scalar>
bool Model<v4, ExecSpace, Scalar>::bfloat16_weights() const {
  return rnn_matrices_->bfloat16();
}

template <class ExecSpace, class Scalar>
std::size_t Model<v4, ExecSpace, Scalar>::step_weight_bytes() const {
  return rnn_matrices_->step_weight_bytes(specs_);
}

}  // namespace rwkv
