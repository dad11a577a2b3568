// Dot products of a row of bfloat16 weights with float activations, the inner loop of
// bf16_matmul_forward for few rows: each weight is widened to float exactly (its bits shifted up
// by 16) and multiplied and summed in float, so only the weights carry bfloat16's rounding.
// With AVX-512 the host reads 32 weights a load: a 32-bit lane holds weights j (low half) and j+1
// (high half), and a shift and a mask make two float vectors of them, for the even and the odd
// inputs, which serve up to max_row_dots rows of activations (a batched step's sequences). The
// activations are therefore laid out once per product to match (arrange_activations); widening
// each 16 weights with vpmovzxwd instead, or rounding the activations to bfloat16 for vdpbf16ps,
// are the lab's other variants (benchmarks/lab/bf16_dot_variants.cpp).
#pragma once

#include <rwkv/core/bfloat16.hpp>
#include <rwkv/core/vector_math.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <type_traits>

#if !defined(RWKV_DEVICE_PASS) && defined(__AVX512BW__)
#include <immintrin.h>
#define RWKV_BF16_DOT_AVX512 1
#endif

namespace rwkv::bf16_detail {

// sum_j bf16(w[j]) * x[j], j < n, with x in its natural order.
template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar dot(const std::uint16_t* w, const Scalar* x, int n) {
  Scalar sum = 0;
  RWKV_HOST_SIMD_REDUCTION(+ : sum)
  for (int j = 0; j < n; ++j) sum += Scalar(bfloat16_to_float(w[j])) * x[j];
  return sum;
}

// Inputs per block of the arranged activations.
inline constexpr int block = 32;

// The length of a row of arranged activations: n rounded up to whole blocks.
KOKKOS_INLINE_FUNCTION int arranged_length(int n) { return (n + block - 1) / block * block; }

// Whether rows of Scalar activations are arranged for the host kernel (else used as they are).
template <class Scalar>
inline constexpr bool arranged =
#if defined(RWKV_BF16_DOT_AVX512)
    std::is_same_v<Scalar, float>;
#else
    false;
#endif

#if defined(RWKV_BF16_DOT_AVX512)

// to[0, arranged_length(n)): per block of 32 inputs, the 16 even ones, then the 16 odd ones;
// zeros past n, so that a ragged last block needs no mask on this side. Two loads and two
// two-source permutes a block: a step arranges the input of each of its products.
inline void arrange_activations(float* to, const float* x, int n) {
  const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odds = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  for (int j0 = 0; j0 < n; j0 += block) {
    const int left = n - j0;
    const auto mask = [](int k) { return k >= 16 ? __mmask16(0xffff) : k <= 0 ? __mmask16(0) : __mmask16((1u << k) - 1); };
    const __m512 low = _mm512_maskz_loadu_ps(mask(left), x + j0);
    const __m512 high = _mm512_maskz_loadu_ps(mask(left - 16), x + j0 + 16);
    _mm512_storeu_ps(to + j0, _mm512_permutex2var_ps(low, evens, high));
    _mm512_storeu_ps(to + j0 + block / 2, _mm512_permutex2var_ps(low, odds, high));
  }
}

// y[r * y_stride] = sum_j bf16(w[j]) * x_r[j] for R rows of activations (row r arranged at
// xa + r * x_stride): each 32 weights are widened once for all R rows. Per row, two accumulators
// (even and odd inputs) and the lanes summed in registers, in the same order for every R, so a
// row's result does not depend on the rows beside it. The last n % 32 weights are read with a mask.
template <int R>
inline void row_dots(const std::uint16_t* w, const float* xa, std::size_t x_stride, int n, float* y,
                     std::size_t y_stride) {
  const __m512i high_half = _mm512_set1_epi32(int(0xffff0000u));
  __m512 even[R], odd[R];
  for (int r = 0; r < R; ++r) even[r] = odd[r] = _mm512_setzero_ps();
  const auto multiply_add = [&](__m512i pairs, int j) {
    const __m512 w_even = _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16));
    const __m512 w_odd = _mm512_castsi512_ps(_mm512_and_si512(pairs, high_half));
    for (int r = 0; r < R; ++r) {
      even[r] = _mm512_fmadd_ps(w_even, _mm512_loadu_ps(xa + r * x_stride + j), even[r]);
      odd[r] = _mm512_fmadd_ps(w_odd, _mm512_loadu_ps(xa + r * x_stride + j + 16), odd[r]);
    }
  };
  int j = 0;
  for (; j + block <= n; j += block) multiply_add(_mm512_loadu_si512(w + j), j);
  if (j < n) multiply_add(_mm512_maskz_loadu_epi16((__mmask32(1) << (n - j)) - 1, w + j), j);
  for (int r = 0; r < R; ++r) y[r * y_stride] = _mm512_reduce_add_ps(_mm512_add_ps(even[r], odd[r]));
}

// Rows of activations a call of row_dots takes at most.
inline constexpr int max_row_dots = 4;

// row_dots for any number of rows, max_row_dots at a time.
inline void row_dots(const std::uint16_t* w, const float* xa, std::size_t x_stride, int rows, int n, float* y,
                     std::size_t y_stride) {
  for (int r0 = 0; r0 < rows; r0 += max_row_dots) {
    const float* x0 = xa + r0 * x_stride;
    float* y0 = y + r0 * y_stride;
    switch (rows - r0) {
      case 1: row_dots<1>(w, x0, x_stride, n, y0, y_stride); break;
      case 2: row_dots<2>(w, x0, x_stride, n, y0, y_stride); break;
      case 3: row_dots<3>(w, x0, x_stride, n, y0, y_stride); break;
      default: row_dots<max_row_dots>(w, x0, x_stride, n, y0, y_stride); break;
    }
  }
}

#endif

}  // namespace rwkv::bf16_detail
