// float16 / bfloat16 encoding: round to nearest, ties to even, checked on hand-picked ties and
// boundaries, against independent references on random floats, and by decoding every pattern.
#include <rwkv/core/half_float.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>

namespace {

using rwkv::BFloat16;
using rwkv::Float16;

// The usual bit trick for float -> bfloat16 (round to nearest even on the top 16 bits), written
// independently of Float16Format.
std::uint16_t bfloat16_reference(float x) {
  const auto bits = std::bit_cast<std::uint32_t>(x);
  return std::uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

// Random floats of every magnitude, plus exact ties of the 16-bit formats.
std::vector<float> sample_floats() {
  std::mt19937 rng(5);
  std::vector<float> values;
  for (int i = 0; i < 200000; ++i) {
    const auto bits = std::uint32_t(rng());
    const float x = std::bit_cast<float>(bits);
    if (std::isfinite(x)) values.push_back(x);
    // Ties: low 16 bits 0x8000 (bfloat16) and low 13 bits 0x1000 (float16 normals).
    const float tie16 = std::bit_cast<float>((bits & 0xffff0000u) | 0x8000u);
    const float tie13 = std::bit_cast<float>((bits & 0xffffe000u) | 0x1000u);
    if (std::isfinite(tie16)) values.push_back(tie16);
    if (std::isfinite(tie13)) values.push_back(tie13);
  }
  return values;
}

}  // namespace

TEST_CASE("bfloat16 rounds to nearest, ties to even", "[half_float]") {
  CHECK(BFloat16::encode(1.0) == 0x3f80);
  CHECK(BFloat16::encode(-2.5) == 0xc020);
  CHECK(BFloat16::encode(1.0 + std::ldexp(1.0, -8)) == 0x3f80);                       // tie: down to even
  CHECK(BFloat16::encode(1.0 + 3 * std::ldexp(1.0, -8)) == 0x3f82);                   // tie: up to even
  CHECK(BFloat16::encode(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -20)) == 0x3f81);  // above the tie
  // Straight from double: through float first, 1 + 2^-8 + 2^-40 would become a tie and round down.
  CHECK(BFloat16::encode(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40)) == 0x3f81);
  CHECK(BFloat16::encode(std::ldexp(255.0, 120)) == 0x7f7f);  // the largest finite
  CHECK(BFloat16::encode(std::ldexp(511.0, 119)) == 0x7f80);  // halfway past it: infinity
  CHECK(BFloat16::encode(std::ldexp(1.0, -133)) == 0x0001);    // smallest subnormal
  CHECK(BFloat16::encode(std::ldexp(1.0, -134)) == 0x0000);    // tie with zero
  CHECK(BFloat16::encode(std::ldexp(3.0, -134)) == 0x0002);
  CHECK(BFloat16::encode(-0.0) == 0x8000);
  CHECK(BFloat16::encode(-INFINITY) == 0xff80);
  CHECK(std::isnan(BFloat16::decode(BFloat16::encode(NAN))));
  int differ = 0;
  for (float x : sample_floats()) differ += BFloat16::encode(x) != bfloat16_reference(x);
  CHECK(differ == 0);
}

TEST_CASE("float16 rounds to nearest, ties to even, with subnormals and overflow", "[half_float]") {
  CHECK(Float16::encode(1.0) == 0x3c00);
  CHECK(Float16::encode(1.0 + std::ldexp(1.0, -11)) == 0x3c00);      // tie: down to even
  CHECK(Float16::encode(1.0 + 3 * std::ldexp(1.0, -11)) == 0x3c02);  // tie: up to even
  CHECK(Float16::encode(65504.0) == 0x7bff);
  CHECK(Float16::encode(65519.99) == 0x7bff);
  CHECK(Float16::encode(65520.0) == 0x7c00);  // tie between the largest finite and 2^16: infinity
  CHECK(Float16::encode(std::ldexp(1.0, -24)) == 0x0001);
  CHECK(Float16::encode(std::ldexp(1.0, -25)) == 0x0000);
  CHECK(Float16::encode(std::ldexp(3.0, -25)) == 0x0002);
  CHECK(Float16::encode(std::ldexp(1023.5, -24)) == 0x0400);  // largest subnormal rounds up into the normals
  CHECK(Float16::encode(-std::ldexp(1.0, -14)) == 0x8400);
#if defined(__FLT16_MAX__) && !defined(__CUDACC__)
  // The compiler's own float -> _Float16 conversion rounds to nearest even too.
  int differ = 0;
  for (float x : sample_floats()) differ += Float16::encode(x) != std::bit_cast<std::uint16_t>(static_cast<_Float16>(x));
  CHECK(differ == 0);
#endif
}

TEST_CASE("every 16-bit pattern decodes exactly and encodes back to itself", "[half_float]") {
  int float16_differ = 0, bfloat16_differ = 0;
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto b = std::uint16_t(bits);
    const double h = Float16::decode(b), f = BFloat16::decode(b);
    if (!std::isnan(h)) float16_differ += Float16::encode(h) != b;
    if (!std::isnan(f)) bfloat16_differ += BFloat16::encode(f) != b;
    // bfloat16 is the top half of a float.
    if (!std::isnan(f)) bfloat16_differ += std::bit_cast<float>(std::uint32_t(b) << 16) != float(f);
  }
  CHECK(float16_differ == 0);
  CHECK(bfloat16_differ == 0);
}
