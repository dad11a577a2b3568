#include "gradient_check.hpp"

#include <rwkv/kernels/gemm.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

struct Shape {
  int N, in, out;
};
// Sizes of 1, sizes that are no multiple of a tile (64) or of a K step (128 on hosts, 32 on GPUs),
// and shapes spanning several tiles and K steps along each of the three products' K axes
// (in for y, out for dx, N for dW); each extent 0 in turn (in = 0: y = 0, the empty sum), with one
// row too (the one-row product), and all of them.
const Shape shapes[] = {{1, 1, 1},      {7, 1, 7},     {1, 7, 33},    {33, 100, 7},
                        {100, 257, 33}, {257, 33, 100}, {130, 257, 257}, {65, 129, 1},
                        {0, 7, 5}, {7, 0, 5}, {7, 5, 0}, {1, 0, 5}, {1, 5, 0}, {0, 0, 0}};

enum class Path { dispatch, portable };
const Path paths[] = {Path::dispatch, Path::portable};

// Plain double products on row-major arrays, with sum |a_k b_k| beside each entry for the bound.
//   y [N, out] = x W^T      dx [N, in] = dy W      dW [out, in] = dy^T x
struct Product {
  std::vector<double> value, magnitude;
};
Product reference_forward(const std::vector<double>& x, const std::vector<double>& W, const Shape s) {
  Product p{std::vector<double>(std::size_t(s.N) * s.out), std::vector<double>(std::size_t(s.N) * s.out)};
  for (int n = 0; n < s.N; ++n)
    for (int o = 0; o < s.out; ++o)
      for (int i = 0; i < s.in; ++i) {
        p.value[n * s.out + o] += x[n * s.in + i] * W[o * s.in + i];
        p.magnitude[n * s.out + o] += std::abs(x[n * s.in + i] * W[o * s.in + i]);
      }
  return p;
}
Product reference_dx(const std::vector<double>& dy, const std::vector<double>& W, const Shape s) {
  Product p{std::vector<double>(std::size_t(s.N) * s.in), std::vector<double>(std::size_t(s.N) * s.in)};
  for (int n = 0; n < s.N; ++n)
    for (int i = 0; i < s.in; ++i)
      for (int o = 0; o < s.out; ++o) {
        p.value[n * s.in + i] += dy[n * s.out + o] * W[o * s.in + i];
        p.magnitude[n * s.in + i] += std::abs(dy[n * s.out + o] * W[o * s.in + i]);
      }
  return p;
}
Product reference_dW(const std::vector<double>& dy, const std::vector<double>& x, const Shape s) {
  Product p{std::vector<double>(std::size_t(s.out) * s.in), std::vector<double>(std::size_t(s.out) * s.in)};
  for (int o = 0; o < s.out; ++o)
    for (int i = 0; i < s.in; ++i)
      for (int n = 0; n < s.N; ++n) {
        p.value[o * s.in + i] += dy[n * s.out + o] * x[n * s.in + i];
        p.magnitude[o * s.in + i] += std::abs(dy[n * s.out + o] * x[n * s.in + i]);
      }
  return p;
}

// Rounding bound for a sum of `terms` products (and a prior value) in any order, with or without
// FMA: |computed - exact| <= gamma(terms) * (sum |a_k b_k| + |prior|), gamma(n) = n u / (1 - n u),
// u the unit roundoff of Scalar. The double reference adds its own gamma at u = 2^-53.
template <class Scalar>
double gamma(int terms) {
  const double u = std::numeric_limits<Scalar>::epsilon() / 2;
  const double ud = std::numeric_limits<double>::epsilon() / 2;
  return terms * u / (1 - terms * u) + terms * ud / (1 - terms * ud);
}

// Counts the entries of got outside got = prior + product within the rounding bound.
template <class Scalar>
int count_outside(const std::vector<double>& got, const std::vector<double>& prior, const Product& p, int terms) {
  int bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double c0 = prior.empty() ? 0.0 : prior[i];
    const double tol = gamma<Scalar>(terms + 1) * (p.magnitude[i] + std::abs(c0));
    bad += !(std::abs(got[i] - (c0 + p.value[i])) <= tol);
  }
  return bad;
}

template <class Space, class Scalar>
void forward(Path path, const Space& space, const Matrix<Space, Scalar>& y, const Matrix<Space, Scalar>& x,
             const Matrix<Space, Scalar>& W) {
  if (path == Path::dispatch)
    matmul_forward(space, y, x, W);
  else
    matmul_forward_portable(space, y, x, W);
}

template <class Space, class Scalar>
void backward(Path path, const Space& space, const Matrix<Space, Scalar>& dx, const Matrix<Space, Scalar>& dW,
              const Matrix<Space, Scalar>& dy, const Matrix<Space, Scalar>& x, const Matrix<Space, Scalar>& W) {
  if (path == Path::dispatch)
    matmul_backward(space, dx, dW, dy, x, W);
  else
    matmul_backward_portable(space, dx, dW, dy, x, W);
}


template <class Space, class Scalar>
void check_products(const Shape s) {
  CAPTURE(s.N, s.in, s.out);
  HostMatrix<Scalar> x("x", s.N, s.in), W("W", s.out, s.in), dy("dy", s.N, s.out);
  HostMatrix<Scalar> dx0("dx0", s.N, s.in), dW0("dW0", s.out, s.in), y0("y0", s.N, s.out);
  fill_uniform(x, 1 + s.N, -1.0, 1.0);
  fill_uniform(W, 2 + s.in);
  fill_uniform(dy, 3 + s.out);
  fill_uniform(dx0, 4 + s.N);
  fill_uniform(dW0, 5 + s.in);
  // The forward overwrites y: NaN there must not leak in (beta = 0 must not read y).
  Kokkos::deep_copy(y0, std::numeric_limits<Scalar>::quiet_NaN());

  const auto xs = as_doubles(x), Ws = as_doubles(W), dys = as_doubles(dy);
  const Product y_ref = reference_forward(xs, Ws, s);
  const Product dx_ref = reference_dx(dys, Ws, s);
  const Product dW_ref = reference_dW(dys, xs, s);

  Space space;
  const auto xd = to_device<Space>(x);
  const auto Wd = to_device<Space>(W);
  const auto dyd = to_device<Space>(dy);
  std::vector<double> y_by_path[2];
  for (const Path path : paths) {
    CAPTURE(int(path));
    const auto yd = to_device<Space>(y0);
    const auto dxd = to_device<Space>(dx0);
    const auto dWd = to_device<Space>(dW0);
    forward(path, space, yd, xd, Wd);
    backward(path, space, dxd, dWd, dyd, xd, Wd);
    space.fence();
    y_by_path[int(path)] = as_doubles(to_host(yd));
    CHECK(count_outside<Scalar>(y_by_path[int(path)], {}, y_ref, s.in) == 0);
    CHECK(count_outside<Scalar>(as_doubles(to_host(dxd)), as_doubles(dx0), dx_ref, s.out) == 0);
    CHECK(count_outside<Scalar>(as_doubles(to_host(dWd)), as_doubles(dW0), dW_ref, s.N) == 0);

    // An empty gradient view skips that product and leaves the other as it was.
    const auto dx_only = to_device<Space>(dx0);
    const auto dW_only = to_device<Space>(dW0);
    backward(path, space, dx_only, Matrix<Space, Scalar>(), dyd, xd, Wd);
    backward(path, space, Matrix<Space, Scalar>(), dW_only, dyd, xd, Wd);
    space.fence();
    CHECK(as_doubles(to_host(dx_only)) == as_doubles(to_host(dxd)));
    CHECK(as_doubles(to_host(dW_only)) == as_doubles(to_host(dWd)));
  }
  // The two paths agree with each other within the sum of their bounds.
  int disagree = 0;
  for (std::size_t i = 0; i < y_ref.value.size(); ++i)
    disagree += !(std::abs(y_by_path[0][i] - y_by_path[1][i]) <= 2 * gamma<Scalar>(s.in + 1) * y_ref.magnitude[i]);
  CHECK(disagree == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("matmul forward and backward, BLAS and portable paths, match plain double products",
                        "[gemm]", Spaces) {
  for (const Shape s : shapes) {
    check_products<TestType, double>(s);
    check_products<TestType, float>(s);
  }
}

TEMPLATE_LIST_TEST_CASE("matmul_backward matches central finite differences of sum(y * g)", "[gemm]", Spaces) {
  using Space = TestType;
  const Shape small[] = {{1, 1, 1}, {3, 7, 5}, {9, 2, 13}, {0, 3, 2}, {3, 0, 2}, {3, 2, 0}};
  for (const Shape s : small) {
    CAPTURE(s.N, s.in, s.out);
    HostMatrix<double> x("x", s.N, s.in), W("W", s.out, s.in), g("g", s.N, s.out);
    fill_uniform(x, 41 + s.N);
    fill_uniform(W, 42 + s.in);
    fill_uniform(g, 43 + s.out);
    auto xs = as_doubles(x), Ws = as_doubles(W);
    const auto gs = as_doubles(g);
    // L = sum(y * g), so dL/dx and dL/dW are what the backward adds given dy = g.
    auto loss = [&]() { return weighted_sum(reference_forward(xs, Ws, s).value, gs); };
    Space space;
    const auto xd = to_device<Space>(x);
    const auto Wd = to_device<Space>(W);
    const auto gd = to_device<Space>(g);
    for (const Path path : paths) {
      CAPTURE(int(path));
      Matrix<Space, double> dx("dx", s.N, s.in), dW("dW", s.out, s.in);
      backward(path, space, dx, dW, gd, xd, Wd);
      space.fence();
      // L is linear in each entry, so the central difference is exact up to rounding of L (~1e-16 * |L| / h).
      const FiniteDifferenceCheck fd{1e-3, 1e-9, 1e-10};
      CHECK(fd.mismatches("dx", xs, as_doubles(to_host(dx)), loss) == 0);
      CHECK(fd.mismatches("dW", Ws, as_doubles(to_host(dW)), loss) == 0);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("matmul_forward_few_rows matches plain double products", "[gemm]", Spaces) {
  // One row of 3072: blocks of 5 rows (row_shares.hpp), so the cores take many and steal some.
  for (const Shape s : {Shape{1, 1, 1}, Shape{1, 77, 13}, Shape{1, 3072, 701}, Shape{2, 40, 9}, Shape{3, 300, 5},
                        Shape{0, 40, 9}, Shape{1, 0, 9}, Shape{2, 0, 9}, Shape{1, 40, 0}}) {
    CAPTURE(s.N, s.in, s.out);
    HostMatrix<float> x("x", s.N, s.in), W("W", s.out, s.in);
    fill_uniform(x, 11 + s.N);
    fill_uniform(W, 12 + s.in);
    Matrix<TestType, float> y("y", s.N, s.out);
    Kokkos::deep_copy(y, std::numeric_limits<float>::quiet_NaN());  // overwritten, also by in = 0's zeros
    matmul_forward_few_rows(TestType(), y, to_device<TestType>(x), to_device<TestType>(W));
    const Product ref = reference_forward(as_doubles(x), as_doubles(W), s);
    CHECK(count_outside<float>(as_doubles(to_host(y)), {}, ref, s.in) == 0);
  }
}

namespace {

const HostGemm host_backends[] = {HostGemm::openblas, HostGemm::onednn};

// The three products of a linear layer through one host backend on raw arrays whose rows are
// padded (leading dimensions past the row length), checked against the double reference; the
// padding must stay as it was.
template <class Scalar>
void check_backend(HostGemm backend, const Shape s) {
  CAPTURE(host_gemm_name(backend), s.N, s.in, s.out);
  constexpr int pad = 3;
  const Scalar canary = Scalar(12345);
  auto padded = [&](int rows, int cols, std::uint64_t seed) {
    HostMatrix<Scalar> m("m", rows, cols);
    fill_uniform(m, seed);
    std::vector<Scalar> data(std::size_t(rows) * (cols + pad), canary);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) data[std::size_t(r) * (cols + pad) + c] = m(r, c);
    return std::pair{as_doubles(m), data};
  };
  auto unpadded = [&](const std::vector<Scalar>& data, int rows, int cols) {
    std::vector<double> out;
    int canaries_lost = 0;
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) out.push_back(double(data[std::size_t(r) * (cols + pad) + c]));
      for (int c = cols; c < cols + pad; ++c) canaries_lost += data[std::size_t(r) * (cols + pad) + c] != canary;
    }
    CHECK(canaries_lost == 0);
    return out;
  };
  const auto [xs, x] = padded(s.N, s.in, 61);
  const auto [Ws, W] = padded(s.out, s.in, 62);
  const auto [dys, dy] = padded(s.N, s.out, 63);
  auto [dx0s, dx] = padded(s.N, s.in, 64);
  auto [dW0s, dW] = padded(s.out, s.in, 65);
  std::vector<Scalar> y(std::size_t(s.N) * (s.out + pad), canary);
  for (int n = 0; n < s.N; ++n)
    for (int o = 0; o < s.out; ++o) y[std::size_t(n) * (s.out + pad) + o] = std::numeric_limits<Scalar>::quiet_NaN();

  // y = x W^T (beta = 0 must not read the NaN in y), dx += dy W, dW += dy^T x.
  host_gemm(backend, {false, true, s.N, s.out, s.in, s.in + pad, s.in + pad, s.out + pad}, x.data(), W.data(), Scalar(0),
            y.data());
  host_gemm(backend, {false, false, s.N, s.in, s.out, s.out + pad, s.in + pad, s.in + pad}, dy.data(), W.data(),
            Scalar(1), dx.data());
  host_gemm(backend, {true, false, s.out, s.in, s.N, s.out + pad, s.in + pad, s.in + pad}, dy.data(), x.data(),
            Scalar(1), dW.data());
  CHECK(count_outside<Scalar>(unpadded(y, s.N, s.out), {}, reference_forward(xs, Ws, s), s.in) == 0);
  CHECK(count_outside<Scalar>(unpadded(dx, s.N, s.in), dx0s, reference_dx(dys, Ws, s), s.out) == 0);
  CHECK(count_outside<Scalar>(unpadded(dW, s.out, s.in), dW0s, reference_dW(dys, xs, s), s.N) == 0);
}

// Threads of this process (Linux: one entry each under /proc/self/task).
int process_threads() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace

TEST_CASE("every host GEMM backend of the build matches plain double products", "[gemm]") {
  int tested = 0;
  for (const HostGemm backend : host_backends) {
    if (!host_gemm_available(backend)) continue;
    ++tested;
    // Shapes of at least one row and column (gemm.hpp handles the empty ones before the library).
    for (const Shape s : shapes) {
      if (s.N == 0 || s.in == 0 || s.out == 0) continue;
      check_backend<float>(backend, s);
      check_backend<double>(backend, s);
    }
  }
  CHECK(tested >= 1);
}

TEST_CASE("the host GEMM backend is the one configured, and a missing one is refused", "[gemm]") {
  // RWKV_TEST_HOST_GEMM: what cmake/host_gemm.cmake chose (RWKV_HOST_GEMM, or auto's timing).
  CHECK(std::string(host_gemm_name(host_gemm_default())) == RWKV_TEST_HOST_GEMM);
  CHECK(host_gemm_available(host_gemm_default()));
  CHECK(host_gemm_available(HostGemm::openblas));
  for (const HostGemm backend : host_backends) {
    if (host_gemm_available(backend)) continue;
    const float a = 1, b = 1;
    float c = 0;
    CHECK_THROWS_WITH(host_gemm(backend, {false, false, 1, 1, 1, 1, 1, 1}, &a, &b, 0.0f, &c),
                      Catch::Contains(host_gemm_name(backend)) && Catch::Contains("not in this build"));
  }
}

TEST_CASE("the host GEMM backends run on Kokkos' OpenMP threads and start none of their own", "[gemm]") {
  // The pool of the default space is up before the first product: a kernel on it ran.
  Kokkos::parallel_for(Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>(0, 64), KOKKOS_LAMBDA(int) {});
  Kokkos::fence();
  const int before = process_threads();
  const Shape s{256, 256, 256};
  for (const HostGemm backend : host_backends)
    if (host_gemm_available(backend)) check_backend<float>(backend, s);
  CHECK(process_threads() == before);
}

#if defined(RWKV_OPENMP_LOOPS)
TEST_CASE("RowShares hands every row to exactly one thread, whatever the team", "[gemm]") {
  // Rows of 1 byte (blocks of block_rows rows) and of 0 bytes (a product with in = 0).
  for (const int out : {0, 1, 7, 1000, 4099}) {
    for (const int block_rows : {1, 3, 64}) {
      for (const int team : {1, 2, 3, 4}) {
        for (const std::size_t row_bytes : {1, 0}) {
          CAPTURE(out, block_rows, team, row_bytes);
          // Shares for 4 threads: a smaller team leaves runs without their owner.
          gemm_detail::RowShares shares(out, 4, row_bytes, std::size_t(block_rows));
          std::vector<int> taken(std::size_t(out), 0);
          int* counts = taken.data();
#pragma omp parallel num_threads(team)
          shares.run([counts](int i) {
#pragma omp atomic
            ++counts[i];
          });
          int wrong = 0;
          for (int n : taken) wrong += n != 1;
          CHECK(wrong == 0);
        }
      }
    }
  }
}
#endif
