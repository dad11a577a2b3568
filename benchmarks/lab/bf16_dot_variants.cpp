// Lab experiment bf16_dot_variants: the dot product inside the one-row bfloat16 products of an RNN
// step (kernels/include/rwkv/kernels/bf16_dot.hpp) and how the rows are shared. The step's 85
// products of the 169M shape (C = 768, F = 3072, V = 50277), each in a parallel region of its
// own (variants 2 and 3: rows shared as row_shares.hpp does), on the same weights rounded to
// bfloat16:
//   variant 1: the library (bf16_matmul_forward: a 32-bit lane's two weights widened by a shift
//              and a mask, the activations arranged to match once per product; the rows handed
//              out by schedule(guided), as the int8 step does);
//   variant 2: each 16 weights widened with vpmovzxwd and a shift, the activations as they are;
//   variant 3: vdpbf16ps (AVX512_BF16), the activations rounded to bfloat16 once per product,
//              so that they carry bfloat16's rounding too (checked against that rounded input);
//   variant 4: the library's dot products with the rows shared as the float products share
//              them (row_shares.hpp) instead of the guided schedule;
//   variant 5: float32 weights (matmul_forward on the rounded weights widened back to float),
//              which reads twice the bytes: "vs 1" of it is the float32 step over the bfloat16 one.
// The read passes and the "of read" column count the bfloat16 weights' bytes (half variant 5's).
// Variants 2 to 4 need AVX-512 (-march=native on such a CPU), variant 3 AVX512_BF16; without
// them the program says so and the variants after them move up.
// Host only (OpenMP regions on Kokkos::OpenMP).
//   build/openmp/benchmarks/lab/bf16_dot_variants [--rounds 31] [--threads 2] [--check]
// Run with OMP_PROC_BIND=spread OMP_PLACES=threads and nothing else on the machine.
#include "lab.hpp"

#include <rwkv/core/bfloat16.hpp>
#include <rwkv/kernels/bf16_matmul.hpp>
#include <rwkv/kernels/row_shares.hpp>

#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

namespace {

using namespace rwkv;
using gemm_detail::RowShares;
using lab::Product;
using HostBits = Kokkos::View<std::uint16_t*, Kokkos::HostSpace>;

#if defined(__AVX512BW__)
float widened_dot(const std::uint16_t* w, const float* x, int n) {
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  const auto widen = [](__m256i bits) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16)); };
  int j = 0;
  for (; j + 32 <= n; j += 32) {
    even = _mm512_fmadd_ps(widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j))), _mm512_loadu_ps(x + j), even);
    odd = _mm512_fmadd_ps(widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j + 16))),
                          _mm512_loadu_ps(x + j + 16), odd);
  }
  for (; j < n; j += 16) {
    const __mmask16 mask = n - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - j)) - 1);
    even = _mm512_fmadd_ps(widen(_mm256_maskz_loadu_epi16(mask, w + j)), _mm512_maskz_loadu_ps(mask, x + j), even);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(even, odd));
}
#endif

#if defined(__AVX512BF16__)
// xb: the activations rounded to bfloat16.
float dpbf16_dot(const std::uint16_t* w, const std::uint16_t* xb, int n) {
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  int j = 0;
  for (; j + 64 <= n; j += 64) {
    even = _mm512_dpbf16_ps(even, (__m512bh)_mm512_loadu_si512(w + j), (__m512bh)_mm512_loadu_si512(xb + j));
    odd = _mm512_dpbf16_ps(odd, (__m512bh)_mm512_loadu_si512(w + j + 32), (__m512bh)_mm512_loadu_si512(xb + j + 32));
  }
  for (; j < n; j += 32) {
    const __mmask32 mask = n - j >= 32 ? ~__mmask32(0) : (__mmask32(1) << (n - j)) - 1;
    even = _mm512_dpbf16_ps(even, (__m512bh)_mm512_maskz_loadu_epi16(mask, w + j),
                            (__m512bh)_mm512_maskz_loadu_epi16(mask, xb + j));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(even, odd));
}
#endif

int experiment(const lab::StepShape& shape, int rounds, bool check_only) {
  const lab::Step step(shape);
  const int threads = lab::Space().concurrency();
  const std::int64_t count = step.weight_floats();
  // The weights in bfloat16, and the same values as floats.
  const auto bits = allocate_with_huge_pages<HostBits>("lab_bf16", count);
  const auto widened = allocate_with_huge_pages<lab::HostFloats>("lab_bf16_widened", count);
  for (std::int64_t k = 0; k < count; ++k) {
    bits(k) = bfloat16_round(step.weights()[k]);
    widened(k) = bfloat16_to_float(bits(k));
  }
  std::vector<Product> products = step.products;  // on the widened weights
  std::vector<const std::uint16_t*> weight_bits;
  for (Product& p : products) {
    const std::int64_t offset = p.w - step.weights();
    p.w = widened.data() + offset;
    weight_bits.push_back(bits.data() + offset);
  }
  const lab::Reference reference(products);
  const double bytes = double(count) * sizeof(std::uint16_t);

  BFloat16Work<lab::Space, float> work;
  std::vector<lab::Variant> variants = {
      {"the library (bf16_matmul_forward: shift and mask, guided)",
       [&] {
         for (std::size_t k = 0; k < products.size(); ++k) {
           const Product& p = products[k];
           bf16_matmul_forward(lab::Space(), Matrix<lab::Space, float>(p.y, 1, p.out),
                               ConstMatrix<lab::Space, float>(p.x, 1, p.in),
                               BFloat16Matrix<lab::Space>(const_cast<std::uint16_t*>(weight_bits[k]), p.out, p.in), work);
         }
       },
       &reference},
  };
#if defined(__AVX512BW__)
  variants.push_back({"vpmovzxwd and a shift, activations as they are",
                      [&] {
                        for (std::size_t k = 0; k < products.size(); ++k) {
                          const Product& p = products[k];
                          const std::uint16_t* w = weight_bits[k];
                          RowShares shares(p.out, threads, std::size_t(p.in) * sizeof(std::uint16_t));
#pragma omp parallel num_threads(threads)
                          shares.run([&](int i) { p.y[i] = widened_dot(w + std::int64_t(i) * p.in, p.x, p.in); });
                        }
                      },
                      &reference});
#else
  std::printf("this build has no AVX-512: variant 2 is left out, the variants after it move up\n");
#endif
#if defined(__AVX512BF16__)
  // The activations rounded to bfloat16, as bits for the kernel and as floats for its reference.
  std::vector<std::vector<std::uint16_t>> x_bits;
  std::vector<std::vector<float>> x_rounded;
  std::vector<Product> rounded_inputs = products;
  for (Product& p : rounded_inputs) {
    x_bits.emplace_back(p.in);
    x_rounded.emplace_back(p.in);
    for (int j = 0; j < p.in; ++j) x_rounded.back()[j] = bfloat16_to_float(x_bits.back()[j] = bfloat16_round(p.x[j]));
    p.x = x_rounded.back().data();
  }
  const lab::Reference rounded_reference(rounded_inputs);
  std::vector<std::uint16_t> xb(std::size_t(shape.F > shape.C ? shape.F : shape.C));
  variants.push_back({"vdpbf16ps, activations rounded to bfloat16",
                      [&] {
                        for (std::size_t k = 0; k < products.size(); ++k) {
                          const Product& p = products[k];
                          for (int j = 0; j < p.in; ++j) xb[j] = bfloat16_round(p.x[j]);
                          const std::uint16_t* w = weight_bits[k];
                          RowShares shares(p.out, threads, std::size_t(p.in) * sizeof(std::uint16_t));
#pragma omp parallel num_threads(threads)
                          shares.run([&](int i) { p.y[i] = dpbf16_dot(w + std::int64_t(i) * p.in, xb.data(), p.in); });
                        }
                      },
                      &rounded_reference});
#else
  std::printf("this build has no AVX512_BF16: the vdpbf16ps variant is left out, the variants after it move up\n");
#endif
#if defined(RWKV_BF16_DOT_AVX512)
  std::vector<float> arranged(std::size_t(bf16_detail::arranged_length(shape.F > shape.C ? shape.F : shape.C)));
  variants.push_back({"the library's dot products, rows shared (row_shares.hpp)",
                      [&] {
                        for (std::size_t k = 0; k < products.size(); ++k) {
                          const Product& p = products[k];
                          bf16_detail::arrange_activations(arranged.data(), p.x, p.in);
                          const std::uint16_t* w = weight_bits[k];
                          const float* xa = arranged.data();
                          RowShares shares(p.out, threads, std::size_t(p.in) * sizeof(std::uint16_t));
#pragma omp parallel num_threads(threads)
                          shares.run([&](int i) { bf16_detail::row_dots<1>(w + std::int64_t(i) * p.in, xa, 0, p.in, p.y + i, 0); });
                        }
                      },
                      &reference});
#endif
  variants.push_back({"float32 weights (matmul_forward), twice the bytes", [&] { lab::library_products(products); },
                      &reference});

  if (!check_only) {
    lab::print_header("bf16_dot_variants", step, rounds);
    std::printf("bfloat16 weights: %.1f MB\n", bytes / 1e6);
  }
  if (!lab::check_all(variants)) return 1;
  if (!check_only) lab::time_in_turns(variants, bytes, rounds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return lab::lab_main(argc, argv, "bf16_dot_variants", experiment);
}
