// RWKV-7's tensor list (RWKV-LM's order and shapes, as scripts/convert_pth.py's expected_shapes_v7
// lists them), its optimizer groups, the suggested LoRA ranks, and its initialization.
#include "test_support.hpp"
#include "v7_support.hpp"

#include <rwkv/v7/init.hpp>
#include <rwkv/v7/weights.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

using namespace rwkv;
using namespace rwkv::test;

TEST_CASE("RWKV-7 tensors: RWKV-LM's order and shapes, its optimizer groups, the suggested ranks", "[v7]") {
  ModelConfig c768;
  c768.n_embd = 768;
  const Lora7Ranks at768 = lora7_ranks(c768);
  CHECK((at768.w == 64 && at768.a == 64 && at768.v == 32 && at768.g == 128));
  c768.rank_v = 48;
  CHECK(lora7_ranks(c768).v == 48);

  for (const bool lora0 : {false, true}) {
    CAPTURE(lora0);
    const auto specs = tensor_specs(v7{}, tiny_v7_config(lora0));
    std::vector<std::string> block1;
    for (const TensorSpec& s : specs)
      if (s.name.rfind("blocks.1.", 0) == 0) block1.push_back(s.name.substr(9));
    const std::vector<std::string> expected = {
        "ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias", "att.x_r", "att.x_w", "att.x_k", "att.x_v", "att.x_a",
        "att.x_g", "att.w0", "att.w1", "att.w2", "att.a0", "att.a1", "att.a2", "att.v0", "att.v1", "att.v2",
        "att.g1", "att.g2", "att.k_k", "att.k_a", "att.r_k", "att.receptance.weight", "att.key.weight",
        "att.value.weight", "att.output.weight", "att.ln_x.weight", "att.ln_x.bias", "ffn.x_k", "ffn.key.weight",
        "ffn.value.weight"};
    CHECK(block1 == expected);
    CHECK(specs.front().name == "emb.weight");
    CHECK(specs.back().name == "head.weight");
    int layer0_v = 0;
    for (const TensorSpec& s : specs) {
      CAPTURE(s.name);
      layer0_v += in_layer0_value_lora(s.name);
      const bool linear = s.is_matrix() && s.name.size() > 7 && s.name.compare(s.name.size() - 7, 7, ".weight") == 0;
      CHECK(s.weight_decay == linear);
      CHECK(s.lr_scale == (s.name.find("att.w0") != std::string::npos ? 2.0 : 1.0));
      if (s.name.find("att.w1") != std::string::npos) CHECK((s.rows == 16 && s.cols == 4));
      if (s.name.find("att.g2") != std::string::npos) CHECK((s.rows == 5 && s.cols == 16));
      if (s.name.find("att.r_k") != std::string::npos) CHECK((s.rows == 2 && s.cols == 8));
      if (s.name.find("ffn.key") != std::string::npos) CHECK((s.rows == 64 && s.cols == 16));
    }
    CHECK(layer0_v == (lora0 ? 3 : 0));
  }
  ModelConfig odd = tiny_v7_config(false);
  odd.head_size = 6;
  CHECK_THROWS_AS(tensor_specs(v7{}, odd), std::invalid_argument);
  odd.head_size = 8;
  odd.rank_g = -1;
  CHECK_THROWS_AS(tensor_specs(v7{}, odd), std::invalid_argument);
  odd.rank_g = 5;
  odd.ln_x_eps = 0;
  CHECK_THROWS_AS(tensor_specs(v7{}, odd), std::invalid_argument);
}

TEST_CASE("RWKV-7 initialization: RWKV-LM's constants, zero and orthogonal matrices", "[v7]") {
  const ModelConfig config = tiny_v7_config(false);
  const auto specs = tensor_specs(v7{}, config);
  std::vector<double> w(parameter_count(specs), 99.0);
  initialize_weights(v7{}, config, specs, 5, w.data());
  auto values = [&](const std::string& name) {
    for (const TensorSpec& s : specs)
      if (s.name == name) return std::vector<double>(w.begin() + s.offset, w.begin() + s.offset + s.size());
    FAIL("no tensor " << name);
    return std::vector<double>();
  };
  int untouched = 0;
  for (const double x : w) untouched += x == 99.0;
  CHECK(untouched == 0);
  for (const double x : values("blocks.1.att.k_a")) CHECK(x == Approx(1.02));
  for (const double x : values("blocks.1.att.r_k")) CHECK(x == Approx(-0.04));
  for (const double x : values("blocks.1.att.w1")) CHECK(x == 0);
  for (const double x : values("blocks.1.att.output.weight")) CHECK(x == 0);
  for (const double x : values("blocks.1.ffn.value.weight")) CHECK(x == 0);
  for (const double x : values("blocks.0.att.ln_x.weight")) CHECK(x == Approx(std::pow(0.5, 0.7)));
  for (const double x : values("ln_out.weight")) CHECK(x == 1);
  // att.w2 [4, 16]: orthonormal rows times 0.1; att.key.weight [16, 16]: orthogonal times 0.1
  const auto w2 = values("blocks.1.att.w2"), key = values("blocks.1.att.key.weight");
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double dot = 0;
      for (int c = 0; c < 16; ++c) dot += w2[i * 16 + c] * w2[j * 16 + c];
      CHECK(dot == Approx(i == j ? 0.01 : 0.0).margin(1e-12));
    }
  double key_row = 0;
  for (int c = 0; c < 16; ++c) key_row += key[c] * key[c];
  CHECK(key_row == Approx(0.01));
  // layer 0 of 2 (r1 = 1, r0 = 0), C = 16, N = 8, channel n:
  const auto x_r = values("blocks.0.att.x_r"), w0 = values("blocks.0.att.w0"), a0 = values("blocks.0.att.a0");
  CHECK(x_r[0] == 1.0);
  CHECK(x_r[8] == Approx(1 - std::pow(0.5, 0.2)));  // 1 - (n/C)^(0.2 r1)
  // w0 = -6 + 6 (n/(C-1))^(1 + r0^0.3) + 0.5 + 2.5 zigzag, zigzag of n mod N = 0 is -1
  CHECK(w0[0] == Approx(-6 + 0.5 - 2.5));
  CHECK(w0[15] == Approx(-6 + 6 + 0.5 + 2.5));
  CHECK(a0[15] == Approx(-0.19 + 0.3 + 0.4 * 0.5));  // -0.19 + 0.3 zigzag + 0.4 linear
}
