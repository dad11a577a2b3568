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

}  // namespace rwkv
