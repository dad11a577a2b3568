// Dot products of a weight row with an activation row, the inner loop of matmul_forward_few_rows
// on host spaces without their own one-row loop (RNN steps, bound by reading the weights). Float
// rows with AVX-512 go through intrinsics: two accumulators and an in-register sum of the lanes.
// GCC 12 compiles a simd-pragma loop inside a Kokkos lambda with its accumulator on the stack (in
// one build, with gathers for the activations); the same loop in a plain OpenMP loop
// (gemm_detail::one_row_product_openmp) compiles to registers.
#pragma once

#include <rwkv/core/vector_math.hpp>

#include <Kokkos_Core.hpp>

#if !defined(RWKV_DEVICE_PASS) && defined(__AVX512F__)
#include <immintrin.h>
#define RWKV_ROW_DOT_AVX512 1
#endif

namespace rwkv::gemm_detail {

// sum_j w[j] * x[j], j < n.
template <class Scalar>
KOKKOS_INLINE_FUNCTION Scalar row_dot(const Scalar* w, const Scalar* x, int n) {
  Scalar sum = 0;
  RWKV_HOST_SIMD_REDUCTION(+ : sum)
  for (int j = 0; j < n; ++j) sum += w[j] * x[j];
  return sum;
}

#if defined(RWKV_ROW_DOT_AVX512)

inline float row_dot(const float* w, const float* x, int n) {
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  int j = 0;
  for (; j + 32 <= n; j += 32) {
    even = _mm512_fmadd_ps(_mm512_loadu_ps(w + j), _mm512_loadu_ps(x + j), even);
    odd = _mm512_fmadd_ps(_mm512_loadu_ps(w + j + 16), _mm512_loadu_ps(x + j + 16), odd);
  }
  for (; j < n; j += 16) {
    const __mmask16 mask = n - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - j)) - 1);
    even = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, w + j), _mm512_maskz_loadu_ps(mask, x + j), even);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(even, odd));
}

#endif

}  // namespace rwkv::gemm_detail
