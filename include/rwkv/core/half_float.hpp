// float16 (IEEE binary16) and bfloat16 bit patterns on the host, for checkpoints stored in 16 bits.
// Encoding rounds to the nearest representable value, ties to even, directly from the double
// (no double rounding through float); beyond the largest finite value it gives an infinity; NaN
// stays a (quiet) NaN. Decoding is exact.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace rwkv {

// A 16-bit binary float: 1 sign bit, `exponent_bits`, `mantissa_bits` (without the implicit 1).
template <int exponent_bits, int mantissa_bits>
struct Float16Format {
  static_assert(1 + exponent_bits + mantissa_bits == 16);
  static constexpr int bias = (1 << (exponent_bits - 1)) - 1;
  static constexpr std::uint16_t exponent_mask = ((1u << exponent_bits) - 1) << mantissa_bits;

  static std::uint16_t encode(double x) {
    const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
    if (std::isnan(x)) return std::uint16_t(exponent_mask | (1u << (mantissa_bits - 1)));
    const double a = std::fabs(x);
    if (a == 0) return sign;
    if (std::isinf(a)) return std::uint16_t(sign | exponent_mask);
    // Units of the last place at a's binade (or at the subnormal binade): a / quantum is exact,
    // and nearbyint under the default rounding mode rounds ties to even.
    const int min_exponent = 1 - bias;
    int exponent = std::max(std::ilogb(a), min_exponent);
    double units = std::nearbyint(std::ldexp(a, mantissa_bits - exponent));
    if (units == std::ldexp(1.0, mantissa_bits + 1)) {  // rounded up into the next binade
      units /= 2;
      exponent += 1;
    }
    if (exponent + bias >= (1 << exponent_bits) - 1) return std::uint16_t(sign | exponent_mask);
    const auto mantissa = std::uint32_t(units);
    if (mantissa < (1u << mantissa_bits)) return std::uint16_t(sign | mantissa);  // subnormal (or zero)
    return std::uint16_t(sign | (std::uint32_t(exponent + bias) << mantissa_bits) | (mantissa - (1u << mantissa_bits)));
  }

  static double decode(std::uint16_t bits) {
    const double sign = (bits & 0x8000) ? -1.0 : 1.0;
    const int exponent_field = (bits & exponent_mask) >> mantissa_bits;
    const std::uint32_t mantissa = bits & ((1u << mantissa_bits) - 1);
    if (exponent_field == (1 << exponent_bits) - 1) return mantissa ? std::nan("") : sign * INFINITY;
    if (exponent_field == 0) return sign * std::ldexp(double(mantissa), 1 - bias - mantissa_bits);
    return sign * std::ldexp(double(mantissa + (1u << mantissa_bits)), exponent_field - bias - mantissa_bits);
  }
};

using Float16 = Float16Format<5, 10>;
using BFloat16 = Float16Format<8, 7>;

}  // namespace rwkv
