// Training with precision bf16 (TrainingShape::precision): the loss, the gradients and a few AdamW
// steps stay within bounds that follow from rounding the products' operands to bfloat16, the
// master weights stay float, and the bfloat16 copies follow the weights.
#include "model_support.hpp"

#include <rwkv/optimizer.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/v7/model.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace rwkv;
using namespace rwkv::test;

namespace {

// The bounds. Rounding an operand to bfloat16 moves it by a relative u = 2^-9 at most, so a
// product whose two operands are rounded moves by at most 2u of its sum of |x w|. The deepest chain
// of rounded products in a forward is d = 4L + 1 (two in each branch of each layer, then the head;
// RWKV-7's LoRA products stay float); to
// first order, with layer norms that keep the scale of their inputs, the loss moves by at most
// 2 d u of itself. The backward rounds dy and x once more in each of its products along a chain as
// long: gradients by at most 4 d u, measured as the norm of the difference over the norm.
constexpr double u = 1.0 / 512;
constexpr int n_layer = 2;
constexpr int depth = 4 * n_layer + 1;

double relative_l2_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / norm);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("bf16 training stays within bfloat16 rounding of fp32 training", "[model][bf16]",
                        VersionsSpacesAndScalars) {
  using Space = typename TestType::space;
  using Scalar = typename TestType::scalar;
  using TestModel = Model<typename TestType::version, Space, Scalar>;
  const ModelConfig config = version_config<typename TestType::version>(n_layer, 32, 0, 97);
  const int B = 2, T = 16;
  TestModel fp32(config, TrainingShape{B, T, false, Precision::fp32});
  TestModel bf16(config, TrainingShape{B, T, false, Precision::bf16});
  randomize_like_trained(fp32, 21);
  Kokkos::deep_copy(bf16.weights().flat, fp32.weights().flat);
  const auto tokens = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 22), "tokens");
  const auto targets = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 23), "targets");

  // Loss and gradients of the same weights.
  fp32.zero_grad();
  bf16.zero_grad();
  const double loss32 = fp32.forward(tokens, targets), loss16 = bf16.forward(tokens, targets);
  fp32.backward(1e-4);
  bf16.backward(1e-4);
  CAPTURE(loss32, loss16);
  CHECK(std::abs(loss16 - loss32) <= 2 * depth * u * std::abs(loss32));
  CHECK(loss16 != loss32);  // the products did round
  const auto g32 = as_doubles(to_host(fp32.grads().flat)), g16 = as_doubles(to_host(bf16.grads().flat));
  CHECK(relative_l2_difference(g16, g32) <= 4 * depth * u);
  CHECK(relative_l2_difference(g16, g32) > 0);
  // Each matrix's gradient (the products' dW) on its own.
  for (const TensorSpec& s : fp32.specs()) {
    if (!s.is_matrix() || s.name == "emb.weight") continue;
    CAPTURE(s.name);
    const std::vector<double> a(g16.begin() + s.offset, g16.begin() + s.offset + s.size());
    const std::vector<double> b(g32.begin() + s.offset, g32.begin() + s.offset + s.size());
    CHECK(relative_l2_difference(a, b) <= 4 * depth * u);
  }

  // A few AdamW steps from there. Each step may move a weight by up to 2 lr more in one model than
  // in the other (an update of up to lr either way); with lr below u times the weights' scale that
  // adds at most u per step to the relative difference of the weights, and so to the loss.
  OptimizerConfig oc;
  oc.lr_init = oc.lr_final = 1e-4;
  oc.warmup_steps = 0;
  oc.total_steps = 3;
  AdamW<Space, Scalar> opt32(fp32.specs(), oc), opt16(bf16.specs(), oc);
  for (int step = 0; step < oc.total_steps; ++step) {
    opt32.step(fp32.space(), fp32.weights().flat, fp32.grads().flat, step);
    opt16.step(bf16.space(), bf16.weights().flat, bf16.grads().flat, step);
    fp32.zero_grad();
    bf16.zero_grad();
    const double l32 = fp32.forward(tokens, targets), l16 = bf16.forward(tokens, targets);
    fp32.backward(1e-4);
    bf16.backward(1e-4);
    CAPTURE(step, l32, l16);
    CHECK(std::abs(l16 - l32) <= (2 * depth + step + 1) * u * std::abs(l32));
  }
}

TEMPLATE_LIST_TEST_CASE("bf16 training multiplies by the weights as they are at each forward", "[model][bf16]",
                        VersionsAndSpaces) {
  using Space = typename TestType::space;
  using TestModel = Model<typename TestType::version, Space, float>;
  // Weights written after the first forward (as an optimizer step, a load or an initialization
  // writes them) must reach the products: the loss of the new weights is the loss of a model
  // built with them.
  const ModelConfig config = version_config<typename TestType::version>(1, 16, 0, 31);
  const int B = 1, T = 8;
  TestModel trained(config, TrainingShape{B, T, false, Precision::bf16});
  TestModel fresh(config, TrainingShape{B, T, false, Precision::bf16});
  randomize_weights(trained, 31);
  const auto tokens = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 32), "tokens");
  const auto targets = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 33), "targets");
  const double before = trained.forward(tokens, targets);
  randomize_weights(trained, 34);
  randomize_weights(fresh, 34);
  const double after = trained.forward(tokens, targets);
  CHECK(after != before);
  CHECK(after == fresh.forward(tokens, targets));
}
