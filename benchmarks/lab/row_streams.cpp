// Lab experiment row_streams: how the threads stream the weights of an RNN step's one-row float
// products, and what the waits between dependent products cost (docs/PERFORMANCE.md#the-rnn-step
// and #one-stream-a-thread; kernels/include/rwkv/kernels/gemm.hpp). The step's 85 products of the
// 169M shape (C = 768, F = 3072, V = 50277), every dot product row_dot's portable simd loop:
//   variant 1: the library's kernel (matmul_forward: a parallel region per product, its rows
//              shared as row_shares.hpp does);
//   variant 2: one region for all 85, the rows shared, a barrier after each product (the wait a
//              step has where a product needs the one before);
//   variant 3: the same, without the barriers: the same bytes in the same 85 pieces;
//   variant 4: the same bytes read as one matrix of C columns (one product, rows shared);
//   variant 5: a region per product, one row a work item, schedule(static): each thread reads one
//              contiguous run of rows as one stream;
//   variant 6: as 5, four rows read side by side a work item (the host kernel before 5b2295a,
//              then a Kokkos parallel_for; here both 5 and 6 are plain OpenMP loops, as the
//              library's kernel is now).
// Host only (OpenMP regions on Kokkos::OpenMP).
//   build/openmp/benchmarks/lab/row_streams [--rounds 31] [--threads 2] [--check]
// Run with OMP_PROC_BIND=spread OMP_PLACES=threads and nothing else on the machine.
#include "lab.hpp"

#include <rwkv/kernels/row_dot.hpp>
#include <rwkv/kernels/row_shares.hpp>

namespace {

using namespace rwkv;
using gemm_detail::row_dot;
using gemm_detail::RowShares;
using lab::Product;

std::vector<RowShares> shares_of(const std::vector<Product>& products, int threads) {
  std::vector<RowShares> shares;
  for (const Product& p : products) shares.emplace_back(p.out, threads, std::size_t(p.in) * sizeof(float));
  return shares;
}

// One region for every product, the rows of each shared; a barrier after each if `wait`.
void one_region(const std::vector<Product>& products, int threads, bool wait) {
  std::vector<RowShares> shares = shares_of(products, threads);
#pragma omp parallel num_threads(threads)
  for (std::size_t n = 0; n < products.size(); ++n) {
    const Product& p = products[n];
    shares[n].run([&](int i) { p.y[i] = row_dot<float>(p.w + std::int64_t(i) * p.in, p.x, p.in); });
    if (wait) {
#pragma omp barrier
    }
  }
}

// Rows i .. i + 3 at once: four sums in flight and x read once for them.
void four_rows(const Product& p, int i) {
  const float* w0 = p.w + std::int64_t(i) * p.in;
  const float *w1 = w0 + p.in, *w2 = w1 + p.in, *w3 = w2 + p.in;
  float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
  for (int j = 0; j < p.in; ++j) {
    a0 += w0[j] * p.x[j];
    a1 += w1[j] * p.x[j];
    a2 += w2[j] * p.x[j];
    a3 += w3[j] * p.x[j];
  }
  p.y[i] = a0;
  p.y[i + 1] = a1;
  p.y[i + 2] = a2;
  p.y[i + 3] = a3;
}

int experiment(const lab::StepShape& shape, int rounds, bool check_only) {
  const lab::Step step(shape);
  const lab::Reference reference(step.products);
  const auto& products = step.products;
  const int threads = lab::Space().concurrency();

  // The step's weights as one matrix of C columns (every product's size is a multiple of C).
  const int C = shape.C;
  lab::HostFloats x("one_matrix_x", C), y("one_matrix_y", step.weight_floats() / C);
  bench::fill_uniform(x, -1, 1, 3);
  const std::vector<Product> one_matrix = {{step.weights(), x.data(), y.data(), C, int(y.extent(0))}};
  const lab::Reference one_matrix_reference(one_matrix);

  const std::vector<lab::Variant> variants = {
      {"the library (matmul_forward, a region per product)", [&] { lab::library_products(products); }, &reference},
      {"one region, a barrier after each product", [&] { one_region(products, threads, true); }, &reference},
      {"one region, no barriers (same 85 pieces)", [&] { one_region(products, threads, false); }, &reference},
      {"one matrix (the same bytes, one product)", [&] { one_region(one_matrix, threads, false); },
       &one_matrix_reference},
      {"one row a work item, static (one stream a thread)",
       [&] {
         for (const Product& p : products) {
#pragma omp parallel for schedule(static) num_threads(threads)
           for (int i = 0; i < p.out; ++i) p.y[i] = row_dot<float>(p.w + std::int64_t(i) * p.in, p.x, p.in);
         }
       },
       &reference},
      {"four rows side by side a work item, static",
       [&] {
         for (const Product& p : products) {
           const int blocks = p.out / 4;
#pragma omp parallel num_threads(threads)
           {
#pragma omp for schedule(static)
             for (int b = 0; b < blocks; ++b) four_rows(p, 4 * b);
#pragma omp single
             for (int i = 4 * blocks; i < p.out; ++i) p.y[i] = row_dot<float>(p.w + std::int64_t(i) * p.in, p.x, p.in);
           }
         }
       },
       &reference},
  };

  return lab::check_then_time("row_streams", step, variants, rounds, check_only);
}

}  // namespace

int main(int argc, char** argv) {
  return lab::lab_main(argc, argv, "row_streams", experiment);
}
