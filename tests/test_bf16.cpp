// bfloat16 weights: the rounding on every space matches BFloat16::encode (half_float.hpp), the
// product matches a double loop over the rounded weights within a dot product's rounding, and a
// model with bfloat16 weights stays close to the float one and reads half the bytes.
#include "model_support.hpp"

#include <rwkv/core/bfloat16.hpp>
#include <rwkv/core/half_float.hpp>
#include <rwkv/kernels/bf16_matmul.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/v7/model.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

using namespace rwkv;
using namespace rwkv::test;

namespace {

// Floats of every magnitude from random bit patterns, their bfloat16 ties (low 16 bits 0x8000)
// and the neighbours of the ties, and the special values.
std::vector<float> sample_floats() {
  std::mt19937 rng(11);
  std::vector<float> values = {0.0f, -0.0f, 1.0f, std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                               std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  for (int i = 0; i < 100000; ++i) {
    const auto bits = std::uint32_t(rng());
    for (std::uint32_t low : {bits & 0xffffu, 0x8000u, 0x7fffu, 0x8001u}) {
      const float x = std::bit_cast<float>((bits & 0xffff0000u) | low);
      if (!std::isnan(x)) values.push_back(x);
    }
  }
  return values;
}

// Doubles near bfloat16 ties: rounding them to float first would land on the tie.
std::vector<double> sample_doubles() {
  std::mt19937_64 rng(12);
  std::vector<double> values;
  for (int i = 0; i < 100000; ++i) {
    const double tie = double(std::bit_cast<float>((std::uint32_t(rng()) & 0xffff0000u) | 0x8000u));
    if (!std::isfinite(tie)) continue;
    const double scale = std::ldexp(std::fabs(tie), -40);
    values.insert(values.end(), {tie, tie + scale, tie - scale, std::bit_cast<double>(rng())});
  }
  values.insert(values.end(), {1e300, -1e300, 1e-300, -1e-300, std::ldexp(1.0, -134) * (1 + 1e-12)});
  return values;
}

// W rounded to bfloat16 on the space, as the bits and as doubles.
template <class Space, class Scalar>
auto rounded(const HostMatrix<Scalar>& W) {
  BFloat16Matrix<Space> m("w", int(W.extent(0)), int(W.extent(1)));
  convert_bfloat16<Space, Scalar>(Space(), m, to_device<Space>(W));
  const auto bits = to_host(m.bits);
  HostMatrix<double> Wr("Wr", W.extent(0), W.extent(1));
  for (std::size_t i = 0; i < W.extent(0); ++i)
    for (std::size_t j = 0; j < W.extent(1); ++j) Wr(i, j) = BFloat16::decode(bits(i, j));
  return std::make_tuple(m, bits, Wr);
}

}  // namespace

TEST_CASE("bfloat16_round of a float or a double is BFloat16::encode", "[bf16]") {
  int differ = 0;
  for (const float x : sample_floats()) differ += bfloat16_round(x) != BFloat16::encode(x);
  CHECK(differ == 0);
  differ = 0;
  for (const double x : sample_doubles()) differ += bfloat16_round(x) != BFloat16::encode(x);
  CHECK(differ == 0);
  CHECK(bfloat16_round(std::numeric_limits<float>::quiet_NaN()) == BFloat16::encode(NAN));
  CHECK(bfloat16_round(-std::numeric_limits<double>::quiet_NaN()) == BFloat16::encode(NAN));
  CHECK(bfloat16_round(std::numeric_limits<float>::max()) == 0x7f80);  // past the largest bfloat16's half step
  // Widening is exact: every pattern but the NaNs comes back as itself.
  for (std::uint32_t b = 0; b < 0x10000; ++b)
    if (!std::isnan(bfloat16_to_float(std::uint16_t(b)))) REQUIRE(bfloat16_round(bfloat16_to_float(std::uint16_t(b))) == b);
}

TEMPLATE_LIST_TEST_CASE("convert_bfloat16 on the space gives BFloat16::encode's bits", "[bf16]", Spaces) {
  const auto values = sample_floats();
  const int cols = 1000, rows = int(values.size()) / cols;
  HostMatrix<float> W("W", rows, cols);
  HostMatrix<double> Wd("Wd", rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) Wd(i, j) = W(i, j) = values[std::size_t(i) * cols + j];
  const auto doubles = sample_doubles();
  for (std::size_t k = 0; k < std::min(doubles.size(), Wd.size()); ++k) Wd.data()[k] = doubles[k];
  const auto bits = std::get<1>(rounded<TestType>(W));
  const auto bits_d = std::get<1>(rounded<TestType>(Wd));
  int differ = 0;
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      differ += bits(i, j) != BFloat16::encode(W(i, j));
      differ += bits_d(i, j) != BFloat16::encode(Wd(i, j));
    }
  CHECK(differ == 0);
}

TEMPLATE_LIST_TEST_CASE("bf16_matmul_forward is x W^T over the rounded weights", "[bf16]", SpacesAndScalars) {
  using Space = typename TestType::space;
  using Scalar = typename TestType::scalar;
  const double u = std::numeric_limits<Scalar>::epsilon() / 2;
  // in = 77 and 1000 end in a partial block of 32. N = 1, 3, 5 and 8 take the dot products
  // (rows of x four at a time), 9 and 40 the widened blocks of W, here of 20000 elements (20 rows
  // of 1000, so out = 150 ends in a partial one). Zero extents: no rows and no outputs write
  // nothing; in = 0 gives y = 0, the empty sum.
  for (auto [N, in, out] : {std::tuple{1, 1, 1}, {1, 77, 13}, {3, 64, 9}, {1, 1000, 150}, {5, 77, 13}, {8, 1000, 150},
                            {9, 77, 13}, {40, 1000, 150}, {0, 40, 9}, {1, 0, 9}, {9, 0, 9}, {2, 40, 0}, {9, 40, 0}}) {
    CAPTURE(N, in, out);
    HostMatrix<Scalar> W("W", out, in), x("x", N, in);
    fill_uniform(W, 3, -1, 1);
    fill_uniform(x, 4, -2, 2);
    const auto [m, bits, Wr] = rounded<Space>(W);
    Matrix<Space, Scalar> y("y", N, out);
    Kokkos::deep_copy(y, std::numeric_limits<Scalar>::quiet_NaN());  // overwritten
    BFloat16Work<Space, Scalar> work;
    work.block_elements = 20000;
    bf16_matmul_forward(Space(), y, ConstMatrix<Space, Scalar>(to_device<Space>(x)), m, work);
    const auto got = to_host(y);
    const double gamma = in * u / (1 - in * u);
    int misses = 0;
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < out; ++i) {
        double ref = 0, size = 0;
        for (int j = 0; j < in; ++j) {
          ref += Wr(i, j) * x(n, j);
          size += std::abs(Wr(i, j) * x(n, j));
        }
        misses += !(std::abs(got(n, i) - ref) <= gamma * size);
      }
    CHECK(misses == 0);
  }
}

TEMPLATE_LIST_TEST_CASE("a model's bfloat16 weights stay close to the float ones", "[bf16]", VersionsAndSpaces) {
  using Space = typename TestType::space;
  using TestModel = Model<typename TestType::version, Space, float>;
  const ModelConfig config = version_config<typename TestType::version>(2, 64, 0, 50);
  TestModel model(config, inference_only);
  randomize_weights(model, 9, 0.1);
  const std::vector<int> tokens = random_tokens(20, config.vocab_size, 10);
  const auto prompt = device_tokens<Space>(tokens, "prompt");
  const auto float_state = model.new_state();
  const auto reference = host_copy(model.infer(prompt, 20, float_state, true));
  const auto last = host_copy(model.step(tokens[0], model.new_state()));
  const std::size_t float_bytes = model.step_weight_bytes();
  model.use_bfloat16_weights();
  CHECK(model.bfloat16_weights());
  // Every linear layer's matrix in half the bytes (not the embedding, of which a step reads one
  // row); the vectors and RWKV-7's LoRAs stay float.
  std::size_t matrix_elements = 0;
  for (const TensorSpec& s : model.specs())
    if (s.is_matrix() && s.name.ends_with(".weight") && s.name != "emb.weight") matrix_elements += s.size();
  CHECK(float_bytes - model.step_weight_bytes() == matrix_elements * 2);
  // A prefill of 20 tokens (the widened blocks) and a step of one (the dot products).
  const auto got = host_copy(model.infer(prompt, 20, model.new_state(), true));
  const auto got_step = host_copy(model.step(tokens[0], model.new_state()));
  double diff = 0, size = 0, step_diff = 0;
  for (int v = 0; v < config.vocab_size; ++v) {
    for (int n = 0; n < 20; ++n) {
      diff = std::max(diff, std::abs(double(got(n, v)) - reference(n, v)));
      size = std::max(size, std::abs(double(reference(n, v))));
    }
    step_diff = std::max(step_diff, std::abs(double(got_step(0, v)) - last(0, v)));
  }
  INFO("max logit difference " << diff << " (step " << step_diff << ") of max logit " << size);
  // Each weight moves by at most 2^-9 of itself: the logits by about as much of their size.
  CHECK(diff < 0.01 * size);
  CHECK(step_diff < 0.01 * size);
  CHECK(diff > 0);  // the bfloat16 path was taken
  CHECK(step_diff > 0);
  CHECK_THROWS_AS(model.quantize_int8(), std::logic_error);
  TestModel int8_model(config, inference_only);
  int8_model.quantize_int8();
  CHECK_THROWS_AS(int8_model.use_bfloat16_weights(), std::logic_error);
}
