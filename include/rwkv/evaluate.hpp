// Loss of a model over held-out tokens: sequential windows (data.hpp), in parallel mode or in RNN
// mode, several windows per pass; and the unigram baseline a model must beat.
#pragma once

#include <rwkv/data.hpp>
#include <rwkv/kernels/cross_entropy.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace rwkv {

struct WindowedLoss {
  double mean = 0;          // nats per predicted token
  std::size_t tokens = 0;   // predicted tokens
};

// The mean of row_losses(inputs, targets) over sequential windows of T tokens, B windows per call
// (views of [B*T] token ids; the call returns the [B*T] per-token losses), at most max_windows
// windows (0: all). Rows past the last window are filled with earlier data but do not count.
template <class TokenView, class RowLosses>
WindowedLoss mean_window_loss(std::span<const Token> tokens, int T, int B, std::size_t max_windows,
                              RowLosses&& row_losses) {
  std::size_t windows = sequential_window_count(tokens.size(), T);
  if (max_windows > 0) windows = std::min(windows, max_windows);
  std::vector<std::int32_t> inputs(std::size_t(B) * T, 0), targets(std::size_t(B) * T, 0);
  TokenView input_view("eval_inputs", B * T), target_view("eval_targets", B * T);
  double sum = 0;
  WindowedLoss result;
  for (std::size_t first = 0; first < windows; first += B) {
    const int rows = std::min(fill_sequential_batch(tokens, T, first, B, inputs, targets),
                              int(std::min<std::size_t>(B, windows - first)));
    Kokkos::deep_copy(input_view, Kokkos::View<const int*, Kokkos::HostSpace>(inputs.data(), inputs.size()));
    Kokkos::deep_copy(target_view, Kokkos::View<const int*, Kokkos::HostSpace>(targets.data(), targets.size()));
    const auto losses = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), row_losses(input_view, target_view));
    for (int n = 0; n < rows * T; ++n) sum += losses(n);
    result.tokens += std::size_t(rows) * T;
  }
  result.mean = result.tokens ? sum / double(result.tokens) : 0.0 / 0.0;
  return result;
}

// Parallel mode, the model's training shape: batch windows of ctx_len.
template <class ModelT>
WindowedLoss windowed_loss(ModelT& model, std::span<const Token> tokens, std::size_t max_windows = 0) {
  using TokenView = typename ModelT::TokenView;
  return mean_window_loss<TokenView>(tokens, model.shape().ctx_len, model.shape().batch, max_windows,
                                     [&](const TokenView& inputs, const TokenView& targets) {
                                       model.forward(inputs, targets);
                                       return model.row_losses();
                                     });
}

// RNN mode (Model::infer from a fresh state per window, every position's logits), `slots`
// windows of T per pass: how int8 weights, which only RNN mode uses, are evaluated.
template <class ModelT>
WindowedLoss windowed_loss_rnn(ModelT& model, std::span<const Token> tokens, int T, int slots,
                               std::size_t max_windows = 0) {
  using TokenView = typename ModelT::TokenView;
  using Losses = Vector<typename ModelT::execution_space, typename ModelT::scalar_type>;
  Losses loss("eval_loss", slots * T), lse("eval_lse", slots * T);
  const auto state = model.new_state(slots);
  return mean_window_loss<TokenView>(tokens, T, slots, max_windows, [&](const TokenView& inputs, const TokenView& targets) {
    state.reset(model.space());
    cross_entropy_forward(model.space(), loss, lse, model.infer(inputs, T, state, true), targets);
    return loss;
  });
}

// Cross-entropy (bits per token) of the held-out tokens under the training split's token
// frequencies (add-one smoothed): what a model that knows nothing but the unigram statistics gets.
double unigram_bits(std::span<const Token> train, std::span<const Token> val, int vocab_size);

}  // namespace rwkv
