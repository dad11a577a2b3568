// The whole RWKV-7 model: gradients against central finite differences; logits, loss, every
// gradient, three AdamW steps, and RNN mode's logits and state against the independent
// plain-PyTorch RWKV-7 of benchmarks/pytorch, which wrote tests/data/rwkv7_reference_tiny.h5
// (float64, every weight random). Regenerate with (one command line)
//   /usr/bin/python3 benchmarks/pytorch/rwkv7_reference.py dump --n-layer 2 --n-embd 16 --head-size 8
//     --vocab 11 --ctx-len 17 --batch 2 --ranks 3,3,2,4 --seed 1 --out tests/data/rwkv7_reference_tiny.h5
// (T = 17 takes the WKV-7 backward across a saved-state boundary.)
#include "model_support.hpp"
#include "v7_support.hpp"

#include <rwkv/optimizer.hpp>
#include <rwkv/v7/model.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

using namespace rwkv;
using namespace rwkv::test;

TEMPLATE_LIST_TEST_CASE("RWKV-7 model gradients match central finite differences (double, tiny config)", "[v7]",
                        Spaces) {
  using Space = TestType;
  // Layer 0 without and with its unused value LoRA; the second with gradient checkpointing.
  struct Case {
    bool layer0_value_lora, recompute;
  };
  const Case cases[] = {{false, false}, {true, true}};
  for (const Case& c : cases) {
    CAPTURE(c.layer0_value_lora, c.recompute);
    const ModelConfig config = tiny_v7_config(c.layer0_value_lora);
    const int B = 2, T = 5;
    Model<v7, Space, double> model(config, TrainingShape{B, T, c.recompute});
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

ModelConfig reference_config(hid_t file) {
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
  return config;
}

// The weights by their state_dict names: every tensor of the model must be in the file.
template <class ModelT>
void load_reference_weights(hid_t file, ModelT& model) {
  auto host = Kokkos::create_mirror_view(model.weights().flat);
  for (const TensorSpec& s : model.specs()) {
    const auto values = read_doubles(file, s.name);
    REQUIRE(values.size() == s.size());
    for (std::size_t i = 0; i < s.size(); ++i) host(s.offset + i) = values[i];
  }
  Kokkos::deep_copy(model.weights().flat, host);
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
  const ModelConfig config = reference_config(file);
  const int T = int(read_attribute<long long>(file, "ctx_len")), B = int(read_attribute<long long>(file, "batch"));
  Model<v7, Space, double> model(config, TrainingShape{B, T, false});
  load_reference_weights(file, model);
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

  // The GroupNorm eps is the config's: another one changes the loss (the file's is 64e-5).
  ModelConfig other_eps = reference_config(file);
  other_eps.ln_x_eps = 1e-2;
  Model<v7, Space, double> other(other_eps, TrainingShape{B, T, false});
  load_reference_weights(file, other);
  CHECK(std::abs(other.forward(tok, tgt) - read_doubles(file, "loss")[0]) > 1e-6);
  H5Fclose(file);
}

namespace {

// Entries of `got` (any view, copied to the host) off `want` in memory order.
template <class View>
int mismatches(const View& got, const std::vector<double>& want, double rtol, double atol) {
  const auto g = as_doubles(to_host(got));
  REQUIRE(g.size() == want.size());
  int bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) bad += !close(g[i], want[i], rtol, atol);
  return bad;
}

// The state against the reference's rnn/state group ([L, B, ...] per part).
template <class State>
void check_state(hid_t file, const State& state) {
  const auto att = read_doubles(file, "rnn/state/att_x_prev"), ffn = read_doubles(file, "rnn/state/ffn_x_prev");
  const auto wkv = read_doubles(file, "rnn/state/wkv");
  const int L = state.layers();
  const std::size_t shift = att.size() / L, wkv_size = wkv.size() / L;
  for (int l = 0; l < L; ++l) {
    CAPTURE(l);
    const auto part = [l](const std::vector<double>& all, std::size_t n) {
      return std::vector<double>(all.begin() + l * n, all.begin() + (l + 1) * n);
    };
    CHECK(mismatches(state.att_shift(l), part(att, shift), 1e-10, 1e-12) == 0);
    CHECK(mismatches(state.ffn_shift(l), part(ffn, shift), 1e-10, 1e-12) == 0);
    CHECK(mismatches(state.wkv(l), part(wkv, wkv_size), 1e-10, 1e-12) == 0);
  }
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("RWKV-7 RNN mode matches the PyTorch reference's token-by-token run and parallel mode",
                        "[v7][reference][rnn]", Spaces) {
  using Space = TestType;
  const hid_t file = H5Fopen(reference_file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const int T = int(read_attribute<long long>(file, "ctx_len")), B = int(read_attribute<long long>(file, "batch"));
  Model<v7, Space, double> model(reference_config(file), TrainingShape{B, T, false});
  load_reference_weights(file, model);
  const auto tokens = read_ints(file, "tokens");
  const auto want = read_doubles(file, "rnn/logits");  // [B, T, V]
  const int V = model.config().vocab_size;

  // The whole sequences in one pass, every position's logits, and parallel mode's.
  auto state = model.new_state(B);
  const auto all = model.infer(device_tokens<Space>(tokens, "tokens"), T, state, true);
  CHECK(mismatches(all, want, 1e-10, 1e-12) == 0);
  check_state(file, state);
  model.forward(device_tokens<Space>(tokens, "tokens"), device_tokens<Space>(read_ints(file, "targets"), "targets"));
  CHECK(relative_difference(model.logits(), all) < 1e-13);

  // Token by token from a fresh state, B slots at once; then in two chunks of unequal length.
  for (const int chunk : {1, 7}) {
    CAPTURE(chunk);
    auto steps = model.new_state(B);
    int bad = 0;
    for (int t0 = 0; t0 < T; t0 += chunk) {
      const int n = std::min(chunk, T - t0);
      std::vector<int> part;
      for (int b = 0; b < B; ++b)
        for (int t = t0; t < t0 + n; ++t) part.push_back(tokens[b * T + t]);
      const auto logits = to_host(model.infer(device_tokens<Space>(part, "part"), n, steps));
      for (int b = 0; b < B; ++b)
        for (int v = 0; v < V; ++v)
          bad += !close(logits(b, v), want[(std::size_t(b) * T + t0 + n - 1) * V + v], 1e-10, 1e-12);
    }
    CHECK(bad == 0);
    check_state(file, steps);
  }

  // copy_slot and reset move and clear one slot, every part of it.
  const auto slot_of = [&](const auto& st, int slot) {
    std::vector<double> all;
    for (int l = 0; l < st.layers(); ++l)
      for (const auto& part : {as_doubles(to_host(st.att_shift(l))), as_doubles(to_host(st.ffn_shift(l))),
                               as_doubles(to_host(st.wkv(l)))}) {
        const std::size_t n = part.size() / B;
        all.insert(all.end(), part.begin() + slot * n, part.begin() + (slot + 1) * n);
      }
    return all;
  };
  const auto slot0 = slot_of(state, 0), slot1 = slot_of(state, 1), empty = slot_of(model.new_state(B), 0);
  auto copy = model.new_state(B);
  copy.copy_slot(model.space(), 0, state, 1);
  state.reset(model.space(), 1);
  CHECK(slot_of(copy, 0) == slot1);
  CHECK(slot_of(copy, 1) == empty);
  CHECK(slot_of(state, 0) == slot0);
  CHECK(slot_of(state, 1) == empty);
  CHECK(slot1 != empty);

  // step() on one slot: the first sequence.
  auto one = model.new_state(1);
  Matrix<Space, double> last;
  for (int t = 0; t < T; ++t) last = model.step(tokens[t], one);
  std::vector<double> want_last(want.begin() + (T - 1) * V, want.begin() + T * V);
  CHECK(mismatches(last, want_last, 1e-10, 1e-12) == 0);
  H5Fclose(file);
}

// Training in float from RWKV-7's initialization, on the default space: the loss starts near
// ln(256) and falls far below it on a text the model sees every step; RNN mode then gives the
// logits parallel mode gave.
TEST_CASE("a tiny RWKV-7 in float learns a short text, and RNN mode agrees with parallel mode", "[v7]") {
  using Space = Kokkos::DefaultExecutionSpace;
  const std::string text =
      "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
      "and darkness was upon the face of the deep.";
  ModelConfig config;
  config.n_layer = 2;
  config.n_embd = 32;
  config.vocab_size = 256;
  config.head_size = 16;
  config.rank_w = config.rank_a = config.rank_v = 8;
  config.rank_g = 16;
  const int T = int(text.size()) - 1;
  Model<v7, Space, float> model(config, TrainingShape{1, T, false});
  model.initialize(11);
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
  oc.total_steps = 150;
  oc.weight_decay = 0.001;
  AdamW<Space, float> optimizer(model.specs(), oc);
  std::vector<double> losses;
  for (int step = 0; step < oc.total_steps; ++step) {
    model.zero_grad();
    losses.push_back(model.forward(tokens, targets));
    model.backward();
    optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
  }
  losses.push_back(model.forward(tokens, targets));
  INFO("first loss " << losses.front() << ", last loss " << losses.back());
  CHECK(std::abs(losses.front() - std::log(256.0)) < 0.5);  // the head's init gain leaves it a little above
  CHECK(losses.back() < 0.1);

  const auto parallel = copy_of(model.logits());
  auto state = model.new_state(1);
  CHECK(relative_difference(model.infer(tokens, T, state, true), parallel) < tolerance<float>());
}
