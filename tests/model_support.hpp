// Shared by the model-level tests: token views and random weights.
#pragma once

#include "test_support.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rwkv::test {

using TokenView = Kokkos::View<int*, Kokkos::DefaultExecutionSpace::memory_space>;

inline TokenView device_tokens(const std::vector<int>& host, const char* label) {
  TokenView d(std::string(label), host.size());
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

}  // namespace rwkv::test
