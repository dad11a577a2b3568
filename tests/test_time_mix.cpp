#include "gradient_check.hpp"

#include <rwkv/kernels/time_mix.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;


struct Shape {
  int B, T, C;
};
// T = 1 (every token reads the state), B = 1, C = 1 and C not a multiple of any vector width;
// B = 0, T = 0, C = 0.
const Shape shapes[] = {{1, 1, 1}, {1, 5, 7}, {3, 1, 7}, {3, 4, 65}, {2, 9, 1}, {1, 33, 16}, {4, 17, 130},
                        {0, 3, 7}, {2, 0, 7}, {2, 3, 0}};

// Plain double token shift + mix; an empty state stands for zeros.
std::vector<double> time_mix_reference(const std::vector<double>& x, const std::vector<double>& state,
                                       const std::vector<double>& mix, const Shape s) {
  std::vector<double> out(x.size());
  for (int b = 0; b < s.B; ++b)
    for (int t = 0; t < s.T; ++t)
      for (int c = 0; c < s.C; ++c) {
        const int n = b * s.T + t;
        const double shifted = t > 0 ? x[(n - 1) * s.C + c] : (state.empty() ? 0.0 : state[b * s.C + c]);
        out[n * s.C + c] = x[n * s.C + c] * mix[c] + shifted * (1 - mix[c]);
      }
  return out;
}

template <class Space, class Scalar>
void check_forward(const Shape s, bool with_state, double rtol, double atol) {
  CAPTURE(s.B, s.T, s.C, with_state);
  const int rows = s.B * s.T;
  HostMatrix<Scalar> x("x", rows, s.C), state("state", with_state ? s.B : 0, s.C);
  HostVector<Scalar> mix("mix", s.C);
  fill_uniform(x, 1 + s.C);
  fill_uniform(state, 2 + s.C);
  fill_uniform(mix, 3 + s.C, 0.0, 1.0);

  Space space;
  auto xd = to_device<Space>(x);
  auto sd = to_device<Space>(state);
  auto md = to_device<Space>(mix);
  Matrix<Space, Scalar> out("out", rows, s.C);
  time_mix_forward(space, s.T, out, xd, sd, md);
  space.fence();

  const auto ref = time_mix_reference(as_doubles(x), as_doubles(state), as_doubles(mix), s);
  const auto got = as_doubles(to_host(out));
  int bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) bad += !close(got[i], ref[i], rtol, atol);
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("time_mix_forward matches a plain double reference", "[time_mix]", Spaces) {
  for (const Shape s : shapes)
    for (const bool with_state : {false, true}) {
      check_forward<TestType, double>(s, with_state, 1e-15, 1e-15);
      // |x|, |s| <= 1 and mix in [0, 1]: four float roundings of terms at most 1 in size.
      check_forward<TestType, float>(s, with_state, 0.0, 4 * 6e-8);
    }
}

TEMPLATE_LIST_TEST_CASE("time_mix_backward matches central finite differences", "[time_mix]", Spaces) {
  using Space = TestType;
  for (const Shape s : shapes)
    for (const bool with_state : {false, true}) {
      CAPTURE(s.B, s.T, s.C, with_state);
      const int rows = s.B * s.T;
      const int state_rows = with_state ? s.B : 0;
      HostMatrix<double> x("x", rows, s.C), dout("dout", rows, s.C), dx0("dx0", rows, s.C);
      HostMatrix<double> state("state", state_rows, s.C), dstate0("dstate0", state_rows, s.C);
      HostVector<double> mix("mix", s.C), dmix0("dmix0", s.C);
      fill_uniform(x, 11 + s.C);
      fill_uniform(dout, 12 + s.C);
      fill_uniform(state, 13 + s.C);
      fill_uniform(mix, 14 + s.C, 0.0, 1.0);
      // Gradients accumulate: start from nonzero values and check the increments.
      fill_uniform(dx0, 15 + s.C);
      fill_uniform(dstate0, 16 + s.C);
      fill_uniform(dmix0, 17 + s.C);

      Space space;
      auto xd = to_device<Space>(x);
      auto sd = to_device<Space>(state);
      auto md = to_device<Space>(mix);
      auto gd = to_device<Space>(dout);
      auto dxd = to_device<Space>(dx0);
      auto dsd = to_device<Space>(dstate0);
      auto dmd = to_device<Space>(dmix0);
      time_mix_backward(space, s.T, dxd, dsd, dmd, gd, xd, sd, md);
      space.fence();
      const auto dx = as_doubles(to_host(dxd));
      const auto dmix = as_doubles(to_host(dmd));

      // L = sum(out * dout). L is linear in x, state and mix separately, so the central difference
      // is exact but for rounding: h = 1e-3 keeps that below 1e-11.
      auto xs = as_doubles(x), ss = as_doubles(state), ms = as_doubles(mix);
      const auto g = as_doubles(dout);
      auto loss = [&]() { return weighted_sum(time_mix_reference(xs, ss, ms, s), g); };
      const FiniteDifferenceCheck fd{1e-3, 1e-9, 1e-10};
      CHECK(fd.mismatches("dx", xs, increments(dxd, dx0), 64, 21, loss) == 0);
      CHECK(fd.mismatches("dshift_state", ss, increments(dsd, dstate0), 32, 22, loss) == 0);
      CHECK(fd.mismatches("dmix", ms, increments(dmd, dmix0), 32, 23, loss) == 0);
      if (rows == 0) {  // no tokens: dshift_state and dmix exactly as they were
        CHECK(as_doubles(to_host(dsd)) == as_doubles(dstate0));
        CHECK(dmix == as_doubles(dmix0));
      }

      // An empty dshift_state is skipped and changes nothing else.
      auto dx2 = to_device<Space>(dx0);
      auto dm2 = to_device<Space>(dmix0);
      time_mix_backward(space, s.T, dx2, Matrix<Space, double>(), dm2, gd, xd, sd, md);
      space.fence();
      CHECK(as_doubles(to_host(dx2)) == dx);
      CHECK(as_doubles(to_host(dm2)) == dmix);
    }
}

// Running a sequence in two chunks, carrying the shift state with last_token, gives exactly the
// rows that running it whole gives.
TEMPLATE_LIST_TEST_CASE("time_mix over two chunks with last_token equals one pass", "[time_mix]", Spaces) {
  using Space = TestType;
  const int B = 3, T1 = 5, T2 = 4, T = T1 + T2, C = 7;
  HostMatrix<float> x("x", B * T, C), x1("x1", B * T1, C), x2("x2", B * T2, C);
  HostVector<float> mix("mix", C);
  fill_uniform(x, 31);
  fill_uniform(mix, 32, 0.0, 1.0);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < C; ++c) (t < T1 ? x1(b * T1 + t, c) : x2(b * T2 + t - T1, c)) = x(b * T + t, c);

  Space space;
  auto md = to_device<Space>(mix);
  Matrix<Space, float> out("out", B * T, C), out1("out1", B * T1, C), out2("out2", B * T2, C), state("state", B, C);
  time_mix_forward(space, T, out, to_device<Space>(x), Matrix<Space, float>(), md);
  auto x1d = to_device<Space>(x1);
  time_mix_forward(space, T1, out1, x1d, Matrix<Space, float>(), md);
  last_token(space, T1, state, x1d);
  time_mix_forward(space, T2, out2, to_device<Space>(x2), state, md);
  space.fence();

  const auto whole = to_host(out), first = to_host(out1), second = to_host(out2), last = to_host(state);
  int mismatches = 0;
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c) {
      mismatches += last(b, c) != x(b * T + T1 - 1, c);
      for (int t = 0; t < T; ++t)
        mismatches += whole(b * T + t, c) != (t < T1 ? first(b * T1 + t, c) : second(b * T2 + t - T1, c));
    }
  CHECK(mismatches == 0);
}

// An empty chunk (T = 0) has no last token: the state keeps the previous chunk's.
TEMPLATE_LIST_TEST_CASE("last_token of an empty chunk leaves the state as it was", "[time_mix]", Spaces) {
  using Space = TestType;
  const int B = 3, C = 7;
  HostMatrix<float> state0("state0", B, C);
  fill_uniform(state0, 41);
  Space space;
  auto state = to_device<Space>(state0);
  last_token(space, 0, state, Matrix<Space, float>("empty", 0, C));
  space.fence();
  CHECK(as_doubles(to_host(state)) == as_doubles(state0));
}
