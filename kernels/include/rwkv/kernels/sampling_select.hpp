// The pieces of sampling.hpp's kernels that both of its paths share: exact fixed-point sums, the
// radix select over the weights' bit patterns that finds the top-k and top-p thresholds in O(V),
// the reducers, the deterministic draw, and the thresholds every filter applies (the math:
// sampling.hpp's header comment).
#pragma once

#include <rwkv/core/kokkos_compat.hpp>

#include <cstdint>

namespace rwkv::detail {

KOKKOS_INLINE_FUNCTION std::uint64_t bits_of(double x) {
  union {
    double d;
    std::uint64_t u;
  } v{x};
  return v.u;
}

KOKKOS_INLINE_FUNCTION double double_of(std::uint64_t u) {
  union {
    std::uint64_t u;
    double d;
  } v{u};
  return v.d;
}

// A sum of weights in fixed point, in units of 2^-96, over 128 bits: exact, so the same in any
// order of the additions (threads, atomics). A weight is at most 1 (2^96 units), so 2^31 of them
// fit; weights below 2^-97 count as 0.
struct Fixed {
  unsigned long long lo, hi;
};

KOKKOS_INLINE_FUNCTION void add_to(Fixed& a, const Fixed& b) {
  a.lo += b.lo;
  a.hi += b.hi + (a.lo < b.lo ? 1 : 0);
}

KOKKOS_INLINE_FUNCTION Fixed fixed_of(double w) {
  const std::uint64_t bits = bits_of(w);
  const int e = int(bits >> 52);
  if (e > 1023) return Fixed{0, 0};  // not in [0, 1] (NaN)
  const unsigned long long m = (bits & ((1ull << 52) - 1)) | (e > 0 ? 1ull << 52 : 0);
  const int shift = (e > 0 ? e : 1) - 1075 + 96;  // w = m 2^(shift - 96), shift <= 44
  if (shift >= 0) return Fixed{m << shift, shift > 0 ? m >> (64 - shift) : 0};
  return shift > -64 ? Fixed{m >> -shift, 0} : Fixed{0, 0};
}

KOKKOS_INLINE_FUNCTION double double_of(const Fixed& f) {
  return (double(f.hi) * 18446744073709551616.0 + double(f.lo)) * 0x1p-96;
}

// Radix select over the bit patterns of the weights (non-negative doubles order as their bits):
// level 0 buckets every weight by its exponent (1024 buckets: weights are at most 1); each later
// level takes the weights whose higher bits equal the digits chosen so far and buckets them by the
// next 10 bits (levels 1-5) or the last 2 (level 6).
inline constexpr int radix_buckets = 1024, radix_groups = 32, radix_last_level = 6;
inline constexpr int radix_group_size = radix_buckets / radix_groups;

KOKKOS_INLINE_FUNCTION int radix_shift(int level) {
  return level == 0 ? 52 : level < radix_last_level ? 52 - 10 * level : 0;
}

KOKKOS_INLINE_FUNCTION int radix_digit(std::uint64_t bits, int level) {
  if (level == 0) return int(min_of<std::uint64_t>(bits >> 52, radix_buckets - 1));
  const int width = radix_shift(level - 1) - radix_shift(level);
  return int((bits >> radix_shift(level)) & ((1ull << width) - 1));
}

KOKKOS_INLINE_FUNCTION bool radix_match(std::uint64_t bits, int level, std::uint64_t prefix) {
  return level == 0 || (bits >> radix_shift(level - 1)) == prefix;
}

// The search for the largest weight tau for which the weights >= tau pass a monotone test(count,
// mass) (top-k: count >= k; top-p: mass >= top_p S), which the whole row passes. The weights above
// the range of the current bucket are summed exactly; each histogram pass picks the highest bucket
// where the test first passes, walking down, and the search goes on inside it until it holds one
// value. The same answer as a bisection or a sort: the sums are exact integers.
struct RadixSelect {
  std::uint64_t prefix;
  int level;  // of the next histogram
  int count_above;
  Fixed mass_above;
  bool done;
  double tau;
};

// A search that is done before it starts where its filter is off.
KOKKOS_INLINE_FUNCTION RadixSelect radix_start(bool on) { return RadixSelect{0, 0, 0, Fixed{0, 0}, !on, 0.0}; }

// One step from the histogram of level s.level: group(g, count, mass) and bucket(b, count, mass)
// read the sums of a group of radix_group_size buckets and of one bucket; lowest and highest are the
// smallest and largest bit patterns the histogram counted (used from level 1 on).
template <class Group, class Bucket, class Test>
KOKKOS_INLINE_FUNCTION void radix_step(RadixSelect& s, const Group& group, const Bucket& bucket, std::uint64_t lowest,
                                       std::uint64_t highest, const Test& test) {
  if (s.level > 0 && lowest == highest) {  // one value left: ties, or a single weight
    s.tau = double_of(lowest);
    s.done = true;
    return;
  }
  int count;
  Fixed mass;
  // Adds the weights above to a group's or bucket's sums; where the test still fails there, those
  // sums are the weights above the next one down.
  const auto reaches = [&]() {
    count += s.count_above;
    add_to(mass, s.mass_above);
    if (test(count, mass)) return true;
    s.count_above = count;
    s.mass_above = mass;
    return false;
  };
  for (int g = radix_groups - 1; g >= 0; --g) {
    group(g, count, mass);
    if (!reaches()) continue;
    for (int b = (g + 1) * radix_group_size - 1; b >= g * radix_group_size; --b) {
      bucket(b, count, mass);
      if (!reaches()) continue;
      s.prefix = s.level == 0 ? std::uint64_t(b)
                              : (s.prefix << (radix_shift(s.level - 1) - radix_shift(s.level))) | std::uint64_t(b);
      if (s.level == radix_last_level) {
        s.tau = double_of(s.prefix);
        s.done = true;
      } else {
        ++s.level;
      }
      return;
    }
  }
  s.tau = 0;  // only with NaN weights, which no bucket sums up: keep every weight
  s.done = true;
}

// What every reducer here shares of the Kokkos reducer interface (the interface of
// Kokkos::MinMax); join and init are each one's own.
template <class Derived, class Value>
struct ScalarReducer {
  using reducer = Derived;
  using value_type = Value;
  using result_view_type = Kokkos::View<value_type, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;

  result_view_type value;

  KOKKOS_INLINE_FUNCTION explicit ScalarReducer(value_type& v) : value(&v) {}
  KOKKOS_INLINE_FUNCTION value_type& reference() const { return *value.data(); }
  KOKKOS_INLINE_FUNCTION result_view_type view() const { return value; }
  KOKKOS_INLINE_FUNCTION bool references_scalar() const { return true; }
};

// The smallest and largest bit patterns of a pass, as one Kokkos reducer.
struct BitsRange {
  std::uint64_t lowest, highest;
};

struct BitsRangeReducer : ScalarReducer<BitsRangeReducer, BitsRange> {
  using ScalarReducer::ScalarReducer;
  KOKKOS_INLINE_FUNCTION void join(value_type& dest, const value_type& src) const {
    dest.lowest = min_of(dest.lowest, src.lowest);
    dest.highest = max_of(dest.highest, src.highest);
  }
  // Kokkos 3 also joins through volatile references.
  KOKKOS_INLINE_FUNCTION void join(volatile value_type& dest, const volatile value_type& src) const {
    dest.lowest = min_of<std::uint64_t>(dest.lowest, src.lowest);
    dest.highest = max_of<std::uint64_t>(dest.highest, src.highest);
  }
  KOKKOS_INLINE_FUNCTION void init(value_type& v) const { v = value_type{~std::uint64_t(0), 0}; }
};

// Greedy: the largest z' and the lowest token holding it (index -1: none yet).
struct ValueIndex {
  double value;
  int index;
};

KOKKOS_INLINE_FUNCTION void keep_first_max(ValueIndex& acc, double value, int index) {
  if (index >= 0 && (acc.index < 0 || value > acc.value || (value == acc.value && index < acc.index))) {
    acc.value = value;
    acc.index = index;
  }
}

struct FirstMaxReducer : ScalarReducer<FirstMaxReducer, ValueIndex> {
  using ScalarReducer::ScalarReducer;
  KOKKOS_INLINE_FUNCTION void join(value_type& dest, const value_type& src) const {
    keep_first_max(dest, src.value, src.index);
  }
  KOKKOS_INLINE_FUNCTION void join(volatile value_type& dest, const volatile value_type& src) const {
    ValueIndex d{dest.value, dest.index};
    keep_first_max(d, src.value, src.index);
    dest.value = d.value;
    dest.index = d.index;
  }
  KOKKOS_INLINE_FUNCTION void init(value_type& v) const { v = value_type{0.0, -1}; }
};

// The draw sums the kept weights in 256 interleaved chunks (chunk c: t = c, c + 256, ...), each in
// order, then the chunks in order: the same bits for any team size or thread count, and the token
// found by walking the same sums, so it always has a kept, positive weight. Also the order of the
// inverse CDF.
inline constexpr int sampling_chunks = 256;

// The token where the running sum of the kept weights passes target (uniform times the sum of the
// chunks' partial sums); if rounding put target at the very end, the last chunk with mass and its
// last token.
template <class Partial, class Weight, class Kept>
KOKKOS_INLINE_FUNCTION int draw_token(const Partial& partial, double target, int V, const Weight& weight,
                                      const Kept& kept) {
  int pick = 0;
  double before = 0, pick_before = 0;
  for (int c = 0; c < sampling_chunks; ++c) {
    if (partial(c) > 0) {
      pick = c;
      pick_before = before;
    }
    const double after = before + partial(c);
    if (after > target) break;
    before = after;
  }
  int token = pick;
  double run = 0;  // adds what the chunk's partial added, in the same order
  for (int t = pick; t < V; t += sampling_chunks) {
    const double x = weight(t);
    if (!kept(x) || !(x > 0)) continue;
    run += x;
    token = t;
    if (pick_before + run > target) break;
  }
  return token;
}

template <class ExecSpace>
struct UniformFromView {
  Kokkos::View<const double*, Kokkos::LayoutRight, typename ExecSpace::memory_space> u;
  KOKKOS_INLINE_FUNCTION double operator()(int row) const { return u(row); }
};

struct UniformValue {
  double u;
  KOKKOS_INLINE_FUNCTION double operator()(int) const { return u; }
};

// The sampler's settings as the kernels use them.
struct SamplingParams {
  bool penalize, draw, write_probs, record;
  double presence, frequency, temperature;
  int top_k;  // 0: off (also when k >= V)
  double top_p, top_p_x, top_a, top_a_exponent;

  KOKKOS_INLINE_FUNCTION bool select() const { return top_k > 0 || top_p < 1; }
  // Whether the sum of the weights S is needed (top-p, top-p-x, top-a), from the histogram.
  KOKKOS_INLINE_FUNCTION bool histogram() const { return select() || top_a > 0; }
};

// The thresholds on w = p S from the selections and S: w is kept when kept(w).
struct Thresholds {
  double tau_k, tau_p, tau_a, tau_x;
  bool use_top_p_x;

  KOKKOS_INLINE_FUNCTION bool kept(double x) const {
    return x >= tau_k && x >= tau_a && (x >= tau_p || (use_top_p_x && x > tau_x));
  }
};

KOKKOS_INLINE_FUNCTION Thresholds thresholds_of(const SamplingParams& p, const RadixSelect& k, const RadixSelect& top_p,
                                                double total) {
  Thresholds t{0, 0, 0, 0, p.top_p_x > 0};
  if (p.top_k > 0) t.tau_k = k.tau;
  if (p.top_p < 1) t.tau_p = top_p.tau;
  t.tau_x = p.top_p_x * total;
  // p < a * p_max^k  <=>  w < a * S^(1 - k), since p_max = 1 / S; capped at the max's w = 1.
  if (p.top_a > 0) t.tau_a = min_of(1.0, p.top_a * kmath::exp(p.top_a_exponent * kmath::log(total)));
  return t;
}

}  // namespace rwkv::detail
