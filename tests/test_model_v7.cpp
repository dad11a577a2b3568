// The whole RWKV-7 model in parallel mode: gradients against central finite differences, and
// logits, loss, every gradient and three AdamW steps against the independent plain-PyTorch RWKV-7
// of benchmarks/pytorch, which wrote tests/data/rwkv7_reference_tiny.h5 (float64, every weight
// random). Regenerate with
//   /usr/bin/python3 benchmarks/pytorch/rwkv7_reference.py dump --n-layer 2 --n-embd 16 --head-size 8 \
//     --vocab 11 --ctx-len 17 --batch 2 --ranks 3,3,2,4 --seed 1 --out tests/data/rwkv7_reference_tiny.h5
// (T = 17 takes the WKV-7 backward across a saved-state boundary.)
#include "model_support.hpp"

#include <rwkv/optimizer.hpp>
#include <rwkv/v7/model.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

ModelConfig tiny_config(bool layer0_value_lora) {
  ModelConfig c;
  c.n_layer = 2;
  c.n_embd = 16;
  c.vocab_size = 11;
  c.head_size = 8;
  c.rank_w = 4;
  c.rank_a = 3;
  c.rank_v = 2;
  c.rank_g = 5;
  c.layer0_value_lora = layer0_value_lora;
  return c;
}

bool in_layer0_value_lora(const std::string& name) {
  return name == "blocks.0.att.v0" || name == "blocks.0.att.v1" || name == "blocks.0.att.v2";
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("RWKV-7 model gradients match central finite differences (double, tiny config)", "[v7]",
                        Spaces) {
  using Space = TestType;
  for (const bool lora0 : {false, true})
    for (const bool recompute : {false, true}) {
      CAPTURE(lora0, recompute);
      const ModelConfig config = tiny_config(lora0);
      const int B = 2, T = 5;
      Model<v7, Space, double> model(config, TrainingShape{B, T, recompute});
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
      // Layer 0 carries its value LoRA unused: no gradient, and no effect to difference.
      std::vector<TensorSpec> used;
      int unused_nonzero = 0;
      for (const TensorSpec& s : model.specs()) {
        if (!in_layer0_value_lora(s.name)) {
          used.push_back(s);
          continue;
        }
        for (std::size_t i = 0; i < s.size(); ++i) unused_nonzero += grads(s.offset + i) != 0;
      }
      CHECK(unused_nonzero == 0);
      check_gradients(used, weights, grads, loss,
                      [](const TensorSpec& s) { return sample_indices(s.size(), 24, s.offset); });
    }
}

namespace {

const std::string reference_file = std::string(RWKV_TEST_DATA_DIR) + "/rwkv7_reference_tiny.h5";

std::vector<double> read_doubles(hid_t file, const std::string& name) {
  const hid_t set = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  REQUIRE(set >= 0);
  const hid_t space = H5Dget_space(set);
  std::vector<double> out(std::size_t(H5Sget_simple_extent_npoints(space)));
  const herr_t status = H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  H5Sclose(space);
  H5Dclose(set);
  REQUIRE(status >= 0);
  return out;
}

std::vector<int> read_ints(hid_t file, const std::string& name) {
  std::vector<int> out;
  for (const double x : read_doubles(file, name)) out.push_back(int(x));
  return out;
}

template <class T>
T read_attribute(hid_t file, const char* name) {
  const hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
  REQUIRE(attr >= 0);
  T value{};
  const herr_t status = H5Aread(attr, std::is_same_v<T, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG, &value);
  H5Aclose(attr);
  REQUIRE(status >= 0);
  return value;
}

// Counts entries of `got` (a host view over the flat layout, at spec s) off the reference.
template <class HostView>
int mismatches(const HostView& got, const TensorSpec& s, const std::vector<double>& want, double rtol, double atol) {
  REQUIRE(want.size() == s.size());
  int bad = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!close(got(s.offset + i), want[i], rtol, atol) && ++bad <= 3)
      UNSCOPED_INFO(s.name << "[" << i << "]: " << got(s.offset + i) << " vs reference " << want[i]);
  return bad;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("RWKV-7 logits, loss, every gradient and three AdamW steps match the PyTorch reference",
                        "[v7][reference]", Spaces) {
  using Space = TestType;
  const hid_t file = H5Fopen(reference_file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  ModelConfig config;
  config.n_layer = int(read_attribute<long long>(file, "n_layer"));
  config.n_embd = int(read_attribute<long long>(file, "n_embd"));
  config.vocab_size = int(read_attribute<long long>(file, "vocab_size"));
  config.head_size = int(read_attribute<long long>(file, "head_size"));
  config.rank_w = int(read_attribute<long long>(file, "rank_w"));
  config.rank_a = int(read_attribute<long long>(file, "rank_a"));
  config.rank_v = int(read_attribute<long long>(file, "rank_v"));
  config.rank_g = int(read_attribute<long long>(file, "rank_g"));
  config.ln_x_eps = read_attribute<double>(file, "ln_x_eps");
  const int T = int(read_attribute<long long>(file, "ctx_len")), B = int(read_attribute<long long>(file, "batch"));
  Model<v7, Space, double> model(config, TrainingShape{B, T, false});
  // The weights by their state_dict names: every tensor of the model must be in the file.
  auto host = Kokkos::create_mirror_view(model.weights().flat);
  for (const TensorSpec& s : model.specs()) {
    const auto values = read_doubles(file, s.name);
    REQUIRE(values.size() == s.size());
    for (std::size_t i = 0; i < s.size(); ++i) host(s.offset + i) = values[i];
  }
  Kokkos::deep_copy(model.weights().flat, host);
  const auto tok = device_tokens<Space>(read_ints(file, "tokens"), "tokens");
  const auto tgt = device_tokens<Space>(read_ints(file, "targets"), "targets");

  // float64 throughout; sums in another order than PyTorch's, over a few hundred terms.
  model.zero_grad();
  const double loss = model.forward(tok, tgt);
  CHECK(loss == Approx(read_doubles(file, "loss")[0]).epsilon(1e-12));
  const auto logits = to_host(model.logits());
  const auto want_logits = read_doubles(file, "logits");
  REQUIRE(want_logits.size() == logits.size());
  int bad = 0;
  for (std::size_t i = 0; i < want_logits.size(); ++i) bad += !close(logits.data()[i], want_logits[i], 1e-10, 1e-12);
  CHECK(bad == 0);

  model.backward();
  const auto grads = to_host(model.grads().flat);
  bad = 0;
  for (const TensorSpec& s : model.specs()) bad += mismatches(grads, s, read_doubles(file, "grad/" + s.name), 1e-9, 1e-12);
  CHECK(bad == 0);

  // torch.optim.AdamW(lr 1e-3, betas (0.9, 0.99), eps 1e-8) in RWKV-7's groups: weight decay 0.01
  // on the 2-D .weight matrices, lr x2 on att.w0 (layerwise_lr); no clipping, no schedule.
  OptimizerConfig oc;
  oc.lr_init = oc.lr_final = 1e-3;
  oc.beta1 = 0.9;
  oc.beta2 = 0.99;
  oc.eps = 1e-8;
  oc.weight_decay = 0.01;
  oc.grad_clip = 0;
  oc.layerwise_lr = true;
  oc.total_steps = 3;
  AdamW<Space, double> optimizer(model.specs(), oc);
  const auto want_losses = read_doubles(file, "adamw_losses");
  for (int step = 0; step < 3; ++step) {
    model.zero_grad();
    CHECK(model.forward(tok, tgt) == Approx(want_losses[step]).epsilon(1e-11));
    model.backward();
    optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
  }
  const auto weights = to_host(model.weights().flat);
  bad = 0;
  for (const TensorSpec& s : model.specs())
    bad += mismatches(weights, s, read_doubles(file, "after_adamw/" + s.name), 1e-9, 1e-12);
  CHECK(bad == 0);
  H5Fclose(file);
}
