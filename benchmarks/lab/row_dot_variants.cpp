// Lab experiment row_dot_variants: the dot product inside the one-row float products of an RNN
// step (kernels/include/rwkv/kernels/row_dot.hpp, docs/PERFORMANCE.md#one-row-products). The
// step's 85 products of the 169M shape (C = 768, F = 3072, V = 50277), each in a parallel region
// of its own with its rows shared as row_shares.hpp does; only the dot product changes:
//   variant 1: the library's kernel (matmul_forward: row_dot's portable simd loop);
//   variant 2: row_dot's AVX-512 overload (two accumulators, the lanes summed in registers);
//   variant 3: a plain loop (no simd pragma: without reassociation GCC keeps the sum scalar);
//   variant 4: the portable simd loop written out inside the region's lambda instead of called.
// Variant 2 needs a build with AVX-512 (-march=native on such a CPU); without it the program says
// so and the variants after it move up.
// Host only (OpenMP regions on Kokkos::OpenMP).
//   build/openmp/benchmarks/lab/row_dot_variants [--rounds 31] [--threads 2] [--check]
// Run with OMP_PROC_BIND=spread OMP_PLACES=threads and nothing else on the machine.
#include "lab.hpp"

#include <rwkv/kernels/row_dot.hpp>
#include <rwkv/kernels/row_shares.hpp>

namespace {

using namespace rwkv;
using gemm_detail::RowShares;
using lab::Product;

float plain_dot(const float* w, const float* x, int n) {
  float sum = 0;
  for (int j = 0; j < n; ++j) sum += w[j] * x[j];
  return sum;
}

// Each product in a region of its own, its rows shared, y[i] = dot(row i, x).
template <class Dot>
void shared_products(const std::vector<Product>& products, int threads, const Dot& dot) {
  for (const Product& p : products) {
    RowShares shares(p.out, threads, std::size_t(p.in) * sizeof(float));
#pragma omp parallel num_threads(threads)
    shares.run([&](int i) { p.y[i] = dot(p.w + std::int64_t(i) * p.in, p.x, p.in); });
  }
}

int experiment(const lab::StepShape& shape, int rounds, bool check_only) {
  const lab::Step step(shape);
  const lab::Reference reference(step.products);
  const auto& products = step.products;
  const int threads = lab::Space().concurrency();

  std::vector<lab::Variant> variants = {
      {"the library (matmul_forward: portable simd loop)", [&] { lab::library_products(products); }, &reference},
  };
#if defined(RWKV_ROW_DOT_AVX512)
  const auto avx512_dot = [](const float* w, const float* x, int n) { return gemm_detail::row_dot(w, x, n); };
  variants.push_back({"AVX-512 row_dot", [&] { shared_products(products, threads, avx512_dot); }, &reference});
#else
  std::printf("this build has no AVX-512: the AVX-512 row_dot is left out, the variants after it move up\n");
#endif
  const auto plain = [](const float* w, const float* x, int n) { return plain_dot(w, x, n); };
  variants.push_back({"plain loop", [&] { shared_products(products, threads, plain); }, &reference});
  variants.push_back({"simd loop written inside the lambda",
                      [&] {
                        for (const Product& p : products) {
                          RowShares shares(p.out, threads, std::size_t(p.in) * sizeof(float));
#pragma omp parallel num_threads(threads)
                          shares.run([&](int i) {
                            const float* w = p.w + std::int64_t(i) * p.in;
                            float sum = 0;
#pragma omp simd reduction(+ : sum)
                            for (int j = 0; j < p.in; ++j) sum += w[j] * p.x[j];
                            p.y[i] = sum;
                          });
                        }
                      },
                      &reference});

  return lab::check_then_time("row_dot_variants", step, variants, rounds, check_only);
}

}  // namespace

int main(int argc, char** argv) {
  return lab::lab_main(argc, argv, "row_dot_variants", experiment);
}
