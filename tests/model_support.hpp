// Shared by the model-level tests: the spaces and scalars they run on, token views, random weights,
// comparisons of results and the finite-difference check of a model's gradients.
#pragma once

#include "test_support.hpp"

#include <rwkv/v4/version.hpp>
#include <rwkv/v4/weights.hpp>
#include <rwkv/v7/version.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <cstdint>
#include <random>
#include <tuple>
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

// Every version with each space of Spaces and Scalar, as (TestType::version, ::space, ::scalar) of a
// TEMPLATE_LIST_TEST_CASE: the tests of what every version's model offers.
template <class Version, class Space, class Scalar>
struct VersionCase {
  using version = Version;
  using space = Space;
  using scalar = Scalar;
};
template <class Version, class Scalar, class... Space>
std::tuple<VersionCase<Version, Space, Scalar>...> cases_of(std::tuple<Space...>);
template <class Scalar, class... Version>
auto cases_of_versions(std::tuple<Version...>) -> decltype(std::tuple_cat(cases_of<Version, Scalar>(Spaces())...));
using Versions = std::tuple<v4, v7>;
template <class Scalar>
using VersionCases = decltype(cases_of_versions<Scalar>(Versions()));
using VersionsAndSpaces = VersionCases<float>;
using VersionsSpacesAndScalars = decltype(std::tuple_cat(VersionCases<float>(), VersionCases<double>()));

// A config of the shared sizes for Version: RWKV-7 in heads of 8 with small LoRA ranks, so that
// n_embd must be a multiple of 8 there.
template <class Version>
ModelConfig version_config(int n_layer, int n_embd, int dim_ffn, int vocab_size, bool image_positions = false) {
  ModelConfig c{n_layer, n_embd, dim_ffn, vocab_size, image_positions};
  if constexpr (std::is_same_v<Version, v7>) {
    c.head_size = 8;
    c.rank_w = 4;
    c.rank_a = 3;
    c.rank_v = 2;
    c.rank_g = 5;
  }
  return c;
}

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

// Every weight random at the scales a trained model has: each matrix's entries of about
// 1/sqrt(its inputs) (nn.Linear's [out, in]; RWKV-7's LoRAs [in, out]), the token-shift mixes in
// (0, 1), norm gains about 1, the other vectors small; RWKV-7's decay offset w0 over its working
// range. Uniform +-0.6 everywhere (randomize_weights) saturates RWKV-7's decay and gates, where
// gradients cancel and small relative changes of the products move them by far more.
template <class ModelT>
void randomize_like_trained(ModelT& model, std::uint64_t seed) {
  auto host = Kokkos::create_mirror_view(model.weights().flat);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (const TensorSpec& s : model.specs()) {
    const bool lora = s.is_matrix() && !s.name.ends_with(".weight");
    const bool mix = s.name.find(".x_") != std::string::npos || s.name.find("time_mix") != std::string::npos;
    const bool gain = !s.is_matrix() && s.name.ends_with(".weight");
    for (std::size_t i = 0; i < s.size(); ++i) {
      double value = 0.2 * unit(rng);
      if (s.is_matrix()) value = unit(rng) * std::sqrt(3.0 / (lora ? s.rows : s.cols));
      else if (mix) value = 0.5 + 0.45 * unit(rng);
      else if (gain) value = 1.0 + 0.2 * unit(rng);
      else if (s.name.ends_with(".w0")) value = 3.0 * unit(rng);
      host(s.offset + i) = typename ModelT::scalar_type(value);
    }
  }
  Kokkos::deep_copy(model.weights().flat, host);
}

// What the RNN-mode tests allow between two ways of computing the same values.
template <class Scalar>
double tolerance() {
  return std::is_same_v<Scalar, float> ? 1e-5 : 1e-12;
}

// max |x - y| / max(1, max |y|): relative to the size of the values compared.
inline double relative_difference(const std::vector<double>& x, const std::vector<double>& y) {
  REQUIRE(x.size() == y.size());
  double diff = 0, size = 1;
  for (std::size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::abs(x[i] - y[i]));
    size = std::max(size, std::abs(y[i]));
  }
  return diff / size;
}

template <class A, class B>
double relative_difference(const A& a, const B& b) {
  return relative_difference(as_doubles(to_host(a)), as_doubles(to_host(b)));
}

// Every value of an RNN state (of any version: its file_parts()), part after part.
template <class State>
std::vector<double> state_values(const State& state) {
  std::vector<double> values;
  std::apply(
      [&](const auto&... part) {
        ((void)[&] {
          const auto v = as_doubles(to_host(part.view));
          values.insert(values.end(), v.begin(), v.end());
        }(), ...);
      },
      state.file_parts());
  return values;
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
