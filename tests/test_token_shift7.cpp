#include "gradient_check.hpp"

#include <rwkv/kernels/token_shift7.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using Doubles = std::vector<double>;

struct Shape {
  int B, T, C;
};
// T = 1 (every token reads the state), B = 1, C = 1 and C not a multiple of any vector width;
// B = 0, T = 0, C = 0.
const Shape shapes[] = {{1, 1, 1}, {1, 5, 7}, {3, 1, 7}, {3, 4, 65}, {2, 9, 1}, {1, 33, 16}, {4, 17, 130},
                        {0, 3, 7}, {2, 0, 7}, {2, 3, 0}};

// Plain double token shift: out_i = x + (s - x) * mix_i; an empty state stands for zeros.
std::vector<Doubles> token_shift7_reference(const Doubles& x, const Doubles& state, const std::vector<Doubles>& mix,
                                            const Shape s) {
  std::vector<Doubles> out(mix.size(), Doubles(x.size()));
  for (int b = 0; b < s.B; ++b)
    for (int t = 0; t < s.T; ++t)
      for (int c = 0; c < s.C; ++c) {
        const int n = b * s.T + t;
        const double prev = t > 0 ? x[(n - 1) * s.C + c] : (state.empty() ? 0.0 : state[b * s.C + c]);
        for (std::size_t i = 0; i < mix.size(); ++i)
          out[i][n * s.C + c] = x[n * s.C + c] + (prev - x[n * s.C + c]) * mix[i][c];
      }
  return out;
}

template <int K, class Space, class Scalar>
ConstVectors<K, Space, Scalar> const_vectors(const Vectors<K, Space, Scalar>& v) {
  ConstVectors<K, Space, Scalar> out;
  for (int i = 0; i < K; ++i) out[i] = v[i];
  return out;
}

template <int K, class Space, class Scalar>
ConstMatrices<K, Space, Scalar> const_matrices(const Matrices<K, Space, Scalar>& m) {
  ConstMatrices<K, Space, Scalar> out;
  for (int i = 0; i < K; ++i) out[i] = m[i];
  return out;
}

template <int K, class Space, class Scalar>
void check_forward(const Shape s, bool with_state, double atol) {
  CAPTURE(K, s.B, s.T, s.C, with_state);
  const int rows = s.B * s.T;
  HostMatrix<Scalar> x("x", rows, s.C), state("state", with_state ? s.B : 0, s.C);
  fill_uniform(x, 1 + s.C);
  fill_uniform(state, 2 + s.C);
  std::vector<Doubles> mix_ref;
  Vectors<K, Space, Scalar> mix;
  Matrices<K, Space, Scalar> out;
  for (int i = 0; i < K; ++i) {
    HostVector<Scalar> m("mix", s.C);
    fill_uniform(m, 3 + s.C + 10 * i, 0.0, 1.0);
    mix_ref.push_back(as_doubles(m));
    mix[i] = to_device<Space>(m);
    out[i] = Matrix<Space, Scalar>("out", rows, s.C);
  }

  Space space;
  token_shift7_forward<K>(space, s.T, out, to_device<Space>(x), to_device<Space>(state), const_vectors<K, Space>(mix));
  space.fence();

  const auto ref = token_shift7_reference(as_doubles(x), as_doubles(state), mix_ref, s);
  int bad = 0;
  for (int i = 0; i < K; ++i) {
    const auto got = as_doubles(to_host(out[i]));
    for (std::size_t j = 0; j < got.size(); ++j) bad += !close(got[j], ref[i][j], 0.0, atol);
  }
  CHECK(bad == 0);
}

template <int K, class Space>
void check_backward(const Shape s, bool with_state) {
  CAPTURE(K, s.B, s.T, s.C, with_state);
  const int rows = s.B * s.T;
  const int state_rows = with_state ? s.B : 0;
  HostMatrix<double> x("x", rows, s.C), dx0("dx0", rows, s.C);
  HostMatrix<double> state("state", state_rows, s.C), dstate0("dstate0", state_rows, s.C);
  fill_uniform(x, 11 + s.C);
  fill_uniform(state, 13 + s.C);
  // Gradients accumulate: start from nonzero values and check the increments.
  fill_uniform(dx0, 15 + s.C);
  fill_uniform(dstate0, 16 + s.C);
  std::vector<Doubles> mix_ref, dout_ref;
  std::vector<HostVector<double>> dmix0;
  Vectors<K, Space, double> mix, dmix;
  Matrices<K, Space, double> dout;
  for (int i = 0; i < K; ++i) {
    HostVector<double> m("mix", s.C), dm("dmix0", s.C);
    HostMatrix<double> g("dout", rows, s.C);
    fill_uniform(m, 14 + s.C + 10 * i, 0.0, 1.0);
    fill_uniform(dm, 17 + s.C + 10 * i);
    fill_uniform(g, 12 + s.C + 10 * i);
    mix_ref.push_back(as_doubles(m));
    dout_ref.push_back(as_doubles(g));
    dmix0.push_back(dm);
    mix[i] = to_device<Space>(m);
    dmix[i] = to_device<Space>(dm);
    dout[i] = to_device<Space>(g);
  }

  Space space;
  auto xd = to_device<Space>(x);
  auto sd = to_device<Space>(state);
  auto dxd = to_device<Space>(dx0);
  auto dsd = to_device<Space>(dstate0);
  token_shift7_backward<K>(space, s.T, dxd, dsd, dmix, const_matrices<K, Space>(dout), xd, sd, const_vectors<K, Space>(mix));
  space.fence();

  // L = sum_i sum(out_i * dout_i). L is linear in x, state and each mix separately, so the central
  // difference is exact but for rounding: h = 1e-3 keeps that below 1e-11.
  auto xs = as_doubles(x), ss = as_doubles(state);
  auto loss = [&]() {
    const auto out = token_shift7_reference(xs, ss, mix_ref, s);
    double l = 0;
    for (int i = 0; i < K; ++i) l += weighted_sum(out[i], dout_ref[i]);
    return l;
  };
  const FiniteDifferenceCheck fd{1e-3, 1e-9, 1e-10};
  CHECK(fd.mismatches("dx", xs, increments(dxd, dx0), 64, 21, loss) == 0);
  CHECK(fd.mismatches("dshift_state", ss, increments(dsd, dstate0), 32, 22, loss) == 0);
  for (int i = 0; i < K; ++i) {
    CAPTURE(i);
    CHECK(fd.mismatches("dmix", mix_ref[i], increments(dmix[i], dmix0[i]), 32, 23 + i, loss) == 0);
  }

  // An empty dshift_state is skipped and changes nothing else.
  auto dx2 = to_device<Space>(dx0);
  Vectors<K, Space, double> dmix2;
  for (int i = 0; i < K; ++i) dmix2[i] = to_device<Space>(dmix0[i]);
  token_shift7_backward<K>(space, s.T, dx2, Matrix<Space, double>(), dmix2, const_matrices<K, Space>(dout), xd, sd,
                           const_vectors<K, Space>(mix));
  space.fence();
  CHECK(as_doubles(to_host(dx2)) == as_doubles(to_host(dxd)));
  for (int i = 0; i < K; ++i) CHECK(as_doubles(to_host(dmix2[i])) == as_doubles(to_host(dmix[i])));
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("token_shift7_forward matches a plain double reference", "[token_shift7]", Spaces) {
  for (const Shape s : shapes)
    for (const bool with_state : {false, true}) {
      // x + (s - x) mix with |x|, |s| <= 1 and mix in [0, 1]: three roundings of terms at most 2
      // in size; in double only the exact operations of the reference.
      check_forward<time_mix7_lerps, TestType, double>(s, with_state, 8 * 1.2e-16);
      check_forward<time_mix7_lerps, TestType, float>(s, with_state, 8 * 6e-8);
      check_forward<1, TestType, float>(s, with_state, 8 * 6e-8);
    }
}

TEMPLATE_LIST_TEST_CASE("token_shift7_backward matches central finite differences", "[token_shift7]", Spaces) {
  for (const Shape s : shapes)
    for (const bool with_state : {false, true}) {
      check_backward<time_mix7_lerps, TestType>(s, with_state);
      check_backward<1, TestType>(s, with_state);
    }
}
