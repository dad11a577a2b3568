// Loss of a model over held-out tokens: sequential windows of the model's ctx_len (data.hpp),
// batch rows at a time; rows past the last window do not count. windowed_loss_rnn: the same in
// RNN mode.
#pragma once

#include <rwkv/data.hpp>
#include <rwkv/kernels/cross_entropy.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

namespace rwkv {

struct WindowedLoss {
  double mean = 0;          // nats per predicted token
  std::size_t tokens = 0;   // predicted tokens
};

// At most max_windows windows (0: all). Model: a Model<...> (forward, row_losses, shape).
template <class ModelT>
WindowedLoss windowed_loss(ModelT& model, std::span<const Token> tokens, std::size_t max_windows = 0) {
  const int B = model.shape().batch, T = model.shape().ctx_len;
  std::size_t windows = sequential_window_count(tokens.size(), T);
  if (max_windows > 0) windows = std::min(windows, max_windows);
  std::vector<std::int32_t> inputs(std::size_t(B) * T, 0), targets(std::size_t(B) * T, 0);
  typename ModelT::TokenView input_view("eval_inputs", B * T), target_view("eval_targets", B * T);
  double sum = 0;
  WindowedLoss result;
  for (std::size_t first = 0; first < windows; first += B) {
    // Rows past `windows` (when max_windows stops early) may be filled too; they do not count.
    const int rows = std::min(fill_sequential_batch(tokens, T, first, B, inputs, targets),
                              int(std::min<std::size_t>(B, windows - first)));
    Kokkos::deep_copy(input_view, Kokkos::View<const int*, Kokkos::HostSpace>(inputs.data(), inputs.size()));
    Kokkos::deep_copy(target_view, Kokkos::View<const int*, Kokkos::HostSpace>(targets.data(), targets.size()));
    model.forward(input_view, target_view);
    auto losses = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.row_losses());
    for (int n = 0; n < rows * T; ++n) sum += losses(n);
    result.tokens += std::size_t(rows) * T;
  }
  result.mean = result.tokens ? sum / double(result.tokens) : 0.0 / 0.0;
  return result;
}

// The same windows through RNN mode (Model::infer from a fresh state per window, every position's
// logits): how int8 weights, which only RNN mode uses, are evaluated. `slots` windows per pass.
template <class ModelT>
WindowedLoss windowed_loss_rnn(ModelT& model, std::span<const Token> tokens, int T, int slots,
                               std::size_t max_windows = 0) {
  using Space = std::remove_cvref_t<decltype(model.space())>;
  using Scalar = typename std::remove_cvref_t<decltype(model.logits())>::non_const_value_type;
  std::size_t windows = sequential_window_count(tokens.size(), T);
  if (max_windows > 0) windows = std::min(windows, max_windows);
  std::vector<std::int32_t> inputs(std::size_t(slots) * T, 0), targets(std::size_t(slots) * T, 0);
  typename ModelT::TokenView input_view("eval_inputs", slots * T), target_view("eval_targets", slots * T);
  Vector<Space, Scalar> loss("eval_loss", slots * T), lse("eval_lse", slots * T);
  const auto state = model.new_state(slots);
  double sum = 0;
  WindowedLoss result;
  for (std::size_t first = 0; first < windows; first += slots) {
    const int rows = std::min(fill_sequential_batch(tokens, T, first, slots, inputs, targets),
                              int(std::min<std::size_t>(slots, windows - first)));
    Kokkos::deep_copy(input_view, Kokkos::View<const int*, Kokkos::HostSpace>(inputs.data(), inputs.size()));
    Kokkos::deep_copy(target_view, Kokkos::View<const int*, Kokkos::HostSpace>(targets.data(), targets.size()));
    state.reset(model.space());
    const auto& logits = model.infer(input_view, T, state, true);
    cross_entropy_forward(model.space(), loss, lse, logits, target_view);
    const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), loss);
    for (int n = 0; n < rows * T; ++n) sum += host(n);
    result.tokens += std::size_t(rows) * T;
  }
  result.mean = result.tokens ? sum / double(result.tokens) : 0.0 / 0.0;
  return result;
}

}  // namespace rwkv
