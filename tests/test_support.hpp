// Shared by the tests: the list of execution spaces to run on, random data, host<->device copies,
// and the central finite-difference helper used by every backward check.
#pragma once

#include <rwkv/core/views.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <tuple>
#include <type_traits>
#include <vector>

namespace rwkv::test {

// The default space, and the Serial space where Kokkos has one (Debian's Kokkos 5 build does not).
#if defined(KOKKOS_ENABLE_SERIAL)
using Spaces = std::conditional_t<std::is_same_v<Kokkos::DefaultExecutionSpace, Kokkos::Serial>,
                                  std::tuple<Kokkos::Serial>,
                                  std::tuple<Kokkos::DefaultExecutionSpace, Kokkos::Serial>>;
#else
using Spaces = std::tuple<Kokkos::DefaultExecutionSpace>;
#endif

template <class Scalar>
using HostMatrix = Kokkos::View<Scalar**, Kokkos::LayoutRight, Kokkos::HostSpace>;
template <class Scalar>
using HostVector = Kokkos::View<Scalar*, Kokkos::LayoutRight, Kokkos::HostSpace>;

template <class View>
using HostMirror = typename View::host_mirror_type;

// Fills a host view with uniform numbers in [lo, hi) from a fixed seed.
template <class View>
void fill_uniform(const View& v, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  auto* p = v.data();
  for (std::size_t i = 0; i < v.span(); ++i) p[i] = typename View::non_const_value_type(dist(rng));
}

// Copies a host view into a new view of ExecSpace's memory space: always a separate allocation,
// also where that space is the host's, so a kernel writing to it leaves the original intact.
template <class ExecSpace, class HostView>
auto to_device(const HostView& h) {
  auto d = Kokkos::create_mirror(typename ExecSpace::memory_space(), h);
  Kokkos::deep_copy(d, h);
  return d;
}

template <class View>
auto to_host(const View& d) {
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
}

// A host copy that never aliases the original (to_host returns a host view itself).
template <class View>
auto host_copy(const View& v) {
  auto h = Kokkos::create_mirror(Kokkos::HostSpace(), v);
  Kokkos::deep_copy(h, v);
  return h;
}

// The elements of a host view as doubles, in memory order.
template <class View>
std::vector<double> as_doubles(const View& host) {
  std::vector<double> out(host.span());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = double(host.data()[i]);
  return out;
}

// Central difference of f() with respect to the element *p: (f(p+h) - f(p-h)) / 2h.
template <class F>
double central_difference(double* p, double h, F&& f) {
  const double saved = *p;
  *p = saved + h;
  const double plus = f();
  *p = saved - h;
  const double minus = f();
  *p = saved;
  return (plus - minus) / (2 * h);
}

// Indices 0..n-1 if n <= count, else `count` distinct indices drawn from a seed.
inline std::vector<std::size_t> sample_indices(std::size_t n, std::size_t count, std::uint64_t seed) {
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  if (n <= count) return idx;
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<std::size_t> pick(i, n - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  idx.resize(count);
  return idx;
}

// |a - b| <= atol + rtol * |b|
inline bool close(double a, double b, double rtol, double atol) {
  return std::abs(a - b) <= atol + rtol * std::abs(b);
}

}  // namespace rwkv::test
