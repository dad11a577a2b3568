// bfloat16 bit patterns on every space, for weights kept in 16 bits (the upper half of a float's
// bits: 1 sign, 8 exponent, 7 mantissa bits). Rounding is to nearest, ties to even, as
// BFloat16::encode (half_float.hpp, host, from a double) rounds: beyond the largest finite value an
// infinity, a NaN the quiet NaN 0x7fc0, subnormals kept. Widening back to float is exact.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/kokkos_compat.hpp>

#include <cstdint>
#include <cstring>

namespace rwkv {

KOKKOS_INLINE_FUNCTION std::uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  return std::uint32_t(__float_as_int(f));
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

KOKKOS_INLINE_FUNCTION float float_from_bits(std::uint32_t u) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  return __int_as_float(int(u));
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

inline constexpr std::uint16_t bfloat16_quiet_nan = 0x7fc0;

KOKKOS_INLINE_FUNCTION float bfloat16_to_float(std::uint16_t b) { return float_from_bits(std::uint32_t(b) << 16); }

// Adding 0x7fff plus the kept part's lowest bit carries into bit 16 exactly when the dropped half
// is above the tie, or at the tie with an odd kept part; a carry out of the mantissa moves to the
// next binade, and out of the largest one to the infinity.
KOKKOS_INLINE_FUNCTION std::uint16_t bfloat16_round(float f) {
  const std::uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bfloat16_quiet_nan;
  return std::uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// A double goes through a float rounded to odd (a float that is inexact keeps its last bit set),
// which then rounds to nearest even once: rounding to nearest twice could move a value near a
// bfloat16 tie onto it and then the wrong way.
KOKKOS_INLINE_FUNCTION std::uint16_t bfloat16_round(double d) {
  const float f = float(d);
  std::uint32_t u = float_bits(f);
  if (double(f) != d && d == d && (u & 1u) == 0) u += kmath::fabs(double(f)) < kmath::fabs(d) ? 1u : 0xffffffffu;
  return bfloat16_round(float_from_bits(u));
}

}  // namespace rwkv
