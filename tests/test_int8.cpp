// int8 weights: the factors keep every element within half a quantization step, an outlier column
// costs the other columns nothing, the int8 product matches its definition, and a quantized model
// stays close to the float one.
#include "model_support.hpp"

#include <rwkv/kernels/int8_matmul.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/v7/model.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace rwkv;
using namespace rwkv::test;

namespace {

// Quantizes host W on the space; returns q, col, row on the host.
template <class ExecSpace>
auto quantized(const HostMatrix<float>& W) {
  Int8Matrix<ExecSpace, float> m("w", int(W.extent(0)), int(W.extent(1)));
  quantize_int8(ExecSpace(), m, to_device<ExecSpace>(W));
  return std::make_tuple(to_host(m.q), to_host(m.col), to_host(m.row), m);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("int8 factors keep each weight within half a step", "[int8]", Spaces) {
  for (auto [rows, cols] : {std::pair{1, 1}, {7, 13}, {64, 48}, {33, 200}}) {
    CAPTURE(rows, cols);
    HostMatrix<float> W("W", rows, cols);
    fill_uniform(W, rows * 31 + cols, -0.5, 0.5);
    W(rows / 2, cols / 3) = 40.0f;  // an outlier
    const auto [q, col, row, m] = quantized<TestType>(W);
    int at_limit = 0;
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        const double step = double(col(j)) * row(i);
        REQUIRE(std::abs(int(q(i, j))) <= 127);
        CHECK(std::abs(double(W(i, j)) - q(i, j) * step) <= 0.5 * step * (1 + 1e-5));
        at_limit += std::abs(int(q(i, j))) == 127;
      }
    CHECK(at_limit >= 1);  // the factors are as small as the bound allows somewhere
  }
}

// No rows, no columns, neither: the lines of an empty matrix hold no weight, so each gets the
// factor of an all-zero line, 1.
TEMPLATE_LIST_TEST_CASE("int8 factors of a matrix with a zero extent are 1", "[int8]", Spaces) {
  for (auto [rows, cols] : {std::pair{0, 5}, {5, 0}, {0, 0}}) {
    CAPTURE(rows, cols);
    const auto [q, col, row, m] = quantized<TestType>(HostMatrix<float>("W", rows, cols));
    CHECK(q.size() == 0);
    CHECK(as_doubles(col) == std::vector<double>(std::size_t(cols), 1.0));
    CHECK(as_doubles(row) == std::vector<double>(std::size_t(rows), 1.0));
  }
}

TEMPLATE_LIST_TEST_CASE("an outlier column or row does not coarsen the other weights", "[int8]", Spaces) {
  const int rows = 96, cols = 64, outlier = 7;
  for (bool outlier_row : {false, true}) {
    CAPTURE(outlier_row);
    HostMatrix<float> W("W", rows, cols);
    fill_uniform(W, 5, -1.0, 1.0);
    for (int k = 0; k < (outlier_row ? cols : rows); ++k) (outlier_row ? W(outlier, k) : W(k, outlier)) *= 1000.0f;
    const auto [q, col, row, m] = quantized<TestType>(W);
    // With one scale per tensor the step would be 1000/127 everywhere; the other weights keep
    // steps of at most 1/127 (their own range), so errors of at most half that.
    double worst = 0;
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j)
        if ((outlier_row ? i : j) != outlier)
          worst = std::max(worst, std::abs(double(W(i, j)) - q(i, j) * double(col(j)) * row(i)));
    CHECK(worst <= 0.5 / 127 * (1 + 1e-5));
  }
}

TEMPLATE_LIST_TEST_CASE("int8_matmul_forward computes row * (q . (col * x)) with int16 activations", "[int8]", Spaces) {
  // in = 5000 crosses the vector kernel's int32 blocks and ends in a partial vector. Zero
  // extents: no rows and no outputs write nothing; in = 0 gives y = 0, the empty sum.
  for (auto [N, in, out] : {std::tuple{1, 1, 1}, {1, 77, 13}, {3, 40, 9}, {2, 5000, 11}, {0, 40, 9}, {1, 0, 9}, {3, 0, 9},
                            {2, 40, 0}}) {
    CAPTURE(N, in, out);
    HostMatrix<float> W("W", out, in), x("x", N, in);
    fill_uniform(W, 3, -1, 1);
    fill_uniform(x, 4, -2, 2);
    const auto [q, col, row, m] = quantized<TestType>(W);
    Matrix<TestType, float> y("y", N, out);
    Kokkos::deep_copy(y, std::numeric_limits<float>::quiet_NaN());  // overwritten
    Int8Activations<TestType, float> work;
    int8_matmul_forward(TestType(), y, to_device<TestType>(x), m, work);
    const auto got = to_host(y);
    for (int n = 0; n < N; ++n) {
      // Each activation col[j] x[n, j] is rounded to a multiple of scale = its row's largest / 32767.
      double largest = 0;
      for (int j = 0; j < in; ++j) largest = std::max(largest, std::abs(double(col(j)) * x(n, j)));
      const double scale = largest / 32767;
      for (int i = 0; i < out; ++i) {
        double ref = 0, size = 0, weights = 0;
        for (int j = 0; j < in; ++j) {
          ref += double(q(i, j)) * col(j) * x(n, j);
          size += std::abs(double(q(i, j)) * col(j) * x(n, j));
          weights += std::abs(double(q(i, j)));
        }
        const double bound = row(i) * (weights * scale / 2 * (1 + 1e-5) + 1e-6 * size);
        CHECK(std::abs(got(n, i) - row(i) * ref) <= bound);
      }
    }
  }
}

TEMPLATE_LIST_TEST_CASE("a quantized model's logits stay close to the float model's", "[int8]", VersionsAndSpaces) {
  using Space = typename TestType::space;
  const ModelConfig config = version_config<typename TestType::version>(2, 64, 0, 50);
  Model<typename TestType::version, Space, float> model(config, inference_only);
  randomize_weights(model, 9, 0.1);
  const auto prompt = device_tokens<Space>(random_tokens(20, config.vocab_size, 10), "prompt");
  const auto float_state = model.new_state();
  const auto reference = host_copy(model.infer(prompt, 20, float_state, true));
  const std::size_t float_bytes = model.step_weight_bytes();
  model.quantize_int8();
  CHECK(model.quantized());
  CHECK(model.step_weight_bytes() < float_bytes / 3);
  const auto int8_state = model.new_state();
  const auto got = host_copy(model.infer(prompt, 20, int8_state, true));
  double diff = 0, size = 0;
  for (int n = 0; n < 20; ++n)
    for (int v = 0; v < config.vocab_size; ++v) {
      diff = std::max(diff, std::abs(double(got(n, v)) - reference(n, v)));
      size = std::max(size, std::abs(double(reference(n, v))));
    }
  INFO("max logit difference " << diff << " of max logit " << size);
  CHECK(diff < 0.02 * size);
  CHECK(diff > 0);  // the int8 path was taken
}
