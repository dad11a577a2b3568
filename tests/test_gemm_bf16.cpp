// The bfloat16 training products (gemm_bf16.hpp) against plain double products of the operands
// rounded to bfloat16 on the host (BFloat16::encode, half_float.hpp), within the rounding of
// Scalar sums; and evidence that the operands really are rounded.
#include "model_support.hpp"

#include <rwkv/core/half_float.hpp>
#include <rwkv/kernels/gemm_bf16.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace rwkv;
using namespace rwkv::test;

namespace {

struct Shape {
  int N, in, out;
};

// A host matrix rounded to bfloat16 and widened back, as doubles in row-major order.
template <class Scalar>
std::vector<double> rounded(const HostMatrix<Scalar>& m) {
  std::vector<double> out(m.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = BFloat16::decode(BFloat16::encode(double(m.data()[i])));
  return out;
}

// C [M, N] = op(A) op(B) in double with sum |a b| beside each entry; A, B row-major, op(A)[m, k]
// = A[k, m] when trans_a (A is [K, M]), op(B)[k, n] = B[n, k] when trans_b (B is [N, K]).
struct Product {
  std::vector<double> value, magnitude;
};
Product reference(const std::vector<double>& A, const std::vector<double>& B, int M, int N, int K, bool trans_a,
                  bool trans_b) {
  Product p{std::vector<double>(std::size_t(M) * N), std::vector<double>(std::size_t(M) * N)};
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k) {
        const double a = trans_a ? A[std::size_t(k) * M + m] : A[std::size_t(m) * K + k];
        const double b = trans_b ? B[std::size_t(n) * K + k] : B[std::size_t(k) * N + n];
        p.value[std::size_t(m) * N + n] += a * b;
        p.magnitude[std::size_t(m) * N + n] += std::abs(a * b);
      }
  return p;
}

// Entries of got outside prior + product: products of bfloat16 pairs are exact in float and double,
// so only the terms + 1 additions round, each by at most u of Scalar: gamma(terms + 1) (sum |a b| +
// |prior|), plus the double reference's own gamma. AVX-512 BF16 flushes subnormal inputs and
// partial sums to zero: with operands in [-1, 1] each of those changes the sum by less than
// float's smallest normal.
template <class Scalar>
int count_outside(const std::vector<double>& got, const std::vector<double>& prior, const Product& p, int terms) {
  const auto gamma = [](double u, int n) { return n * u / (1 - n * u); };
  const double u = std::numeric_limits<Scalar>::epsilon() / 2, ud = std::numeric_limits<double>::epsilon() / 2;
  const double flushed = (terms + 1) * double(std::numeric_limits<float>::min());
  int bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double c0 = prior.empty() ? 0.0 : prior[i];
    const double tol = (gamma(u, terms + 1) + gamma(ud, terms + 1)) * (p.magnitude[i] + std::abs(c0)) + flushed;
    bad += !(std::abs(got[i] - (c0 + p.value[i])) <= tol);
  }
  return bad;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("bfloat16 training products are exact sums of the rounded operands up to Scalar rounding",
                        "[gemm][bf16]", SpacesAndScalars) {
  using Space = typename TestType::space;
  using Scalar = typename TestType::scalar;
  // Sizes of 1, sizes no multiple of a vector or a block, one over several blocks along each K
  // axis (in for y, out for dx, N for dW), and each extent 0 in turn.
  for (const Shape s : {Shape{1, 1, 1}, Shape{7, 1, 7}, Shape{1, 7, 33}, Shape{33, 100, 7}, Shape{100, 257, 33},
                        Shape{257, 33, 100}, Shape{130, 257, 257}, Shape{0, 7, 5}, Shape{7, 0, 5}, Shape{7, 5, 0}}) {
    CAPTURE(s.N, s.in, s.out, gemm_bf16_native<Space, Scalar>());
    HostMatrix<Scalar> x("x", s.N, s.in), W("W", s.out, s.in), dy("dy", s.N, s.out);
    HostMatrix<Scalar> dx0("dx0", s.N, s.in), dW0("dW0", s.out, s.in);
    fill_uniform(x, 1 + s.N);
    fill_uniform(W, 2 + s.in);
    fill_uniform(dy, 3 + s.out);
    fill_uniform(dx0, 4 + s.N);
    fill_uniform(dW0, 5 + s.in);
    const auto xr = rounded(x), Wr = rounded(W), dyr = rounded(dy);
    const Product y_ref = reference(xr, Wr, s.N, s.out, s.in, false, true);
    const Product dx_ref = reference(dyr, Wr, s.N, s.in, s.out, false, false);
    const Product dW_ref = reference(dyr, xr, s.out, s.in, s.N, true, false);

    const Space space;
    BFloat16Matrix<Space> Wb("Wb", s.out, s.in);
    convert_bfloat16<Space, Scalar>(space, Wb, to_device<Space>(W));
    const auto xd = to_device<Space>(x), dyd = to_device<Space>(dy);
    Matrix<Space, Scalar> y("y", s.N, s.out);
    Kokkos::deep_copy(y, std::numeric_limits<Scalar>::quiet_NaN());  // overwritten, never read
    const auto dx = to_device<Space>(dx0), dW = to_device<Space>(dW0);
    BFloat16GemmWork<Space, Scalar> work;
    matmul_forward_bf16(space, y, ConstMatrix<Space, Scalar>(xd), Wb, work);
    matmul_backward_bf16(space, dx, dW, ConstMatrix<Space, Scalar>(dyd), ConstMatrix<Space, Scalar>(xd), Wb, work);
    space.fence();
    CHECK(count_outside<Scalar>(as_doubles(to_host(y)), {}, y_ref, s.in) == 0);
    CHECK(count_outside<Scalar>(as_doubles(to_host(dx)), as_doubles(dx0), dx_ref, s.out) == 0);
    CHECK(count_outside<Scalar>(as_doubles(to_host(dW)), as_doubles(dW0), dW_ref, s.N) == 0);

    // An empty gradient skips its product and leaves the other as both together leave it.
    const auto dx_only = to_device<Space>(dx0), dW_only = to_device<Space>(dW0);
    matmul_backward_bf16(space, dx_only, Matrix<Space, Scalar>(), ConstMatrix<Space, Scalar>(dyd),
                         ConstMatrix<Space, Scalar>(xd), Wb, work);
    matmul_backward_bf16(space, Matrix<Space, Scalar>(), dW_only, ConstMatrix<Space, Scalar>(dyd),
                         ConstMatrix<Space, Scalar>(xd), Wb, work);
    space.fence();
    CHECK(as_doubles(to_host(dx_only)) == as_doubles(to_host(dx)));
    CHECK(as_doubles(to_host(dW_only)) == as_doubles(to_host(dW)));
  }
}

TEMPLATE_LIST_TEST_CASE("bfloat16 training products round x and dy, not only the weights", "[gemm][bf16]",
                        SpacesAndScalars) {
  using Space = typename TestType::space;
  using Scalar = typename TestType::scalar;
  // Weights that are bfloat16 already: a product of unrounded x or dy would differ from the
  // rounded reference by far more than the sums' rounding in most entries.
  const Shape s{40, 64, 24};
  HostMatrix<Scalar> x("x", s.N, s.in), W("W", s.out, s.in), dy("dy", s.N, s.out);
  fill_uniform(x, 7);
  fill_uniform(W, 8);
  fill_uniform(dy, 9);
  const auto Wr = rounded(W);
  for (std::size_t i = 0; i < W.size(); ++i) W.data()[i] = Scalar(Wr[i]);
  const Product y_exact = reference(as_doubles(x), Wr, s.N, s.out, s.in, false, true);
  const Product dx_exact = reference(as_doubles(dy), Wr, s.N, s.in, s.out, false, false);
  const Space space;
  BFloat16Matrix<Space> Wb("Wb", s.out, s.in);
  convert_bfloat16<Space, Scalar>(space, Wb, to_device<Space>(W));
  Matrix<Space, Scalar> y("y", s.N, s.out), dx("dx", s.N, s.in);
  BFloat16GemmWork<Space, Scalar> work;
  matmul_forward_bf16(space, y, ConstMatrix<Space, Scalar>(to_device<Space>(x)), Wb, work);
  matmul_backward_bf16(space, dx, Matrix<Space, Scalar>(), ConstMatrix<Space, Scalar>(to_device<Space>(dy)),
                       ConstMatrix<Space, Scalar>(to_device<Space>(x)), Wb, work);
  space.fence();
  const int y_outside = count_outside<Scalar>(as_doubles(to_host(y)), {}, y_exact, s.in);
  const int dx_outside = count_outside<Scalar>(as_doubles(to_host(dx)), {}, dx_exact, s.out);
  CHECK(y_outside > s.N * s.out / 2);
  CHECK(dx_outside > s.N * s.in / 2);
}
