// Shared by the model-level tests: the spaces and scalars they run on, token views, random weights,
// comparisons of results and the finite-difference check of a model's gradients.
#pragma once

#include "test_support.hpp"

#include <rwkv/v4/weights.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rwkv::test {

// Each space of Spaces with float and with double, as (TestType::space, TestType::scalar) of a
// TEMPLATE_LIST_TEST_CASE.
template <class Space, class Scalar>
struct SpaceAndScalar {
  using space = Space;
  using scalar = Scalar;
};
template <class... Space>
std::tuple<SpaceAndScalar<Space, float>..., SpaceAndScalar<Space, double>...> with_both_scalars(std::tuple<Space...>);
using SpacesAndScalars = decltype(with_both_scalars(Spaces()));

template <class Space = Kokkos::DefaultExecutionSpace>
using TokenView = Kokkos::View<int*, typename Space::memory_space>;

template <class Space = Kokkos::DefaultExecutionSpace>
TokenView<Space> device_tokens(const std::vector<int>& host, const char* label) {
  TokenView<Space> d(std::string(label), host.size());
  Kokkos::deep_copy(d, Kokkos::View<const int*, Kokkos::HostSpace>(host.data(), host.size()));
  return d;
}

inline std::vector<int> random_tokens(std::size_t n, int vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int> t(n);
  for (auto& x : t) x = int(rng() % vocab);
  return t;
}

// Every weight random (RWKV's init zeroes several matrices, which would hide their effect).
template <class ModelT>
void randomize_weights(ModelT& model, std::uint64_t seed, double scale = 0.6) {
  auto host = Kokkos::create_mirror_view(model.weights().flat);
  fill_uniform(host, seed, -scale, scale);
  Kokkos::deep_copy(model.weights().flat, host);
}

// What the RNN-mode tests allow between two ways of computing the same values.
template <class Scalar>
double tolerance() {
  return std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
}

// max |a - b| / max(1, max |b|): relative to the size of the values compared.
template <class A, class B>
double relative_difference(const A& a, const B& b) {
  const auto x = as_doubles(to_host(a)), y = as_doubles(to_host(b));
  REQUIRE(x.size() == y.size());
  double diff = 0, size = 1;
  for (std::size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::abs(x[i] - y[i]));
    size = std::max(size, std::abs(y[i]));
  }
  return diff / size;
}

template <class View>
View copy_of(const View& m) {
  View c("copy", m.extent(0), m.extent(1));
  Kokkos::deep_copy(c, m);
  return c;
}

// The model's gradients (grads, host copy) against central finite differences of loss() over the
// host copy of the weights that loss() uploads, at the indices indices_of(spec) of each tensor.
// Every tensor must have a nonzero difference somewhere: with random weights none may be silent,
// or the check would mean nothing for it.
template <class Weights, class Grads, class Loss, class Indices>
void check_gradients(const std::vector<TensorSpec>& specs, Weights& weights, const Grads& grads, const Loss& loss,
                     const Indices& indices_of) {
  int bad = 0, silent_tensors = 0;
  for (const TensorSpec& s : specs) {
    bool any_nonzero = false;
    for (const std::size_t i : indices_of(s)) {
      const std::size_t k = s.offset + i;
      const double fd = central_difference(weights.data() + k, 1e-5, loss);
      if (!close(grads(k), fd, 1e-5, 1e-8)) {
        if (++bad <= 5) UNSCOPED_INFO(s.name << "[" << i << "]: backward " << grads(k) << ", finite difference " << fd);
      }
      any_nonzero = any_nonzero || std::abs(fd) > 1e-6;
    }
    if (!any_nonzero) {
      ++silent_tensors;
      UNSCOPED_INFO(s.name << " has no nonzero gradient");
    }
  }
  CHECK(bad == 0);
  CHECK(silent_tensors == 0);
}

}  // namespace rwkv::test
