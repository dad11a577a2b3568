// Lab experiment one_row_schedules: how the rows of the one-row float products y = x W^T of an RNN
// step are handed to the threads (kernels/include/rwkv/kernels/row_shares.hpp,
// docs/PERFORMANCE.md#row-sharing and #what-did-not-help). The step's 85 products of the 169M
// shape (C = 768, F = 3072, V = 50277), every variant with row_dot's portable simd loop, as the
// library's kernel:
//   variant 1: a parallel region per product, schedule(guided);
//   variant 2: a parallel region per product, schedule(static): one equal run of rows a thread;
//   variant 3: a parallel region per product, the rows shared as row_shares.hpp does (the library);
//   variant 4: a region per group of independent products (att k v r; ffn key and receptance),
//              schedule(guided) without a barrier between them (as 2579e66 ran them);
//   variant 5: a region per group of independent products, the rows of each shared as in 3.
// "waited" is the share of the threads' time spent at a region's end after their last row.
// Host only (OpenMP regions on Kokkos::OpenMP).
//   build/openmp/benchmarks/lab/one_row_schedules [--rounds 31] [--threads 2] [--check]
// Run with OMP_PROC_BIND=spread OMP_PLACES=threads and nothing else on the machine.
#include "lab.hpp"

#include <rwkv/kernels/row_dot.hpp>
#include <rwkv/kernels/row_shares.hpp>

namespace {

using namespace rwkv;
using gemm_detail::row_dot;
using gemm_detail::RowShares;
using lab::Product;

RowShares shares_of(const Product& p, int threads) {
  return RowShares(p.out, threads, std::size_t(p.in) * sizeof(float));
}

void rows_guided_nowait(const Product& p) {
#pragma omp for schedule(guided) nowait
  for (int i = 0; i < p.out; ++i) p.y[i] = row_dot<float>(p.w + std::int64_t(i) * p.in, p.x, p.in);
}

int experiment(const lab::StepShape& shape, int rounds, bool check_only) {
  const lab::Step step(shape);
  const lab::Reference reference(step.products);
  const auto& products = step.products;
  const auto& groups = step.groups;
  const int threads = lab::Space().concurrency();
  lab::Waits per_product[3] = {{products.size(), threads}, {products.size(), threads}, {products.size(), threads}};
  lab::Waits per_group[2] = {{groups.size(), threads}, {groups.size(), threads}};

  const std::vector<lab::Variant> variants = {
      {"guided, a region per product",
       [&] {
         for (std::size_t n = 0; n < products.size(); ++n) {
#pragma omp parallel num_threads(threads)
           {
             rows_guided_nowait(products[n]);
             per_product[0].done(n);
           }
         }
       },
       &reference, [&] { return per_product[0].waited(); }},
      {"static, a region per product",
       [&] {
         for (std::size_t n = 0; n < products.size(); ++n) {
           const Product& p = products[n];
#pragma omp parallel num_threads(threads)
           {
#pragma omp for schedule(static) nowait
             for (int i = 0; i < p.out; ++i) p.y[i] = row_dot<float>(p.w + std::int64_t(i) * p.in, p.x, p.in);
             per_product[1].done(n);
           }
         }
       },
       &reference, [&] { return per_product[1].waited(); }},
      {"row sharing, a region per product (the library)",
       [&] {
         for (std::size_t n = 0; n < products.size(); ++n) {
           const Product& p = products[n];
           RowShares shares = shares_of(p, threads);
#pragma omp parallel num_threads(threads)
           {
             shares.run([&](int i) { p.y[i] = row_dot<float>(p.w + std::int64_t(i) * p.in, p.x, p.in); });
             per_product[2].done(n);
           }
         }
       },
       &reference, [&] { return per_product[2].waited(); }},
      {"guided, a region per group of independent products",
       [&] {
         for (std::size_t g = 0; g < groups.size(); ++g) {
#pragma omp parallel num_threads(threads)
           {
             for (const int n : groups[g]) rows_guided_nowait(products[n]);
             per_group[0].done(g);
           }
         }
       },
       &reference, [&] { return per_group[0].waited(); }},
      {"row sharing, a region per group of independent products",
       [&] {
         for (std::size_t g = 0; g < groups.size(); ++g) {
           std::vector<RowShares> shares;
           for (const int n : groups[g]) shares.push_back(shares_of(products[n], threads));
#pragma omp parallel num_threads(threads)
           {
             for (std::size_t k = 0; k < shares.size(); ++k) {
               const Product& p = products[groups[g][k]];
               shares[k].run([&](int i) { p.y[i] = row_dot<float>(p.w + std::int64_t(i) * p.in, p.x, p.in); });
             }
             per_group[1].done(g);
           }
         }
       },
       &reference, [&] { return per_group[1].waited(); }},
  };

  return lab::check_then_time("one_row_schedules", step, variants, rounds, check_only);
}

}  // namespace

int main(int argc, char** argv) {
  return lab::lab_main(argc, argv, "one_row_schedules", experiment);
}
