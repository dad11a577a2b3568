// What host loops need to vectorize: OpenMP simd pragmas (which also allow a reduction to be
// reassociated across vector lanes, in an order fixed at compile time, so results are still the
// same bits run after run) and an exp the compiler can inline into a vector loop (glibc's expf
// is a scalar call that costs as much as the rest of a softmax).
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/kokkos_compat.hpp>

#include <cstdint>
#include <cstring>

#if defined(_OPENMP) && !defined(RWKV_DEVICE_PASS)
#define RWKV_PRAGMA(text) _Pragma(#text)
// Before a loop whose iterations are independent.
#define RWKV_HOST_SIMD RWKV_PRAGMA(omp simd)
// Before a reduction loop, e.g. RWKV_HOST_SIMD_REDUCTION(+ : sum) or (+ : a, b).
#define RWKV_HOST_SIMD_REDUCTION(...) RWKV_PRAGMA(omp simd reduction(__VA_ARGS__))
#else
#define RWKV_HOST_SIMD
#define RWKV_HOST_SIMD_REDUCTION(...)
#endif

namespace rwkv {

// exp(x) for float, within 2 units in the last place, built from arithmetic only:
//   n = round(x / ln 2),  r = x - n ln 2 in [-ln2/2, ln2/2]  (ln 2 split in two: n * hi is exact)
//   exp(x) = 2^n * (1 + r + r^2/2! + ... + r^8/8!)           (truncation < 3e-10, relative)
// 2^n is written into the exponent bits. Results below FLT_MIN (x < -87.34) flush to 0, above
// FLT_MAX (x > 88.72) are +inf, NaN stays NaN. Device passes use the native exp instead.
KOKKOS_INLINE_FUNCTION float vector_exp(float x) {
#if defined(RWKV_DEVICE_PASS)
  return kmath::exp(x);
#else
  constexpr float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  constexpr float round_shift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  constexpr float lowest = -87.3365448f, highest = 88.7228394f;
  const float xc = x < lowest ? lowest : (x > highest ? highest : x);
  const float n = (xc * log2e + round_shift) - round_shift;
  const float r = (xc - n * ln2_hi) - n * ln2_lo;
  float p = 1.0f / 40320;
  p = p * r + 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // n = 128 (x within 0.35 of the top) has no exponent bits: scale by 2^127 and once more by 2.
  const bool top = n > 127.0f;
  const std::int32_t bits = (std::int32_t(top ? 127.0f : n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float result = top ? 2.0f * p * scale : p * scale;
  return x < lowest ? 0.0f : (x > highest ? __builtin_huge_valf() : (x != x ? x : result));
#endif
}

// Double keeps the library exp: the double kernels are the references.
KOKKOS_INLINE_FUNCTION double vector_exp(double x) { return kmath::exp(x); }

// exp(x) for double within 1 unit in the last place, from arithmetic only, for double loops that
// are not references but must vectorize (sampling's weights over a vocabulary). As vector_exp:
//   n = round(x / ln 2),  r = x - n ln 2,  exp(x) = 2^n * (1 + r + ... + r^13/13!)  (truncation < 1e-17)
// 2^n is applied as two normal powers of two, 2^(n - n/2) and 2^(n/2), so results in the subnormal
// range round once, like the library's; below them 0, above DBL_MAX +inf, NaN stays NaN.
// Device passes use the native exp. Forced inline: a loop calling it vectorizes only so.
KOKKOS_FORCEINLINE_FUNCTION double arithmetic_exp(double x) {
#if defined(RWKV_DEVICE_PASS)
  return kmath::exp(x);
#else
  constexpr double log2e = 1.4426950408889634, ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  constexpr double round_shift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  // exp(-746) < 2^-1075 rounds to 0 and exp(710) > DBL_MAX: clamped there, n stays in [-1076, 1024].
  const double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
  const double shifted = xc * log2e + round_shift;
  const double n = shifted - round_shift;
  const double r = (xc - n * ln2_hi) - n * ln2_lo;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // n sits in the low mantissa bits of `shifted`, two's complement: shifting up and back extends its sign.
  std::int64_t shifted_bits;
  std::memcpy(&shifted_bits, &shifted, sizeof shifted_bits);
  const std::int64_t n_int = static_cast<std::int64_t>(static_cast<std::uint64_t>(shifted_bits) << 13) >> 13;
  const std::int64_t half = n_int >> 1;
  const std::int64_t low_bits = (n_int - half + 1023) << 52, high_bits = (half + 1023) << 52;
  double low_scale, high_scale;
  std::memcpy(&low_scale, &low_bits, sizeof low_scale);
  std::memcpy(&high_scale, &high_bits, sizeof high_scale);
  return (p * high_scale) * low_scale;
#endif
}

}  // namespace rwkv
