// Exact integer dot products of int8 weights with int16 activations, the inner loop of
// int8_matmul_forward. Each product is below 2^22 in magnitude, so an int32 holds 512 of them;
// sums go to int64 per block and are exact. With AVX-512 the host takes 32 weights an instruction
// (vpdpwssd under VNNI, vpmaddwd + vpaddd without): converting int8 to float instead costs three
// instructions per 16 weights and left the step kernel compute-bound below the read bandwidth.
#pragma once

#include <rwkv/core/vector_math.hpp>

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <cstdint>

#if !defined(RWKV_DEVICE_PASS) && defined(__AVX512BW__)
#include <immintrin.h>
#define RWKV_INT8_DOT_AVX512 1
#endif

namespace rwkv::int8_detail {

// Products per int32 partial sum: 512 * 127 * 32767 < 2^31.
inline constexpr int int32_block = 512;

// sum_j q[j] * a[j], j < n, exactly.
KOKKOS_INLINE_FUNCTION std::int64_t dot_int8_int16(const std::int8_t* q, const std::int16_t* a, int n) {
  std::int64_t total = 0;
  for (int j0 = 0; j0 < n; j0 += int32_block) {
    const int end = min_of(n, j0 + int32_block);
    std::int32_t sum = 0;
    RWKV_HOST_SIMD_REDUCTION(+ : sum)
    for (int j = j0; j < end; ++j) sum += std::int32_t(q[j]) * std::int32_t(a[j]);
    total += sum;
  }
  return total;
}

#if defined(RWKV_INT8_DOT_AVX512)

// A lane of a 512-bit accumulator adds one pair of products per 32 weights; after 32 * 128
// weights (128 * 2 * 127 * 32767 < 2^31) its lanes are widened into int64 lanes.
inline constexpr int avx512_block = 32 * 128;

inline __m512i multiply_add_pairs(__m512i acc, __m512i weights, __m512i activations) {
#if defined(__AVX512VNNI__)
  return _mm512_dpwssd_epi32(acc, weights, activations);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(weights, activations));
#endif
}

inline __m512i widen_add(__m512i acc64, __m512i acc32) {
  acc64 = _mm512_add_epi64(acc64, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc32)));
  return _mm512_add_epi64(acc64, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc32, 1)));
}

// sum_j q[j] * a[j] for one weight row on the host: two accumulators, so the multiply-adds do not
// wait on each other, over whole steps of 64 weights; the last n % 64 after them, masked (a masked
// loop inside each block read slower: docs/PERFORMANCE.md#int8-step).
inline std::int64_t row_dot_int8_int16(const std::int8_t* q, const std::int16_t* a, int n) {
  const int whole = n / 64 * 64;
  __m512i total = _mm512_setzero_si512();
  for (int j0 = 0; j0 < whole; j0 += avx512_block) {
    const int end = whole < j0 + avx512_block ? whole : j0 + avx512_block;
    __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
    for (int j = j0; j < end; j += 64) {
      even = multiply_add_pairs(even, _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j))),
                                _mm512_loadu_si512(a + j));
      odd = multiply_add_pairs(odd, _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j + 32))),
                               _mm512_loadu_si512(a + j + 32));
    }
    total = widen_add(widen_add(total, even), odd);
  }
  __m512i rest = _mm512_setzero_si512();
  for (int j = whole; j < n; j += 32) {
    const __mmask32 mask = n - j >= 32 ? ~__mmask32(0) : (__mmask32(1) << (n - j)) - 1;
    rest = multiply_add_pairs(rest, _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, q + j)),
                              _mm512_maskz_loadu_epi16(mask, a + j));
  }
  return _mm512_reduce_add_epi64(widen_add(total, rest));
}

#else

KOKKOS_INLINE_FUNCTION std::int64_t row_dot_int8_int16(const std::int8_t* q, const std::int16_t* a, int n) {
  return dot_int8_int16(q, a, n);
}

#endif

}  // namespace rwkv::int8_detail
