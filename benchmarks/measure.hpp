// What the benchmarks share besides the ceilings: timing a call with warm-up and repetitions
// (median, min, max; the device fenced before each clock read) and filling views with values
// that keep the kernels on their usual path (no zeros into exp, no denormals).
#pragma once

#include "ceilings.hpp"

#include <rwkv/core/hash.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace rwkv::bench {

struct Timing {
  double median = 0, min = 0, max = 0;  // seconds a call
  int reps = 0;
};

// Calls f `warmup` times untimed, then `reps` times each timed alone, with the device fenced
// before the clock starts and before it is read.
template <class F>
Timing time_calls(int warmup, int reps, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  Kokkos::fence();
  std::vector<double> seconds;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    f();
    Kokkos::fence();
    seconds.push_back(seconds_since(t0));
  }
  std::sort(seconds.begin(), seconds.end());
  const std::size_t n = seconds.size();
  const double median = n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
  return {median, seconds.front(), seconds.back(), reps};
}

// Uniform values in [lo, hi) from a counter hash over a contiguous view (size() values from
// data()): fast for any size, the same every run, different per seed.
template <class View>
void fill_uniform(const View& view, float lo, float hi, std::uint64_t seed = 1) {
  using Space = typename View::execution_space;
  using Value = typename View::non_const_value_type;
  Value* data = view.data();
  const double width = double(hi) - double(lo), low = lo;
  const std::uint64_t offset = seed * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull;
  Kokkos::parallel_for(
      "rwkv::bench::fill_uniform", Kokkos::RangePolicy<Space, Kokkos::IndexType<std::int64_t>>(0, std::int64_t(view.size())),
      KOKKOS_LAMBDA(std::int64_t i) {
        const std::uint64_t z = rwkv::splitmix64(offset, std::uint64_t(i));
        data[i] = Value(low + double(z >> 11) / 9007199254740992.0 * width);
      });
  Space().fence();
}

// Token ids i * 7919 + 13 mod vocab: every id in range, neighbours differ.
template <class Space>
Kokkos::View<int*, typename Space::memory_space> tokens_of(int n, int vocab) {
  Kokkos::View<int*, typename Space::memory_space> tokens("tokens", n);
  const auto host = Kokkos::create_mirror_view(tokens);
  for (int i = 0; i < n; ++i) host(i) = int((i * 7919L + 13) % vocab);
  Kokkos::deep_copy(tokens, host);
  return tokens;
}

}  // namespace rwkv::bench
