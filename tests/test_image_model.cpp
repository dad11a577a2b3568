// The model side of the image task, for every version: 2D position channels in training, prefill
// and RNN steps alike (and only when the config asks for them), gradients with positions and soft
// targets against finite differences, and image_positions in checkpoints.
#include "model_support.hpp"
#include "temp_dir.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/core/hdf5_support.hpp>
#include <rwkv/kernels/position_channels.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/v7/model.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;
using Space = Kokkos::DefaultExecutionSpace;

template <class Scalar>
using TestModel = Model<v4, Space, Scalar>;
template <class ExecSpace>
using LevelView = typename Model<v4, ExecSpace, double>::LevelView;

// Like a text-to-image sequence: a few text tokens without position, then image positions in
// raster order from `first`, wrapping at 1024.
std::vector<int> sequence_positions(int n, int text, int first) {
  std::vector<int> p(std::size_t(n), -1);
  for (int i = text; i < n; ++i) p[std::size_t(i)] = (first + i - text) % position_count;
  return p;
}

// Soft levels for rows: every third row hard (-1), the others fractional or whole levels.
template <class ExecSpace>
LevelView<ExecSpace> soft_levels(int rows, std::uint64_t seed) {
  Kokkos::View<float**, Kokkos::LayoutRight, Kokkos::HostSpace> host("levels", rows, 3);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> level(0.0f, 7.0f);
  for (int n = 0; n < rows; ++n)
    for (int c = 0; c < 3; ++c) host(n, c) = n % 3 == 0 ? -1.0f : n % 3 == 1 ? level(rng) : float(rng() % 8);
  LevelView<ExecSpace> d("levels", rows, 3);
  Kokkos::deep_copy(d, host);
  return d;
}

template <class Version>
ModelConfig image_config() {
  return version_config<Version>(2, 72, 40, 37, true);
}

}  // namespace

TEST_CASE("image_positions needs 66 channels", "[model][image]") {
  CHECK_THAT(error_of([] { tensor_specs(v4{}, ModelConfig{1, 65, 0, 10, true}); }),
             Catch::Contains("image_positions") && Catch::Contains("n_embd >= 66") && Catch::Contains("65"));
  CHECK_NOTHROW(tensor_specs(v4{}, ModelConfig{1, 66, 0, 10, true}));
  CHECK_NOTHROW(tensor_specs(v4{}, ModelConfig{1, 65, 0, 10, false}));
}

TEMPLATE_LIST_TEST_CASE("prefill with image positions leaves the state and logits of steps with them", "[rnn][image]",
                        VersionsSpacesAndScalars) {
  using Space = typename TestType::space;
  using Scalar = typename TestType::scalar;
  const ModelConfig image_config = ::image_config<typename TestType::version>();
  Model<typename TestType::version, Space, Scalar> model(image_config, inference_only);
  for (int T : {1, 2, 17, 64}) {
    CAPTURE(T);
    randomize_weights(model, 200 + T, 0.4);
    const auto prompt = random_tokens(T, image_config.vocab_size, 9 + T);
    const auto positions = sequence_positions(T, T / 3, 1000);  // crosses the wrap to position 0
    auto parallel = model.new_state();
    const auto prefill_logits = copy_of(
        model.infer(device_tokens<Space>(prompt, "prompt"), T, parallel, false, device_tokens<Space>(positions, "positions")));
    auto sequential = model.new_state();
    Matrix<Space, Scalar> step_logits;
    for (int t = 0; t < T; ++t) step_logits = copy_of(model.step(prompt[t], sequential, positions[t]));
    CHECK(relative_difference(state_values(parallel), state_values(sequential)) < tolerance<Scalar>());
    CHECK(relative_difference(prefill_logits, step_logits) < tolerance<Scalar>());
    // Without the positions the same prompt leaves another state: the channels take part.
    auto plain = model.new_state();
    model.infer(device_tokens<Space>(prompt, "prompt"), T, plain);
    CHECK(relative_difference(state_values(plain), state_values(parallel)) > 1e-3);
  }
}

TEMPLATE_LIST_TEST_CASE("RNN-mode logits with image positions equal the parallel forward's at every position",
                        "[rnn][image]", VersionsAndSpaces) {
  using Space = typename TestType::space;
  const ModelConfig image_config = ::image_config<typename TestType::version>();
  const int T = 11;
  Model<typename TestType::version, Space, double> trainer(image_config, TrainingShape{1, T, false});
  randomize_weights(trainer, 5, 0.5);
  const auto tokens = random_tokens(T, image_config.vocab_size, 6);
  const auto positions = sequence_positions(T, 3, 40);
  trainer.forward(device_tokens<Space>(tokens, "tokens"), device_tokens<Space>(tokens, "targets"),
                  device_tokens<Space>(positions, "positions"));
  const auto all = to_host(trainer.logits());
  auto state = trainer.new_state();
  double diff = 0;
  for (int t = 0; t < T; ++t) {
    const auto row = host_copy(trainer.step(tokens[t], state, positions[t]));
    for (int v = 0; v < image_config.vocab_size; ++v) diff = std::max(diff, std::abs(row(0, v) - all(t, v)));
  }
  CHECK(diff < 1e-12);
}

TEMPLATE_LIST_TEST_CASE("positions change the forward when image_positions is set, and nothing when it is not",
                        "[model][image]", VersionsAndSpaces) {
  using Space = typename TestType::space;
  const int B = 2, T = 6;
  const auto tokens = device_tokens<Space>(random_tokens(B * T, 37, 1), "tokens");
  const auto targets = device_tokens<Space>(random_tokens(B * T, 37, 2), "targets");
  const auto positions = device_tokens<Space>(sequence_positions(B * T, 2, 77), "positions");
  for (bool enabled : {true, false}) {
    CAPTURE(enabled);
    ModelConfig config = image_config<typename TestType::version>();
    config.image_positions = enabled;
    Model<typename TestType::version, Space, float> model(config, TrainingShape{B, T, false});
    randomize_weights(model, 3, 0.5);
    const double without = model.forward(tokens, targets);
    const auto logits_without = copy_of(model.logits());
    const double with = model.forward(tokens, targets, positions);
    const auto logits_with = copy_of(model.logits());
    if (enabled) {
      CHECK(with != without);
      CHECK(relative_difference(logits_with, logits_without) > 1e-3);
    } else {
      CHECK(with == without);
      CHECK(relative_difference(logits_with, logits_without) == 0);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("model gradients with image positions and soft targets match central finite differences",
                        "[model][image]", VersionsAndSpaces) {
  using Space = typename TestType::space;
  // The vocabulary holds bytes, the 512 image tokens from 256, and specials: soft targets fit.
  const ModelConfig config = version_config<typename TestType::version>(1, 72, 24, 773, true);
  const int B = 2, T = 4;
  for (bool soft : {false, true}) {
    CAPTURE(soft);
    Model<typename TestType::version, Space, double> model(config, TrainingShape{B, T, false});
    randomize_weights(model, 17, 0.4);
    const auto tokens = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 1), "tokens");
    const auto targets = device_tokens<Space>(random_tokens(B * T, config.vocab_size, 2), "targets");
    const auto positions = device_tokens<Space>(sequence_positions(B * T, 2, 500), "positions");
    const LevelView<Space> levels = soft ? soft_levels<Space>(B * T, 3) : LevelView<Space>();
    model.zero_grad();
    model.forward(tokens, targets, positions, levels);
    model.backward();
    const auto grads = to_host(model.grads().flat);
    auto weights = to_host(model.weights().flat);
    auto weights_device = model.weights().flat;
    auto loss = [&]() {
      Kokkos::deep_copy(weights_device, weights);
      return model.forward(tokens, targets, positions, levels);
    };
    // Of the embedding, channels of the rows the tokens use (the others get no gradient).
    std::vector<std::size_t> used;
    for (const int t : random_tokens(B * T, config.vocab_size, 1))
      for (int c = 0; c < config.n_embd; ++c) used.push_back(std::size_t(t) * config.n_embd + c);
    std::vector<std::size_t> emb_indices;
    for (const std::size_t i : sample_indices(used.size(), 40, 6)) emb_indices.push_back(used[i]);
    check_gradients(model.specs(), weights, grads, loss, [&](const TensorSpec& s) {
      return s.name == "emb.weight" ? emb_indices : sample_indices(s.size(), 16, 5);
    });
  }
}

TEST_CASE("image_positions survives save and load; files without it read as off", "[checkpoint][image]") {
  TempDir dir;
  TestModel<float> image(image_config<v4>(), inference_only), text(ModelConfig{2, 72, 40, 37}, inference_only);
  image.initialize(4);
  text.initialize(4);
  const std::string image_file = dir.file("image.h5"), text_file = dir.file("text.h5");
  save_model(image_file, image);
  save_model(text_file, text);
  CHECK(read_config(image_file).image_positions);
  CHECK_FALSE(read_config(text_file).image_positions);
  CHECK(inspect_checkpoint(image_file).config.image_positions);
  TestModel<float> loaded(read_config(image_file), inference_only);
  load_model(image_file, loaded);
  CHECK(relative_difference(loaded.weights().flat, image.weights().flat) == 0);
  // A model must match the file: positions on one side only is an error naming the attribute.
  CHECK_THAT(error_of([&] { load_model(image_file, text); }),
             Catch::Contains(image_file) && Catch::Contains("'image_positions' is 1") && Catch::Contains("model has 0"));
  CHECK_THAT(error_of([&] { load_model(text_file, image); }),
             Catch::Contains(text_file) && Catch::Contains("'image_positions' is 0") && Catch::Contains("model has 1"));

  const auto edit = [&](const std::string& name, long value) {
    const std::string path = dir.file(name);
    std::filesystem::copy_file(text_file, path);
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    REQUIRE(H5Adelete(file, "image_positions") >= 0);
    if (value >= 0) hdf5::write_int(file, path, "image_positions", value);
    H5Fclose(file);
    return path;
  };
  // Files of older builds and converters lack the attribute: off.
  const std::string absent = edit("absent.h5", -1);
  CHECK_FALSE(read_config(absent).image_positions);
  CHECK_NOTHROW(load_model(absent, text));
  CHECK(read_config(edit("on.h5", 1)).image_positions);
  CHECK_THAT(error_of([&] { read_config(edit("two.h5", 2)); }),
             Catch::Contains("two.h5") && Catch::Contains("'image_positions' is 2, expected 0 or 1"));
  // Too few channels for the positions: refused on reading, naming the file.
  TestModel<float> narrow(ModelConfig{1, 16, 0, 37}, inference_only);
  save_model(dir.file("narrow.h5"), narrow);
  const hid_t file = H5Fopen(dir.file("narrow.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  REQUIRE(H5Adelete(file, "image_positions") >= 0);
  hdf5::write_int(file, dir.file("narrow.h5"), "image_positions", 1);
  H5Fclose(file);
  CHECK_THAT(error_of([&] { read_config(dir.file("narrow.h5")); }),
             Catch::Contains("narrow.h5") && Catch::Contains("image_positions needs n_embd >= 66") &&
                 Catch::Contains("got n_embd 16"));
}

TEST_CASE("bad positions and soft levels are refused with a clear message", "[model][image]") {
  TestModel<float> model(image_config<v4>(), TrainingShape{1, 4, false});
  auto state = model.new_state();
  CHECK_THAT(error_of([&] { model.step(1, state, 1024); }), Catch::Contains("image position 1024 outside -1..1023"));
  CHECK_THAT(error_of([&] { model.step(1, state, -2); }), Catch::Contains("image position -2"));
  const auto tokens = device_tokens({1, 2, 3, 4}, "tokens");
  CHECK_THAT(error_of([&] { model.forward(tokens, tokens, device_tokens({0, 1, 2}, "positions")); }),
             Catch::Contains("3 positions for 4 tokens"));
  CHECK_THAT(error_of([&] { model.forward(tokens, tokens, {}, LevelView<Space>("levels", 4, 3)); }),
             Catch::Contains("soft targets need the image tokens 256..767") && Catch::Contains("vocabulary has 37"));
  TestModel<float> wide(ModelConfig{1, 68, 0, 773, true}, TrainingShape{1, 4, false});
  CHECK_THAT(error_of([&] { wide.forward(tokens, tokens, {}, LevelView<Space>("levels", 3, 3)); }),
             Catch::Contains("soft levels of shape [3, 3] for 4 tokens"));
}
