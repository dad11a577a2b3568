// The whole RWKV-4 model: gradients against finite differences, the untrained loss, overfitting a
// short text, determinism, and gradient checkpointing.
#include "model_support.hpp"

#include <rwkv/v4/model.hpp>
#include <rwkv/optimizer.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

}  // namespace

TEMPLATE_LIST_TEST_CASE("model gradients match central finite differences (double, tiny config)", "[model]", Spaces) {
  using Space = TestType;
  for (bool recompute : {false, true}) {
    CAPTURE(recompute);
    ModelConfig config{2, 8, 12, 11};
    const int B = 2, T = 5;
    Model<v4, Space, double> model(config, TrainingShape{B, T, recompute});
    randomize_weights(model, 7);
    const auto tokens = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 1), "tokens");
    const auto targets = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 2), "targets");
    model.zero_grad();
    model.forward(tokens, targets);
    model.backward();
    const auto grads = to_host(model.grads().flat);
    auto weights = to_host(model.weights().flat);
    auto weights_device = model.weights().flat;
    auto loss = [&]() {
      Kokkos::deep_copy(weights_device, weights);
      return model.forward(tokens, targets);
    };
    check_gradients(model.specs(), weights, grads, loss, [](const TensorSpec& s) {
      std::vector<std::size_t> all(s.size());
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
      return all;
    });
  }
}

TEMPLATE_LIST_TEST_CASE("with the head zeroed the loss is ln(V)", "[model]", Spaces) {
  using Space = TestType;
  ModelConfig config{2, 32, 0, 300};
  const int B = 2, T = 16;
  Model<v4, Space, float> model(config, TrainingShape{B, T, false});
  model.initialize(3);
  const TensorSpec& head = model.specs().back();
  REQUIRE(head.name == "head.weight");
  Kokkos::deep_copy(model.weights().head, 0.0f);
  const double loss = model.forward(device_tokens<Space>(random_tokens(B * T, 300, 4), "tokens"),
                                    device_tokens<Space>(random_tokens(B * T, 300, 5), "targets"));
  CHECK(std::abs(loss - std::log(300.0)) < 1e-5);
}

namespace {

// Trains a small model on one window of `text` and returns the losses of every step.
template <class Space>
std::vector<double> train_on_text(const std::string& text, int steps, std::uint64_t seed, bool recompute = false) {
  ModelConfig config{2, 32, 0, 256};
  const int T = int(text.size()) - 1;
  Model<v4, Space, float> model(config, TrainingShape{1, T, recompute});
  model.initialize(seed);
  std::vector<int> in(T), out(T);
  for (int t = 0; t < T; ++t) {
    in[t] = (unsigned char)text[t];
    out[t] = (unsigned char)text[t + 1];
  }
  const auto tokens = device_tokens<Space>(in, "tokens");
  const auto targets = device_tokens<Space>(out, "targets");
  OptimizerConfig oc;
  oc.lr_init = 3e-3;
  oc.lr_final = 1e-3;
  oc.warmup_steps = 10;
  oc.total_steps = steps;
  AdamW<Space, float> optimizer(model.specs(), oc);
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    model.zero_grad();
    losses.push_back(model.forward(tokens, targets));
    model.backward();
    optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
  }
  model.zero_grad();
  losses.push_back(model.forward(tokens, targets));
  return losses;
}

const std::string short_text =
    "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
    "and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. "
    "And God said, Let there be light: and there was light.";

}  // namespace

// Training to convergence, 300 steps, on the default space only: the other tests here check the
// same math on every space, at a fraction of the time.
TEST_CASE("a tiny model overfits a 200-byte text", "[model]") {
  REQUIRE(short_text.size() >= 200);
  const auto losses = train_on_text<Kokkos::DefaultExecutionSpace>(short_text.substr(0, 200), 300, 11);
  INFO("first loss " << losses.front() << ", last loss " << losses.back());
  CHECK(losses.front() > 5.0);  // about ln(256) = 5.55 at the start
  CHECK(losses.back() < 0.05);
}

TEMPLATE_LIST_TEST_CASE("the same seed gives the same loss curve, bit for bit; recompute changes nothing", "[model]",
                        Spaces) {
  const auto a = train_on_text<TestType>(short_text, 12, 5);
  const auto b = train_on_text<TestType>(short_text, 12, 5);
  const auto c = train_on_text<TestType>(short_text, 12, 5, true);
  const auto other = train_on_text<TestType>(short_text, 12, 6);
  CHECK(a == b);
  CHECK(a == c);
  CHECK(a != other);
}
