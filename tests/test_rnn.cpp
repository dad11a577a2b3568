// RNN mode: a parallel prefill leaves the state the token-by-token loop leaves, a batched step
// equals independent steps, and both give the logits of the parallel (training) forward.
#include "model_support.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/evaluate.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/v7/model.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;
using Space = Kokkos::DefaultExecutionSpace;

}  // namespace

TEMPLATE_LIST_TEST_CASE("prefill leaves the state and logits of the token-by-token loop", "[rnn]", SpacesAndScalars) {
  using Space = typename TestType::space;
  using Scalar = typename TestType::scalar;
  const ModelConfig config{3, 24, 40, 37};
  Model<v4, Space, Scalar> model(config, inference_only);
  for (int T : {1, 2, 17, 64}) {
    CAPTURE(T);
    randomize_weights(model, 100 + T, 0.4);
    const auto prompt = random_tokens(T, config.vocab_size, 7 + T);
    auto parallel = model.new_state();
    const auto prefill_logits = copy_of(model.infer(device_tokens<Space>(prompt, "prompt"), T, parallel));
    auto sequential = model.new_state();
    Matrix<Space, Scalar> step_logits;
    for (int token : prompt) step_logits = copy_of(model.step(token, sequential));
    CHECK(relative_difference(parallel.data(), sequential.data()) < tolerance<Scalar>());
    CHECK(relative_difference(prefill_logits, step_logits) < tolerance<Scalar>());
    // Continuing from either state gives the same next logits.
    const auto next_parallel = copy_of(model.step(5, parallel));
    const auto next_sequential = copy_of(model.step(5, sequential));
    CHECK(relative_difference(next_parallel, next_sequential) < tolerance<Scalar>());
  }
}

TEMPLATE_LIST_TEST_CASE("RNN-mode logits equal the parallel forward's at every position", "[rnn]", Spaces) {
  using Space = TestType;
  const ModelConfig config{2, 16, 0, 29};
  const int T = 9;
  Model<v4, Space, double> trainer(config, TrainingShape{1, T, false});
  randomize_weights(trainer, 3, 0.5);
  const auto tokens = random_tokens(T, config.vocab_size, 4);
  trainer.forward(device_tokens<Space>(tokens, "tokens"), device_tokens<Space>(tokens, "targets"));
  const auto all = to_host(trainer.logits());
  auto state = trainer.new_state();
  for (int t = 0; t < T; ++t) {
    CAPTURE(t);
    const auto row = host_copy(trainer.step(tokens[t], state));
    double diff = 0;
    for (int v = 0; v < config.vocab_size; ++v) diff = std::max(diff, std::abs(row(0, v) - all(t, v)));
    CHECK(diff < 1e-12);
  }
}

TEMPLATE_LIST_TEST_CASE("a batched step equals independent steps, slot by slot", "[rnn]", SpacesAndScalars) {
  using Space = typename TestType::space;
  using Scalar = typename TestType::scalar;
  const ModelConfig config{2, 20, 0, 31};
  const int S = 5, steps = 4;
  Model<v4, Space, Scalar> model(config, inference_only);
  randomize_weights(model, 11, 0.5);
  const auto tokens = random_tokens(std::size_t(S) * steps, config.vocab_size, 12);
  auto batched = model.new_state(S);
  std::vector<typename Model<v4, Space, Scalar>::State> singles;
  for (int s = 0; s < S; ++s) singles.push_back(model.new_state());
  for (int i = 0; i < steps; ++i) {
    std::vector<int> column(S);
    for (int s = 0; s < S; ++s) column[s] = tokens[std::size_t(s) * steps + i];
    const auto batch_logits = host_copy(model.infer(device_tokens<Space>(column, "column"), 1, batched));
    for (int s = 0; s < S; ++s) {
      CAPTURE(i, s);
      const auto single = host_copy(model.step(column[s], singles[s]));
      double diff = 0, size = 1;
      for (int v = 0; v < config.vocab_size; ++v) {
        diff = std::max(diff, std::abs(double(batch_logits(s, v)) - double(single(0, v))));
        size = std::max(size, std::abs(double(single(0, v))));
      }
      CHECK(diff / size < tolerance<Scalar>());
    }
  }
  // Resetting one slot makes it start over while the others keep their history.
  batched.reset(Space(), 2);
  const auto after = to_host(batched.data());
  const auto fresh = to_host(model.new_state().data());
  int differing = 0, history = 0;
  for (int l = 0; l < config.n_layer; ++l)
    for (int p = 0; p < 5; ++p)
      for (int c = 0; c < config.n_embd; ++c) {
        differing += after(l, p, 2, c) != fresh(l, p, 0, c);
        history += after(l, p, 1, c) != fresh(l, p, 0, c);
      }
  CHECK(differing == 0);
  CHECK(history > 0);
}

TEST_CASE("an inference-only model refuses training and bad RNN input", "[rnn]") {
  const ModelConfig config{1, 8, 0, 10};
  Model<v4, Space, float> model(config, inference_only);
  CHECK_THROWS_WITH(model.zero_grad(), Catch::Contains("inference only"));
  auto state = model.new_state(2);
  CHECK_THROWS_WITH(model.infer(device_tokens({1, 2, 3}, "t"), 2, state), Catch::Contains("3 tokens for 2 slots"));
  CHECK_THROWS_WITH(model.step(1, state), Catch::Contains("one-slot state"));
  auto one = model.new_state();
  CHECK_THROWS_WITH(model.step(10, one), Catch::Contains("token 10 outside the vocabulary of 10"));
  const Model<v4, Space, float> other(ModelConfig{2, 8, 0, 10}, inference_only);
  CHECK_THROWS_WITH(model.infer(device_tokens({1}, "t"), 1, other.new_state()), Catch::Contains("state of 2 layers"));
}

TEMPLATE_LIST_TEST_CASE("a saved and loaded state continues generation identically", "[rnn][checkpoint]", Versions) {
  using TestModel = Model<TestType, Space, float>;
  const ModelConfig config = version_config<TestType>(2, 16, 0, 23);
  TestModel model(config, inference_only);
  randomize_weights(model, 21, 0.5);
  auto state = model.new_state();
  model.infer(device_tokens(random_tokens(12, config.vocab_size, 22), "prompt"), 12, state);
  const std::string path = "test_rnn_state.h5";
  save_state(path, model, state);
  // Greedy continuation: each step feeds the argmax of the previous logits.
  const auto continue_from = [&](const typename TestModel::State& s) {
    std::vector<float> trace;
    int token = 1;
    for (int i = 0; i < 6; ++i) {
      const auto logits = host_copy(model.step(token, s));
      token = 0;
      for (int v = 0; v < config.vocab_size; ++v) {
        trace.push_back(logits(0, v));
        if (logits(0, v) > logits(0, token)) token = v;
      }
    }
    return trace;
  };
  const auto original = continue_from(state);
  const auto loaded = load_state(path, model);
  CHECK(continue_from(loaded) == original);
  const TestModel other(version_config<TestType>(2, 16, 0, 24), inference_only);
  CHECK_THROWS_WITH(load_state(path, other),
                    Catch::Contains(path) && Catch::Contains("'vocab_size' is 23, the model has 24"));
  // A state of one version is refused by the other's model, naming both.
  using Other = std::conditional_t<std::is_same_v<TestType, v4>, v7, v4>;
  const Model<Other, Space, float> other_version(version_config<Other>(2, 16, 0, 23), inference_only);
  CHECK_THROWS_WITH(load_state(path, other_version),
                    Catch::Contains(path) && Catch::Contains(std::string("'arch' is '") + TestType::name + "'"));
  CHECK_THROWS_WITH(load_state("missing_state.h5", model), Catch::Contains("missing_state.h5: no such file"));
  std::remove(path.c_str());
}

TEMPLATE_LIST_TEST_CASE("RNN-mode evaluation equals the parallel one, partial last batch included", "[rnn][evaluate]",
                        Spaces) {
  using Space = TestType;
  const ModelConfig config{2, 16, 0, 19};
  const int T = 6, B = 4;
  Model<v4, Space, double> model(config, TrainingShape{B, T, false});
  randomize_weights(model, 31, 0.5);
  std::vector<Token> tokens;
  for (int t : random_tokens(7 * T + 1, config.vocab_size, 32)) tokens.push_back(Token(t));  // 7 windows: 4 + 3
  const WindowedLoss parallel = windowed_loss(model, std::span<const Token>(tokens));
  const WindowedLoss rnn = windowed_loss_rnn(model, std::span<const Token>(tokens), T, 3);
  CHECK(parallel.tokens == std::size_t(7 * T));
  CHECK(rnn.tokens == parallel.tokens);
  CHECK(std::abs(rnn.mean - parallel.mean) < 1e-12);
  const WindowedLoss first_five = windowed_loss(model, std::span<const Token>(tokens), 5);
  CHECK(first_five.tokens == std::size_t(5 * T));
}
