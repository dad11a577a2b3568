// The forward and backward passes of Model<v7, ...> (src/v7/model_impl.hpp holds its buffers),
// private to the library. rwkv/v7/model.hpp's comment gives the names.
#pragma once

#include "model_impl.hpp"

namespace rwkv {

namespace model_v7_detail {

template <class ExecSpace, class Scalar>
Vectors<time_mix7_lerps, ExecSpace, Scalar> lerp_vectors(const BlockWeights7<ExecSpace, Scalar>& w) {
  return {w.att_x_r, w.att_x_w, w.att_x_k, w.att_x_v, w.att_x_a, w.att_x_g};
}

template <class ExecSpace, class Scalar>
ConstVectors<time_mix7_lerps, ExecSpace, Scalar> const_lerp_vectors(const BlockWeights7<ExecSpace, Scalar>& w) {
  return {w.att_x_r, w.att_x_w, w.att_x_k, w.att_x_v, w.att_x_a, w.att_x_g};
}

// Called with explicit template arguments: the alias hides them from deduction.
template <class ExecSpace, class Scalar>
ConstMatrices<time_mix7_lerps, ExecSpace, Scalar> as_const(const Matrices<time_mix7_lerps, ExecSpace, Scalar>& m) {
  ConstMatrices<time_mix7_lerps, ExecSpace, Scalar> c;
  for (int i = 0; i < time_mix7_lerps; ++i) c[i] = m[i];
  return c;
}

// att.r_k [H, N] (a Matrix) as the [C] vector ln_x7 reads.
template <class RK>
auto as_channels(const RK& r_k) {
  return Kokkos::View<typename RK::value_type*, Kokkos::LayoutRight, typename RK::memory_space>(r_k.data(), r_k.size());
}

// The value the layer's wkv7 and bonus see: v itself in layer 0, the residual-mixed one after.
template <class ExecSpace, class Scalar>
const Matrix<ExecSpace, Scalar>& value_of(int layer, const LayerActivationsV7<ExecSpace, Scalar>& A) {
  return layer == 0 ? A.v : A.v_mixed;
}

template <class ExecSpace, class Scalar>
Wkv7Inputs<ExecSpace, Scalar> wkv_inputs(int layer, const LayerActivationsV7<ExecSpace, Scalar>& A) {
  return {A.r, A.z, A.k_out, value_of(layer, A), A.alpha, A.beta};
}

template <class ExecSpace, class Scalar>
LnX7Inputs<ExecSpace, Scalar> ln_x_inputs(int layer, const LayerActivationsV7<ExecSpace, Scalar>& A,
                                          const BlockWeights7<ExecSpace, Scalar>& w) {
  return {A.y, A.r, A.k_out, value_of(layer, A), A.g, as_channels(w.att_r_k), w.att_ln_x_weight, w.att_ln_x_bias};
}

}  // namespace model_v7_detail

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::layer_forward(int i, LayerActivationsV7<ExecSpace, Scalar>& A) {
  auto& s = *scratch_;
  Kokkos::deep_copy(space_, s.wkv_state, wkv7_state_t<Scalar>(0));
  layer_pass(i, shape_.ctx_len, A,
             {residual_[i], residual_[i + 1], v_first_, s.branch, {}, {}, s.wkv_state, A.wkv_saved});
}

// One layer on io.x_in, T tokens a sequence, into A and io.x_out; the token shifts read io's shift
// states before last_token() replaces them (when there are any).
template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::layer_pass(int i, int T, LayerActivationsV7<ExecSpace, Scalar>& A,
                                              const LayerIoV7<ExecSpace, Scalar>& io) {
  using namespace model_v7_detail;
  using Vec = Vector<ExecSpace, Scalar>;
  const int N = config_.head_size;
  const auto& w = weights_.blocks[i];
  const auto& x = io.x_in;
  const bool carried = io.att_shift.extent(0) > 0;
  // time mix
  layer_norm_forward(space_, A.a, A.a_mean, A.a_rstd, x, w.ln1_weight, w.ln1_bias);
  token_shift7_forward<time_mix7_lerps>(space_, T, A.xc, A.a, io.att_shift, const_lerp_vectors(w));
  if (carried) last_token(space_, T, io.att_shift, A.a);
  // RNN mode multiplies by the matrices' int8 or bfloat16 copies where there are any, training by
  // the float weights or, with precision bf16, their bfloat16 copies.
  const auto product = [&](const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& in,
                           const Matrix<ExecSpace, Scalar>& W, int index) {
    if (carried) return linear(y, in, W, i, index);
    train_forward(y, in, W, i, index);
  };
  product(A.r, A.xc[lerp7_r], w.att_receptance, LinearV7::att_receptance);
  product(A.k, A.xc[lerp7_k], w.att_key, LinearV7::att_key);
  product(A.v, A.xc[lerp7_v], w.att_value, LinearV7::att_value);
  lora_matmul_forward(space_, A.h_w, A.xc[lerp7_w], w.att_w.down);
  lora7_forward(space_, Lora7Activation::tanh, A.h_w, A.h_w, Vec());
  lora_matmul_forward(space_, A.z, A.h_w, w.att_w.up);
  lora7_forward(space_, Lora7Activation::none, A.z, A.z, w.att_w.bias);
  lora_matmul_forward(space_, A.h_a, A.xc[lerp7_a], w.att_a.down);
  lora_matmul_forward(space_, A.iclr, A.h_a, w.att_a.up);
  lora7_forward(space_, Lora7Activation::sigmoid, A.iclr, A.iclr, w.att_a.bias);
  if (i == 0) {
    Kokkos::deep_copy(space_, io.v_first, A.v);
  } else {
    lora_matmul_forward(space_, A.h_v, A.xc[lerp7_v], w.att_v.down);
    lora_matmul_forward(space_, A.p_v, A.h_v, w.att_v.up);
    value_residual7_forward(space_, A.v_mixed, A.v, io.v_first, A.p_v, w.att_v.bias);
  }
  lora_matmul_forward(space_, A.h_g, A.xc[lerp7_g], w.att_g.down);
  lora7_forward(space_, Lora7Activation::sigmoid, A.h_g, A.h_g, Vec());
  lora_matmul_forward(space_, A.g, A.h_g, w.att_g.up);
  key7_forward(space_, N, A.k_out, A.alpha, A.beta, A.k_norm, A.k, A.iclr, w.att_k_k, w.att_k_a);
  with_head_size(N, [&](auto n) {
    wkv7_forward<decltype(n)::value>(space_, T, A.y, io.wkv_state, io.wkv_saved, wkv_inputs(i, A));
  });
  ln_x7_forward(space_, N, A.u, A.ln_x_mean, A.ln_x_rstd, ln_x_inputs(i, A, w), Scalar(config_.ln_x_eps));
  product(io.branch, A.u, w.att_output, LinearV7::att_output);
  residual_add_forward(space_, A.x_mid, x, io.branch);
  // channel mix
  layer_norm_forward(space_, A.f, A.f_mean, A.f_rstd, A.x_mid, w.ln2_weight, w.ln2_bias);
  token_shift7_forward<1>(space_, T, Matrices<1, ExecSpace, Scalar>{A.ffn_xk}, A.f, io.ffn_shift,
                          ConstVectors<1, ExecSpace, Scalar>{w.ffn_x_k});
  if (carried) last_token(space_, T, io.ffn_shift, A.f);
  product(A.ffn_k, A.ffn_xk, w.ffn_key, LinearV7::ffn_key);
  squared_relu_forward(space_, A.ffn_k2, A.ffn_k);
  product(io.branch, A.ffn_k2, w.ffn_value, LinearV7::ffn_value);
  residual_add_forward(space_, io.x_out, A.x_mid, io.branch);
}

// residual_grad_ holds the gradient of layer i's output on entry and of its input on exit: the
// residual passes it through and each branch's backward adds to it.
template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::layer_backward(int i, LayerActivationsV7<ExecSpace, Scalar>& A) {
  using M = Matrix<ExecSpace, Scalar>;
  const int T = shape_.ctx_len;
  const auto& w = weights_.blocks[i];
  auto& g = grads_.blocks[i];
  auto& s = *scratch_;
  const auto& dx = residual_grad_;
  const M fresh_sequence;  // no shift state, and so no gradient of one
  auto zero = [&](const M& view) { Kokkos::deep_copy(space_, view, Scalar(0)); };
  // channel mix: x_out = x_mid + relu(x_k Wk^T)^2 Wv^T
  zero(s.d_ffn_k2);
  train_backward(s.d_ffn_k2, g.ffn_value, dx, A.ffn_k2, w.ffn_value, i, LinearV7::ffn_value);
  zero(s.d_ffn_k);
  squared_relu_backward(space_, s.d_ffn_k, s.d_ffn_k2, A.ffn_k);
  zero(s.d_ffn_xk);
  train_backward(s.d_ffn_xk, g.ffn_key, s.d_ffn_k, A.ffn_xk, w.ffn_key, i, LinearV7::ffn_key);
  zero(s.d_norm);
  token_shift7_backward<1>(space_, T, s.d_norm, fresh_sequence, Vectors<1, ExecSpace, Scalar>{g.ffn_x_k},
                           ConstMatrices<1, ExecSpace, Scalar>{s.d_ffn_xk}, A.f, fresh_sequence,
                           ConstVectors<1, ExecSpace, Scalar>{w.ffn_x_k});
  layer_norm_backward(space_, dx, g.ln2_weight, g.ln2_bias, s.d_norm, A.x_mid, w.ln2_weight, A.f_mean, A.f_rstd);
  time_mix_backward(i, A);
}

// The time mix's part of layer_backward: x_mid = x + ln_x7(...) Wo^T, from the gradient of x_mid in
// residual_grad_ to that of x.
template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::time_mix_backward(int i, LayerActivationsV7<ExecSpace, Scalar>& A) {
  using namespace model_v7_detail;
  using M = Matrix<ExecSpace, Scalar>;
  using Vec = Vector<ExecSpace, Scalar>;
  const int T = shape_.ctx_len, N = config_.head_size;
  const auto& w = weights_.blocks[i];
  auto& g = grads_.blocks[i];
  auto& s = *scratch_;
  const auto& dx = residual_grad_;
  const M fresh_sequence;
  auto zero = [&](const M& view) { Kokkos::deep_copy(space_, view, Scalar(0)); };
  zero(s.d_u);
  train_backward(s.d_u, g.att_output, dx, A.u, w.att_output, i, LinearV7::att_output);
  // ln_x7 and wkv7 both add to the gradients of r, k_out and the value (d_v_mixed, in layer 0 that
  // of v).
  const M accumulated[] = {s.d_y, s.d_r, s.d_k_out, s.d_v_mixed, s.d_g, s.d_z, s.d_alpha, s.d_beta};
  for (const M& d : accumulated) zero(d);
  ln_x7_backward(space_, N,
                 LnX7Grads<ExecSpace, Scalar>{s.d_y, s.d_r, s.d_k_out, s.d_v_mixed, s.d_g, as_channels(g.att_r_k),
                                              g.att_ln_x_weight, g.att_ln_x_bias},
                 s.head_work, s.d_u, ln_x_inputs(i, A, w), A.ln_x_mean, A.ln_x_rstd);
  with_head_size(N, [&](auto n) {
    wkv7_backward<decltype(n)::value>(
        space_, T, Wkv7Grads<ExecSpace, Scalar>{s.d_r, s.d_z, s.d_k_out, s.d_v_mixed, s.d_alpha, s.d_beta},
        Wkv7State<ExecSpace, Scalar>(), s.d_y, A.wkv_saved, wkv_inputs(i, A));
  });
  zero(s.d_k);
  zero(s.d_iclr);
  key7_backward(space_, N, s.d_k, s.d_iclr, g.att_k_k, g.att_k_a, s.head_work, s.d_k_out, s.d_alpha, s.d_beta, A.k,
                A.iclr, w.att_k_k, w.att_k_a, A.k_norm);
  for (int j = 0; j < time_mix7_lerps; ++j) zero(s.d_xc[j]);
  // gate: g = h_g g2, h_g = sigmoid(x_g g1)
  zero(s.d_h_g);
  lora_matmul_backward(space_, s.d_h_g, g.att_g.up, s.d_g, A.h_g, w.att_g.up);
  zero(s.d_h_g_in);
  lora7_backward(space_, Lora7Activation::sigmoid, s.d_h_g_in, Vec(), s.d_h_g, A.h_g);
  lora_matmul_backward(space_, s.d_xc[lerp7_g], g.att_g.down, s.d_h_g_in, A.xc[lerp7_g], w.att_g.down);
  // in-context learning rate: iclr = sigmoid(a0 + h_a a2), h_a = x_a a1
  zero(s.d_p_a);
  lora7_backward(space_, Lora7Activation::sigmoid, s.d_p_a, g.att_a.bias, s.d_iclr, A.iclr);
  zero(s.d_h_a);
  lora_matmul_backward(space_, s.d_h_a, g.att_a.up, s.d_p_a, A.h_a, w.att_a.up);
  lora_matmul_backward(space_, s.d_xc[lerp7_a], g.att_a.down, s.d_h_a, A.xc[lerp7_a], w.att_a.down);
  // decay logit: z = w0 + h_w w2, h_w = tanh(x_w w1); d_z is the product's gradient as it is
  lora7_backward(space_, Lora7Activation::none, M(), g.att_w.bias, s.d_z, A.z);
  zero(s.d_h_w);
  lora_matmul_backward(space_, s.d_h_w, g.att_w.up, s.d_z, A.h_w, w.att_w.up);
  zero(s.d_h_w_in);
  lora7_backward(space_, Lora7Activation::tanh, s.d_h_w_in, Vec(), s.d_h_w, A.h_w);
  lora_matmul_backward(space_, s.d_xc[lerp7_w], g.att_w.down, s.d_h_w_in, A.xc[lerp7_w], w.att_w.down);
  // value: layer 0's v also feeds every later layer, whose gradients v_first_grad_ has gathered
  if (i == 0) {
    residual_add_forward(space_, s.d_v_mixed, s.d_v_mixed, v_first_grad_);
  } else {
    zero(s.d_v);
    zero(s.d_p_v);
    value_residual7_backward(space_, s.d_v, v_first_grad_, s.d_p_v, g.att_v.bias, s.d_v_mixed, A.v, v_first_, A.p_v,
                             w.att_v.bias);
    zero(s.d_h_v);
    lora_matmul_backward(space_, s.d_h_v, g.att_v.up, s.d_p_v, A.h_v, w.att_v.up);
    lora_matmul_backward(space_, s.d_xc[lerp7_v], g.att_v.down, s.d_h_v, A.xc[lerp7_v], w.att_v.down);
  }
  const M& d_v = i == 0 ? s.d_v_mixed : s.d_v;
  train_backward(s.d_xc[lerp7_r], g.att_receptance, s.d_r, A.xc[lerp7_r], w.att_receptance, i,
                 LinearV7::att_receptance);
  train_backward(s.d_xc[lerp7_k], g.att_key, s.d_k, A.xc[lerp7_k], w.att_key, i, LinearV7::att_key);
  train_backward(s.d_xc[lerp7_v], g.att_value, d_v, A.xc[lerp7_v], w.att_value, i, LinearV7::att_value);
  zero(s.d_norm);
  token_shift7_backward<time_mix7_lerps>(space_, T, s.d_norm, fresh_sequence, lerp_vectors(g),
                                         as_const<ExecSpace, Scalar>(s.d_xc), A.a, fresh_sequence,
                                         const_lerp_vectors(w));
  layer_norm_backward(space_, dx, g.ln1_weight, g.ln1_bias, s.d_norm, residual_[i], w.ln1_weight, A.a_mean, A.a_rstd);
}

template <class ExecSpace, class Scalar>
double Model<v7, ExecSpace, Scalar>::forward(const TokenView& tokens, const TokenView& targets,
                                             const PositionView& positions, const LevelView& soft_levels) {
  require_training("forward");
  const int rows = shape_.batch * shape_.ctx_len;
  if (int(tokens.extent(0)) != rows || int(targets.extent(0)) != rows)
    throw std::invalid_argument("Model::forward: " + std::to_string(tokens.extent(0)) + " tokens and " +
                                std::to_string(targets.extent(0)) + " targets for B * T = " + std::to_string(rows));
  check_soft_levels<ExecSpace>(config_, rows, soft_levels);
  tokens_ = tokens;
  targets_ = targets;
  soft_levels_ = soft_levels;
  const auto& w = weights_;
  if (train_bf16_) train_bf16_->refresh(space_, linear_matrices7(weights_, config_.n_layer, "train_bf16"));
  embed_tokens(space_, config_, emb_out_, tokens, positions, w.emb);
  layer_norm_forward(space_, residual_[0], ln0_mean_, ln0_rstd_, emb_out_, w.ln0_weight, w.ln0_bias);
  for (int i = 0; i < config_.n_layer; ++i) layer_forward(i, activations(i));
  layer_norm_forward(space_, head_in_, ln_out_mean_, ln_out_rstd_, residual_[config_.n_layer], w.ln_out_weight,
                     w.ln_out_bias);
  train_forward(logits_, head_in_, w.head, config_.n_layer, 0);
  return loss_forward(space_, row_loss_, row_lse_, logits_, targets, soft_levels_);
}

template <class ExecSpace, class Scalar>
void Model<v7, ExecSpace, Scalar>::backward(double l2wrap) {
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
  Kokkos::deep_copy(space_, v_first_grad_, Scalar(0));
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
Matrix<ExecSpace, Scalar> Model<v7, ExecSpace, Scalar>::infer(const TokenView& tokens, int T, const State& state,
                                                              bool all_positions, const PositionView& positions) {
  const int S = state.slots(), rows = S * T;
  if (state.layers() != config_.n_layer || state.n_embd() != config_.n_embd || state.head_size() != config_.head_size)
    throw std::invalid_argument("Model::infer: state of " + std::to_string(state.layers()) + " layers x " +
                                std::to_string(state.n_embd()) + " channels in heads of " +
                                std::to_string(state.head_size()) + " for a model of " +
                                std::to_string(config_.n_layer) + " x " + std::to_string(config_.n_embd) +
                                " in heads of " + std::to_string(config_.head_size));
  if (T < 1 || int(tokens.extent(0)) != rows)
    throw std::invalid_argument("Model::infer: " + std::to_string(tokens.extent(0)) + " tokens for " +
                                std::to_string(S) + " slots x T = " + std::to_string(T));
  // Steps and prefills keep their buffers apart, so that a prefill between steps allocates nothing.
  auto& buffers = T == 1 ? step_work_ : prefill_work_;
  if (!buffers || buffers->slots != S || buffers->T != T)
    buffers = std::make_unique<InferenceV7<ExecSpace, Scalar>>(S, T, config_);
  auto& work = *buffers;
  const auto& w = weights_;
  embed_tokens(space_, config_, work.emb, tokens, positions, w.emb);
  layer_norm_forward(space_, work.x, work.mean, work.rstd, work.emb, w.ln0_weight, w.ln0_bias);
  for (int i = 0; i < config_.n_layer; ++i)
    layer_pass(i, T, work.layer,
               {work.x, work.x, work.v_first, work.branch, state.att_shift(i), state.ffn_shift(i), state.wkv(i), {}});
  if (all_positions) {
    if (work.all_logits.extent(0) == 0)
      work.all_logits = Matrix<ExecSpace, Scalar>("infer_all_logits", rows, config_.vocab_size);
    layer_norm_forward(space_, work.emb, work.mean, work.rstd, work.x, w.ln_out_weight, w.ln_out_bias);
    linear(work.all_logits, work.emb, w.head, config_.n_layer, 0);
    return work.all_logits;
  }
  // Only each sequence's last token needs logits.
  last_token(space_, T, work.last, work.x);
  layer_norm_forward(space_, work.last_norm, work.last_mean, work.last_rstd, work.last, w.ln_out_weight,
                     w.ln_out_bias);
  linear(work.logits, work.last_norm, w.head, config_.n_layer, 0);
  return work.logits;
}

template <class ExecSpace, class Scalar>
Matrix<ExecSpace, Scalar> Model<v7, ExecSpace, Scalar>::step(int token, const State& state, int position) {
  if (step_input_.set(space_, config_, state.slots(), token, position))
    return infer(step_input_.token, 1, state, false, step_input_.position);
  return infer(step_input_.token, 1, state);
}

}  // namespace rwkv
