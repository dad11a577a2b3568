// The two ends every version's model shares: the token embedding (with the 2D position channels of
// image tokens, where the config adds them; an RNN step's input) and the mean cross-entropy, on
// hard targets or on the image pipeline's soft levels (kernels/cross_entropy_soft.hpp). Private to
// the library.
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/model.hpp>

#include <rwkv/kernels/cross_entropy.hpp>
#include <rwkv/kernels/cross_entropy_soft.hpp>
#include <rwkv/kernels/embedding.hpp>
#include <rwkv/kernels/position_channels.hpp>

#include <stdexcept>
#include <string>

namespace rwkv {

// x [N, C] = emb[tokens], plus the position channels of `positions` (one per token, or none).
template <class ExecSpace, class Scalar>
void embed_tokens(const ExecSpace& space, const ModelConfig& config, const Matrix<ExecSpace, Scalar>& x,
                  const TokenViewOf<ExecSpace>& tokens, const TokenViewOf<ExecSpace>& positions,
                  const Matrix<ExecSpace, Scalar>& emb) {
  const int N = int(x.extent(0));
  if (positions.extent(0) != 0 && int(positions.extent(0)) != N)
    throw std::invalid_argument("Model: " + std::to_string(positions.extent(0)) + " positions for " +
                                std::to_string(N) + " tokens (one per token, or none)");
  embedding_forward(space, x, tokens, emb);
  if (config.image_positions && positions.extent(0) != 0) position_channels_forward(space, x, positions);
}

template <class ExecSpace>
bool StepInput<ExecSpace>::set(const ExecSpace& space, const ModelConfig& config, int slots, int token_id,
                               int position_id) {
  if (slots != 1) throw std::invalid_argument("Model::step: a one-slot state is needed, not " + std::to_string(slots));
  if (token_id < 0 || token_id >= config.vocab_size)
    throw std::invalid_argument("Model::step: token " + std::to_string(token_id) + " outside the vocabulary of " +
                                std::to_string(config.vocab_size));
  if (position_id < -1 || position_id >= position_count)
    throw std::invalid_argument("Model::step: image position " + std::to_string(position_id) + " outside -1.." +
                                std::to_string(position_count - 1));
  if (token.extent(0) != 1) token = TokenViewOf<ExecSpace>("step_token", 1);
  Kokkos::deep_copy(space, token, token_id);
  if (!config.image_positions || position_id < 0) return false;
  if (position.extent(0) != 1) position = TokenViewOf<ExecSpace>("step_position", 1);
  Kokkos::deep_copy(space, position, position_id);
  return true;
}

// Throws std::invalid_argument naming the shapes when `soft_levels` (empty: hard targets) cannot
// serve as the targets of N rows over the config's vocabulary.
template <class ExecSpace>
void check_soft_levels(const ModelConfig& config, int N, const LevelViewOf<ExecSpace>& soft_levels) {
  if (soft_levels.extent(0) == 0) return;
  if (int(soft_levels.extent(0)) != N || soft_levels.extent(1) != 3)
    throw std::invalid_argument("Model::forward: soft levels of shape [" + std::to_string(soft_levels.extent(0)) +
                                ", " + std::to_string(soft_levels.extent(1)) + "] for " + std::to_string(N) +
                                " tokens (expected [" + std::to_string(N) + ", 3], or none)");
  if (config.vocab_size < image_token_offset + soft_target_classes)
    throw std::invalid_argument("Model::forward: soft targets need the image tokens " +
                                std::to_string(image_token_offset) + ".." +
                                std::to_string(image_token_offset + soft_target_classes - 1) +
                                ", the vocabulary has " + std::to_string(config.vocab_size));
}

// Each row's loss and log-sum-exp; returns their mean.
template <class ExecSpace, class Scalar>
double loss_forward(const ExecSpace& space, const Vector<ExecSpace, Scalar>& row_loss,
                    const Vector<ExecSpace, Scalar>& row_lse, const Matrix<ExecSpace, Scalar>& logits,
                    const TokenViewOf<ExecSpace>& targets, const LevelViewOf<ExecSpace>& soft_levels) {
  if (soft_levels.extent(0) != 0)
    cross_entropy_soft_forward(space, row_loss, row_lse, logits, targets, soft_levels, image_token_offset);
  else
    cross_entropy_forward(space, row_loss, row_lse, logits, targets);
  return mean_of<ExecSpace, Scalar>(space, row_loss);
}

// The logits' storage receives the gradient of the mean loss, with RWKV-LM's L2Wrap penalty
// (l2wrap * max logit at the argmax, per row) when l2wrap > 0.
template <class ExecSpace, class Scalar>
void loss_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& logits,
                   const Vector<ExecSpace, Scalar>& row_lse, const TokenViewOf<ExecSpace>& targets,
                   const LevelViewOf<ExecSpace>& soft_levels, double l2wrap) {
  const double N = double(logits.extent(0));
  if (soft_levels.extent(0) != 0)
    cross_entropy_soft_backward(space, logits, logits, row_lse, targets, soft_levels, image_token_offset,
                                Scalar(1.0 / N), Scalar(l2wrap / N));
  else
    cross_entropy_backward(space, logits, logits, row_lse, targets, Scalar(1.0 / N), Scalar(l2wrap / N));
}

}  // namespace rwkv
