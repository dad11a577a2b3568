#include "gradient_check.hpp"

#include <rwkv/kernels/wkv.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

using Doubles = std::vector<double>;

struct Shape {
  int B, T, C;
};
// B = 1, T = 1, C = 1, C = 7 (no vector width), odd T; B = 0, T = 0 (the state passes through
// unchanged, and its gradient back), C = 0.
const Shape shapes[] = {{1, 1, 1}, {1, 1, 7}, {2, 1, 3}, {1, 9, 1}, {3, 17, 7}, {2, 33, 16}, {1, 64, 5},
                        {0, 5, 3}, {2, 0, 3}, {2, 4, 0}};

// The inputs of one problem in Scalar, so that the double reference sees exactly the kernel's numbers.
template <class Scalar>
struct Inputs {
  HostVector<Scalar> time_decay, time_first;
  HostMatrix<Scalar> k, v;       // [B*T, C]
  HostMatrix<Scalar> aa, bb, pp;  // the initial state [B, C]
};

// time_decay in [-3, 1.5] gives w from -0.05 (long memory) to -4.5; k in [-k_range, k_range] (a
// large range needs the running exponent); a random initial state, or the empty one.
template <class Scalar>
Inputs<Scalar> make_inputs(Shape s, std::uint64_t seed, double k_range, bool empty_state) {
  Inputs<Scalar> in{HostVector<Scalar>("time_decay", s.C), HostVector<Scalar>("time_first", s.C),
                    HostMatrix<Scalar>("k", s.B * s.T, s.C),   HostMatrix<Scalar>("v", s.B * s.T, s.C),
                    HostMatrix<Scalar>("aa", s.B, s.C),        HostMatrix<Scalar>("bb", s.B, s.C),
                    HostMatrix<Scalar>("pp", s.B, s.C)};
  fill_uniform(in.time_decay, seed, -3.0, 1.5);
  fill_uniform(in.time_first, seed + 1, -1.5, 0.5);
  fill_uniform(in.k, seed + 2, -k_range, k_range);
  fill_uniform(in.v, seed + 3);
  if (empty_state) {
    Kokkos::deep_copy(in.pp, Scalar(wkv_empty_exponent));
  } else {
    // aa / bb is a weighted average of past v, so |aa| <= bb.
    fill_uniform(in.bb, seed + 4, 0.5, 3.0);
    fill_uniform(in.aa, seed + 5);
    for (std::size_t i = 0; i < in.aa.span(); ++i) in.aa.data()[i] *= in.bb.data()[i];
    fill_uniform(in.pp, seed + 6, -2.0, 2.0);
  }
  return in;
}

struct RefState {
  Doubles aa, bb, pp;
};

// Plain double WKV, the recurrence as written in wkv.hpp. st: the initial state in, the final state
// out ([B*C]); before, if given, receives the state before each step ([B*T*C]).
void wkv_reference(Shape s, const Doubles& time_decay, const Doubles& time_first, const Doubles& k,
                   const Doubles& v, RefState& st, Doubles& y, RefState* before = nullptr) {
  const std::size_t rows = std::size_t(s.B) * s.T * s.C;
  y.assign(rows, 0.0);
  if (before) *before = {Doubles(rows), Doubles(rows), Doubles(rows)};
  for (int b = 0; b < s.B; ++b) {
    for (int c = 0; c < s.C; ++c) {
      const double w = -std::exp(time_decay[c]), u = time_first[c];
      double aa = st.aa[b * s.C + c], bb = st.bb[b * s.C + c], pp = st.pp[b * s.C + c];
      for (int t = 0; t < s.T; ++t) {
        const std::size_t i = (std::size_t(b) * s.T + t) * s.C + c;
        if (before) {
          before->aa[i] = aa;
          before->bb[i] = bb;
          before->pp[i] = pp;
        }
        double ww = u + k[i];
        double p = std::max(pp, ww);
        y[i] = (std::exp(pp - p) * aa + std::exp(ww - p) * v[i]) / (std::exp(pp - p) * bb + std::exp(ww - p));
        ww = w + pp;
        p = std::max(ww, k[i]);
        aa = std::exp(ww - p) * aa + std::exp(k[i] - p) * v[i];
        bb = std::exp(ww - p) * bb + std::exp(k[i] - p);
        pp = p;
      }
      st.aa[b * s.C + c] = aa;
      st.bb[b * s.C + c] = bb;
      st.pp[b * s.C + c] = pp;
    }
  }
}

template <class Scalar>
RefState initial_state(const Inputs<Scalar>& in) {
  return {as_doubles(in.aa), as_doubles(in.bb), as_doubles(in.pp)};
}

template <class Space, class Scalar>
WkvState<Space, Scalar> state_on_device(const HostMatrix<Scalar>& aa, const HostMatrix<Scalar>& bb,
                                        const HostMatrix<Scalar>& pp) {
  WkvState<Space, Scalar> st("state", int(aa.extent(0)), int(aa.extent(1)));
  Kokkos::deep_copy(st.aa, aa);
  Kokkos::deep_copy(st.bb, bb);
  Kokkos::deep_copy(st.pp, pp);
  return st;
}

// Rows b*T + t for t in [t0, t1) of a [B*T, C] host view, as a [B*(t1-t0), C] view.
template <class Scalar>
HostMatrix<Scalar> time_slice(const HostMatrix<Scalar>& x, int B, int T, int t0, int t1) {
  const int C = int(x.extent(1));
  HostMatrix<Scalar> out("slice", B * (t1 - t0), C);
  for (int b = 0; b < B; ++b)
    for (int t = t0; t < t1; ++t)
      for (int c = 0; c < C; ++c) out(b * (t1 - t0) + t - t0, c) = x(b * T + t, c);
  return out;
}

// y is a weighted average of v (|v| <= 1) and aa a weighted sum with weights summing to bb, so their
// rounding errors scale with 1 and bb, not with |y| and |aa| (either can cancel to near zero).
int count_state_mismatches(const RefState& got, const RefState& ref, double rtol) {
  int bad = 0;
  for (std::size_t i = 0; i < ref.aa.size(); ++i) {
    bad += !close(got.aa[i], ref.aa[i], rtol, rtol * ref.bb[i]);
    bad += !close(got.bb[i], ref.bb[i], rtol, 0.0);
    bad += !close(got.pp[i], ref.pp[i], rtol, rtol);
  }
  return bad;
}

// Float forward tolerances. With k in [-2, 2]: a couple of roundings (6e-8 each) per step, which the
// decay forgets after about 1/|w| <= 20 steps. With |k| up to large_k (exp(k) overflows float past
// 88.7): the exponents pp, u + k, w + pp are rounded with an absolute error of up to
// large_k * FLT_EPSILON / 2, which exp turns into a relative one; allow 16 such roundings. (Over
// long runs of slow decay these roundings of pp += w are correlated and add up: float's accuracy
// with exponents near 100 is about 1e-4 there, which the long test shows without comparing.)
constexpr double float_rtol = 2e-6;
constexpr double large_k = 100.0;
constexpr double large_k_float_rtol = 8 * large_k * FLT_EPSILON;

template <class Space, class Scalar>
void check_forward(Shape s, const Inputs<Scalar>& in, double rtol) {
  CAPTURE(s.B, s.T, s.C, rtol);
  Space space;
  auto state = state_on_device<Space, Scalar>(in.aa, in.bb, in.pp);
  WkvSaved<Space, Scalar> saved("saved", s.B, s.T, s.C);
  Matrix<Space, Scalar> y("y", s.B * s.T, s.C);
  wkv_forward(space, s.T, y, state, saved, to_device<Space>(in.time_decay), to_device<Space>(in.time_first),
              to_device<Space>(in.k), to_device<Space>(in.v));
  space.fence();

  RefState st = initial_state(in), before;
  Doubles y_ref;
  wkv_reference(s, as_doubles(in.time_decay), as_doubles(in.time_first), as_doubles(in.k), as_doubles(in.v), st,
                y_ref, &before);
  const Doubles y_got = as_doubles(to_host(y));
  int bad = 0;
  for (std::size_t i = 0; i < y_ref.size(); ++i) {
    bad += !std::isfinite(y_got[i]);
    bad += !close(y_got[i], y_ref[i], rtol, rtol);
  }
  CHECK(bad == 0);
  const RefState final_got{as_doubles(to_host(state.aa)), as_doubles(to_host(state.bb)), as_doubles(to_host(state.pp))};
  CHECK(count_state_mismatches(final_got, st, rtol) == 0);
  if (s.B * s.T == 0) {  // no step: the initial state exactly
    CHECK(final_got.aa == as_doubles(in.aa));
    CHECK(final_got.bb == as_doubles(in.bb));
    CHECK(final_got.pp == as_doubles(in.pp));
  }
  const RefState saved_got{as_doubles(to_host(saved.aa)), as_doubles(to_host(saved.bb)), as_doubles(to_host(saved.pp))};
  CHECK(count_state_mismatches(saved_got, before, rtol) == 0);
}

// Gradients of the backward and the finite differences of L = sum(y * dy) + sum(final state * dstate).
struct Gradients {
  Doubles time_decay, time_first, k, v, aa, bb, pp;
};

// Runs forward and backward in double on the device; returns what the backward added (it starts
// from nonzero gradients to check that it accumulates) and the initial state's gradient.
template <class Space>
Gradients kernel_gradients(Shape s, const Inputs<double>& in, const HostMatrix<double>& dy,
                           const RefState& dfinal) {
  Space space;
  const auto td = to_device<Space>(in.time_decay), tf = to_device<Space>(in.time_first);
  const auto k = to_device<Space>(in.k), v = to_device<Space>(in.v);
  auto state = state_on_device<Space, double>(in.aa, in.bb, in.pp);
  WkvSaved<Space, double> saved("saved", s.B, s.T, s.C);
  Matrix<Space, double> y("y", s.B * s.T, s.C);
  wkv_forward(space, s.T, y, state, saved, td, tf, k, v);

  HostVector<double> dtd0("dtd0", s.C), dtf0("dtf0", s.C);
  HostMatrix<double> dk0("dk0", s.B * s.T, s.C), dv0("dv0", s.B * s.T, s.C);
  fill_uniform(dtd0, 71);
  fill_uniform(dtf0, 72);
  fill_uniform(dk0, 73);
  fill_uniform(dv0, 74);
  auto dtd = to_device<Space>(dtd0), dtf = to_device<Space>(dtf0);
  auto dk = to_device<Space>(dk0), dv = to_device<Space>(dv0);
  WkvState<Space, double> dstate("dstate", s.B, s.C);
  using Unmanaged = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;
  Kokkos::deep_copy(dstate.aa, Unmanaged(dfinal.aa.data(), s.B, s.C));
  Kokkos::deep_copy(dstate.bb, Unmanaged(dfinal.bb.data(), s.B, s.C));
  Kokkos::deep_copy(dstate.pp, Unmanaged(dfinal.pp.data(), s.B, s.C));
  wkv_backward(space, s.T, dtd, dtf, dk, dv, dstate, to_device<Space>(dy), saved, td, tf, k, v);
  space.fence();

  return {increments(dtd, dtd0), increments(dtf, dtf0), increments(dk, dk0), increments(dv, dv0),
          as_doubles(to_host(dstate.aa)), as_doubles(to_host(dstate.bb)), as_doubles(to_host(dstate.pp))};
}

// Compares the backward with central differences of the double reference on up to `count`
// coordinates of each input. h = 1e-5: truncation error h^2 * L''' ~ 1e-10, rounding ~ 1e-16 |L| / h.
void check_against_finite_differences(Shape s, const Inputs<double>& in, const HostMatrix<double>& dy,
                                      const RefState& dfinal, const Gradients& got, std::size_t count) {
  Doubles td = as_doubles(in.time_decay), tf = as_doubles(in.time_first), k = as_doubles(in.k),
          v = as_doubles(in.v);
  RefState init = initial_state(in);
  const Doubles g = as_doubles(dy);
  auto loss = [&]() {
    RefState st = init;
    Doubles y;
    wkv_reference(s, td, tf, k, v, st, y);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += y[i] * g[i];
    for (std::size_t i = 0; i < st.aa.size(); ++i)
      l += st.aa[i] * dfinal.aa[i] + st.bb[i] * dfinal.bb[i] + st.pp[i] * dfinal.pp[i];
    return l;
  };
  const FiniteDifferenceCheck fd{1e-5, 1e-6, 1e-7};
  CHECK(fd.mismatches("time_decay", td, got.time_decay, count, 1, loss) == 0);
  CHECK(fd.mismatches("time_first", tf, got.time_first, count, 2, loss) == 0);
  CHECK(fd.mismatches("k", k, got.k, count, 3, loss) == 0);
  CHECK(fd.mismatches("v", v, got.v, count, 4, loss) == 0);
  CHECK(fd.mismatches("aa", init.aa, got.aa, count, 5, loss) == 0);
  CHECK(fd.mismatches("bb", init.bb, got.bb, count, 6, loss) == 0);
  CHECK(fd.mismatches("pp", init.pp, got.pp, count, 7, loss) == 0);
}

RefState random_state_gradient(int B, int C, std::uint64_t seed) {
  RefState d{Doubles(std::size_t(B) * C), Doubles(std::size_t(B) * C), Doubles(std::size_t(B) * C)};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (std::size_t i = 0; i < d.aa.size(); ++i) {
    d.aa[i] = dist(rng);
    d.bb[i] = dist(rng);
    d.pp[i] = dist(rng);
  }
  return d;
}

bool all_finite(const Doubles& x) {
  return std::all_of(x.begin(), x.end(), [](double a) { return std::isfinite(a); });
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("wkv_forward matches a plain double reference", "[wkv]", Spaces) {
  std::uint64_t seed = 100;
  for (const Shape s : shapes) {
    for (const bool empty : {false, true}) {
      CAPTURE(empty);
      seed += 10;
      check_forward<TestType, double>(s, make_inputs<double>(s, seed, 2.0, empty), 1e-13);
      check_forward<TestType, float>(s, make_inputs<float>(s, seed, 2.0, empty), float_rtol);
      check_forward<TestType, float>(s, make_inputs<float>(s, seed, large_k, empty), large_k_float_rtol);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("wkv_backward matches central finite differences", "[wkv]", Spaces) {
  std::uint64_t seed = 200;
  for (const Shape s : shapes) {
    for (const bool empty : {false, true}) {
      CAPTURE(s.B, s.T, s.C, empty);
      seed += 10;
      const auto in = make_inputs<double>(s, seed, 2.0, empty);
      HostMatrix<double> dy("dy", s.B * s.T, s.C);
      fill_uniform(dy, seed + 7);
      const RefState dfinal = random_state_gradient(s.B, s.C, seed + 8);
      const Gradients got = kernel_gradients<TestType>(s, in, dy, dfinal);
      if (s.B * s.T > 0) {
        check_against_finite_differences(s, in, dy, dfinal, got, 40);
      } else {
        // No step: the final state's gradient is the initial one's, exactly, and nothing is added.
        // (A finite difference of the empty state's loss resolves nothing: its pp dwarfs the rest.)
        CHECK(got.aa == dfinal.aa);
        CHECK(got.bb == dfinal.bb);
        CHECK(got.pp == dfinal.pp);
        CHECK(got.time_decay == Doubles(std::size_t(s.C), 0.0));
        CHECK(got.time_first == Doubles(std::size_t(s.C), 0.0));
      }
    }
  }
}

// Running T = a and then T = b with the carried state is running T = a + b: the same operations on
// the same numbers, so y, the states, dk, dv and the state gradients agree bit for bit. Only the
// parameter gradients are summed in another order (per chunk, then added).
template <class Space, class Scalar>
void check_chunks(double param_rtol) {
  const Shape s{3, 17, 5};
  const int a = 6;
  const Shape s1{s.B, a, s.C}, s2{s.B, s.T - a, s.C};
  Space space;
  const auto in = make_inputs<Scalar>(s, 300, 2.0, false);
  const auto td = to_device<Space>(in.time_decay), tf = to_device<Space>(in.time_first);
  const auto k = to_device<Space>(in.k), v = to_device<Space>(in.v);
  const auto k1 = to_device<Space>(time_slice(in.k, s.B, s.T, 0, a)), v1 = to_device<Space>(time_slice(in.v, s.B, s.T, 0, a));
  const auto k2 = to_device<Space>(time_slice(in.k, s.B, s.T, a, s.T)),
             v2 = to_device<Space>(time_slice(in.v, s.B, s.T, a, s.T));

  auto state = state_on_device<Space, Scalar>(in.aa, in.bb, in.pp);
  WkvSaved<Space, Scalar> saved("saved", s.B, s.T, s.C);
  Matrix<Space, Scalar> y("y", s.B * s.T, s.C);
  wkv_forward(space, s.T, y, state, saved, td, tf, k, v);

  auto state_chunked = state_on_device<Space, Scalar>(in.aa, in.bb, in.pp);
  WkvSaved<Space, Scalar> saved1("saved1", s.B, a, s.C), saved2("saved2", s.B, s.T - a, s.C);
  Matrix<Space, Scalar> y1("y1", s.B * a, s.C), y2("y2", s.B * (s.T - a), s.C);
  wkv_forward(space, s1.T, y1, state_chunked, saved1, td, tf, k1, v1);
  wkv_forward(space, s2.T, y2, state_chunked, saved2, td, tf, k2, v2);

  // Inference: the same forward without saving anything.
  auto state_unsaved = state_on_device<Space, Scalar>(in.aa, in.bb, in.pp);
  Matrix<Space, Scalar> y_unsaved("y_unsaved", s.B * s.T, s.C);
  wkv_forward(space, s.T, y_unsaved, state_unsaved, WkvSaved<Space, Scalar>(), td, tf, k, v);
  space.fence();

  const auto y_whole = to_host(y);
  CHECK(as_doubles(time_slice(y_whole, s.B, s.T, 0, a)) == as_doubles(to_host(y1)));
  CHECK(as_doubles(time_slice(y_whole, s.B, s.T, a, s.T)) == as_doubles(to_host(y2)));
  CHECK(as_doubles(y_whole) == as_doubles(to_host(y_unsaved)));
  CHECK(as_doubles(to_host(state.aa)) == as_doubles(to_host(state_chunked.aa)));
  CHECK(as_doubles(to_host(state.bb)) == as_doubles(to_host(state_chunked.bb)));
  CHECK(as_doubles(to_host(state.pp)) == as_doubles(to_host(state_chunked.pp)));
  CHECK(as_doubles(to_host(state.pp)) == as_doubles(to_host(state_unsaved.pp)));

  HostMatrix<Scalar> dy_host("dy", s.B * s.T, s.C), dfinal_aa("daa", s.B, s.C), dfinal_bb("dbb", s.B, s.C),
      dfinal_pp("dpp", s.B, s.C);
  fill_uniform(dy_host, 301);
  fill_uniform(dfinal_aa, 302);
  fill_uniform(dfinal_bb, 303);
  fill_uniform(dfinal_pp, 304);
  const auto dy = to_device<Space>(dy_host);
  const auto dy1 = to_device<Space>(time_slice(dy_host, s.B, s.T, 0, a)),
             dy2 = to_device<Space>(time_slice(dy_host, s.B, s.T, a, s.T));

  Vector<Space, Scalar> dtd("dtd", s.C), dtf("dtf", s.C);
  Matrix<Space, Scalar> dk("dk", s.B * s.T, s.C), dv("dv", s.B * s.T, s.C);
  auto dstate = state_on_device<Space, Scalar>(dfinal_aa, dfinal_bb, dfinal_pp);
  wkv_backward(space, s.T, dtd, dtf, dk, dv, dstate, dy, saved, td, tf, k, v);

  Vector<Space, Scalar> dtd_c("dtd_c", s.C), dtf_c("dtf_c", s.C);
  Matrix<Space, Scalar> dk1("dk1", s.B * a, s.C), dv1("dv1", s.B * a, s.C), dk2("dk2", s.B * (s.T - a), s.C),
      dv2("dv2", s.B * (s.T - a), s.C);
  auto dstate_c = state_on_device<Space, Scalar>(dfinal_aa, dfinal_bb, dfinal_pp);
  wkv_backward(space, s2.T, dtd_c, dtf_c, dk2, dv2, dstate_c, dy2, saved2, td, tf, k2, v2);
  wkv_backward(space, s1.T, dtd_c, dtf_c, dk1, dv1, dstate_c, dy1, saved1, td, tf, k1, v1);

  // The same backward again, for determinism of the parameter sums.
  Vector<Space, Scalar> dtd_again("dtd_again", s.C), dtf_again("dtf_again", s.C);
  Kokkos::deep_copy(dk, Scalar(0));
  Kokkos::deep_copy(dv, Scalar(0));
  auto dstate_again = state_on_device<Space, Scalar>(dfinal_aa, dfinal_bb, dfinal_pp);
  wkv_backward(space, s.T, dtd_again, dtf_again, dk, dv, dstate_again, dy, saved, td, tf, k, v);
  space.fence();

  const auto dk_whole = to_host(dk), dv_whole = to_host(dv);
  CHECK(as_doubles(time_slice(dk_whole, s.B, s.T, 0, a)) == as_doubles(to_host(dk1)));
  CHECK(as_doubles(time_slice(dk_whole, s.B, s.T, a, s.T)) == as_doubles(to_host(dk2)));
  CHECK(as_doubles(time_slice(dv_whole, s.B, s.T, 0, a)) == as_doubles(to_host(dv1)));
  CHECK(as_doubles(time_slice(dv_whole, s.B, s.T, a, s.T)) == as_doubles(to_host(dv2)));
  CHECK(as_doubles(to_host(dstate.aa)) == as_doubles(to_host(dstate_c.aa)));
  CHECK(as_doubles(to_host(dstate.bb)) == as_doubles(to_host(dstate_c.bb)));
  CHECK(as_doubles(to_host(dstate.pp)) == as_doubles(to_host(dstate_c.pp)));
  CHECK(as_doubles(to_host(dstate.pp)) == as_doubles(to_host(dstate_again.pp)));
  CHECK(as_doubles(to_host(dtd)) == as_doubles(to_host(dtd_again)));
  CHECK(as_doubles(to_host(dtf)) == as_doubles(to_host(dtf_again)));
  const Doubles dtd_whole = as_doubles(to_host(dtd)), dtf_whole = as_doubles(to_host(dtf));
  const Doubles dtd_chunked = as_doubles(to_host(dtd_c)), dtf_chunked = as_doubles(to_host(dtf_c));
  int bad = 0;
  for (int c = 0; c < s.C; ++c) {
    bad += !close(dtd_chunked[c], dtd_whole[c], param_rtol, param_rtol);
    bad += !close(dtf_chunked[c], dtf_whole[c], param_rtol, param_rtol);
  }
  CHECK(bad == 0);
}

TEMPLATE_LIST_TEST_CASE("wkv carries its state and its gradient across chunks", "[wkv]", Spaces) {
  check_chunks<TestType, double>(1e-14);
  check_chunks<TestType, float>(1e-6);
}

TEMPLATE_LIST_TEST_CASE("wkv handles long sequences", "[wkv]", Spaces) {
  using Space = TestType;
  const Shape s{2, 4096, 3};
  const auto in = make_inputs<double>(s, 400, 2.0, false);
  check_forward<Space, double>(s, in, 1e-13);
  check_forward<Space, float>(s, make_inputs<float>(s, 400, 2.0, false), float_rtol);
  // Past 8192 steps from the empty state; and with exp(k) beyond float's range, still finite.
  const Shape very_long{1, 10007, 7};
  check_forward<Space, float>(very_long, make_inputs<float>(very_long, 401, 2.0, true), float_rtol);
  {
    const auto big = make_inputs<float>(very_long, 402, large_k, true);
    auto state = state_on_device<Space, float>(big.aa, big.bb, big.pp);
    Matrix<Space, float> y("y", very_long.B * very_long.T, very_long.C);
    wkv_forward(Space(), very_long.T, y, state, WkvSaved<Space, float>(), to_device<Space>(big.time_decay),
                to_device<Space>(big.time_first), to_device<Space>(big.k), to_device<Space>(big.v));
    CHECK(all_finite(as_doubles(to_host(y))));
    CHECK(all_finite(as_doubles(to_host(state.aa))));
    CHECK(all_finite(as_doubles(to_host(state.bb))));
    CHECK(all_finite(as_doubles(to_host(state.pp))));
  }

  HostMatrix<double> dy("dy", s.B * s.T, s.C);
  fill_uniform(dy, 402);
  const RefState dfinal = random_state_gradient(s.B, s.C, 403);
  const Gradients got = kernel_gradients<Space>(s, in, dy, dfinal);
  for (const Doubles* g : {&got.time_decay, &got.time_first, &got.k, &got.v, &got.aa, &got.bb, &got.pp})
    CHECK(all_finite(*g));
  check_against_finite_differences(s, in, dy, dfinal, got, 8);
}
