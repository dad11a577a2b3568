// Picking the next token from logits z [rows, V] on the device, one independent row per sequence.
// Only token ids (and the host-made uniform numbers) cross between host and device; logits never do.
//   z'[t] = z[t] - (presence + frequency * count[t])   where count[t] > 0    (ChatRWKV's penalties)
//   temperature T = 0: the token is argmax z' (the lowest id among equal maxima); no filter applies.
//   w[t] = exp((z'[t] - max z') / T),  S = sum w,  p[t] = w[t] / S          (w = 1 at the max)
//   top-k:   keep p[t] >= the k-th largest p
//   top-p:   keep p[t] >= tau, tau the largest value with sum_{p[u] >= tau} p[u] >= top_p
//            (the smallest set of most probable tokens holding top_p of the mass)
//   top-p-x: also keep p[t] > top_p_x where top-p drops it
//   top-a:   keep p[t] >= min(max p, top_a * (max p)^top_a_power)     (RWKV's top-a: power 2;
//            the min matters only for top_a > 1 or a power below 1)
// Every filter looks at the same p (after the temperature, as Hugging Face's samplers do; ChatRWKV
// filters the T = 1 distribution and applies T afterwards); a token stays when every enabled filter
// keeps it, which the most probable token always does. The kept p are renormalized, and a uniform
// u in [0, 1) picks the token by the inverse of their cumulative sum.
// Ties: each filter is a threshold on the probability value, so tokens of equal p are kept or dropped
// together: top-k keeps more than k tokens, and top-p more than the smallest set, exactly when equal
// probabilities straddle the boundary. The kept set never depends on token order.
// Thresholds (top-k, top-p): by radix select over the bit patterns of w in [0, 1] (non-negative
// doubles order as their bits), no sort: one pass buckets every w by its exponent, counting the
// weights and summing their mass per bucket, and finds the bucket where the count (mass) from the
// top first reaches k (top_p S); a few passes more resolve that bucket, 10 bits at a time, until it
// holds one value. Each pass reads w once: O(V). Masses are summed exactly in 128-bit fixed point
// (units of 2^-96), so no order of additions changes a threshold, and S is that sum, rounded.
// w lives in a caller-provided double scratch [rows, V], allocated once. All arithmetic is in
// double, whatever the logits' Scalar.
// Device path: one team per row, histograms in team scratch (integer atomics). Host fast path
// (host_fast_path): plain loops; fewer rows than threads (one sequence's step) take all threads
// for each row in one OpenMP region, else a thread per row.
// Determinism: the same logits and uniform give the same token on the same space, for any team size
// or thread count: thresholds come from exact sums, and the draw from fixed chunks.
// Zero rows draw and write nothing; V = 0 (nothing to draw) is refused with std::invalid_argument.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/views.hpp>

#if defined(RWKV_OPENMP_LOOPS)
#include <omp.h>
#endif

#include <cfloat>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace rwkv {

struct SamplerConfig {
  double temperature = 1.0;  // 0: greedy
  int top_k = 0;             // 0: off
  double top_p = 1.0;        // 1: off
  double top_a = 0.0;        // 0: off
  double top_a_power = 2.0;
  double top_p_x = 0.0;  // 0: off
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
};

// Throws std::invalid_argument naming the field and its value: temperature negative or not finite,
// top_k < 0, top_p outside (0, 1], top_a negative or not finite, top_a_power not positive or not
// finite, top_p_x outside [0, 1), a penalty not finite.
void validate(const SamplerConfig& config);

// A seeded stream of uniform numbers in [0, 1) with 53 random bits: the n-th number is SplitMix64's
// output for (seed, n), so (seed, position) alone restores a stream.
class UniformStream {
 public:
  explicit UniformStream(std::uint64_t seed = 0, std::uint64_t position = 0) : seed_(seed), position_(position) {}
  double next();
  std::uint64_t seed() const { return seed_; }
  std::uint64_t position() const { return position_; }

 private:
  std::uint64_t seed_, position_;
};

namespace detail {

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
  for (int g = radix_groups - 1; g >= 0; --g) {
    group(g, count, mass);
    count += s.count_above;
    add_to(mass, s.mass_above);
    if (!test(count, mass)) {
      s.count_above = count;
      s.mass_above = mass;
      continue;
    }
    for (int b = (g + 1) * radix_group_size - 1; b >= g * radix_group_size; --b) {
      bucket(b, count, mass);
      count += s.count_above;
      add_to(mass, s.mass_above);
      if (!test(count, mass)) {
        s.count_above = count;
        s.mass_above = mass;
        continue;
      }
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

// The smallest and largest bit patterns of a pass, as one Kokkos reducer.
struct BitsRange {
  std::uint64_t lowest, highest;
};

struct BitsRangeReducer {
  using reducer = BitsRangeReducer;
  using value_type = BitsRange;
  using result_view_type = Kokkos::View<value_type, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;

  result_view_type value;

  KOKKOS_INLINE_FUNCTION explicit BitsRangeReducer(value_type& v) : value(&v) {}
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
  KOKKOS_INLINE_FUNCTION value_type& reference() const { return *value.data(); }
  KOKKOS_INLINE_FUNCTION result_view_type view() const { return value; }
  KOKKOS_INLINE_FUNCTION bool references_scalar() const { return true; }
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

struct FirstMaxReducer {
  using reducer = FirstMaxReducer;
  using value_type = ValueIndex;
  using result_view_type = Kokkos::View<value_type, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;

  result_view_type value;

  KOKKOS_INLINE_FUNCTION explicit FirstMaxReducer(value_type& v) : value(&v) {}
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
  KOKKOS_INLINE_FUNCTION value_type& reference() const { return *value.data(); }
  KOKKOS_INLINE_FUNCTION result_view_type view() const { return value; }
  KOKKOS_INLINE_FUNCTION bool references_scalar() const { return true; }
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

template <class ExecSpace, class Scalar>
SamplingParams sampling_params(const SamplerConfig& config, int V, bool penalize, bool draw, bool write_probs,
                               bool record) {
  return SamplingParams{penalize,
                        draw,
                        write_probs,
                        record,
                        config.presence_penalty,
                        config.frequency_penalty,
                        config.temperature,
                        config.top_k < V ? config.top_k : 0,
                        config.top_p,
                        config.top_p_x,
                        config.top_a,
                        1 - config.top_a_power};
}

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

// ---- Device path: one team per row, histograms in team scratch with integer atomics. ----

template <class ExecSpace>
struct TeamHistogram {
  using Ints = Kokkos::View<int*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  using Words = Kokkos::View<unsigned long long*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  Ints count, group_count;
  Words lo, hi, group_lo, group_hi;

  static std::size_t shmem_size() {
    return Ints::shmem_size(radix_buckets) + 2 * Words::shmem_size(radix_buckets) + Ints::shmem_size(radix_groups) +
           2 * Words::shmem_size(radix_groups);
  }
  template <class Team>
  KOKKOS_INLINE_FUNCTION explicit TeamHistogram(const Team& team)
      : count(team.team_scratch(0), radix_buckets),
        group_count(team.team_scratch(0), radix_groups),
        lo(team.team_scratch(0), radix_buckets),
        hi(team.team_scratch(0), radix_buckets),
        group_lo(team.team_scratch(0), radix_groups),
        group_hi(team.team_scratch(0), radix_groups) {}

  template <class Team>
  KOKKOS_INLINE_FUNCTION void clear(const Team& team) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, radix_buckets), [&](int b) {
      count(b) = 0;
      lo(b) = 0;
      hi(b) = 0;
    });
  }
  KOKKOS_INLINE_FUNCTION void add(int b, const Fixed& f) const {
    Kokkos::atomic_add(&count(b), 1);
    if (f.lo) {
      const unsigned long long old = Kokkos::atomic_fetch_add(&lo(b), f.lo);
      if (old + f.lo < old) Kokkos::atomic_add(&hi(b), 1ull);
    }
    if (f.hi) Kokkos::atomic_add(&hi(b), f.hi);
  }
  // After the histogram pass and a barrier; a barrier after it before group() is read.
  template <class Team>
  KOKKOS_INLINE_FUNCTION void sum_groups(const Team& team) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, radix_groups), [&](int g) {
      int c = 0;
      Fixed m{0, 0};
      for (int b = g * radix_group_size; b < (g + 1) * radix_group_size; ++b) {
        c += count(b);
        add_to(m, Fixed{lo(b), hi(b)});
      }
      group_count(g) = c;
      group_lo(g) = m.lo;
      group_hi(g) = m.hi;
    });
  }
  KOKKOS_INLINE_FUNCTION void group(int g, int& c, Fixed& m) const {
    c = group_count(g);
    m = Fixed{group_lo(g), group_hi(g)};
  }
  KOKKOS_INLINE_FUNCTION void bucket(int b, int& c, Fixed& m) const {
    c = count(b);
    m = Fixed{lo(b), hi(b)};
  }
};

template <class ExecSpace, class Scalar, class Uniform>
void sample_rows_team(const ExecSpace& space, const Vector<ExecSpace, int>& tokens, const Matrix<ExecSpace, Scalar>& probs,
                      ConstMatrix<ExecSpace, Scalar> logits, ConstMatrix<ExecSpace, int> counts,
                      const Matrix<ExecSpace, int>& record, const SamplingParams p, const Uniform& uniform,
                      const Matrix<ExecSpace, double>& weights) {
  const int rows = int(logits.extent(0));
  const int V = int(logits.extent(1));
  constexpr int chunks = sampling_chunks;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  using Team = typename Policy::member_type;
  using Partials = Kokkos::View<double*, typename ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  using Histogram = TeamHistogram<ExecSpace>;
  // AUTO: one thread per team (row) on the host, a block per row on GPUs.
  Policy policy(space, rows, Kokkos::AUTO);
  policy.set_scratch_size(0, Kokkos::PerTeam(Partials::shmem_size(chunks) + Histogram::shmem_size()));
  Kokkos::parallel_for(
      "rwkv::sample_tokens", policy, KOKKOS_LAMBDA(const Team& team) {
        const int row = team.league_rank();
        const auto w = Kokkos::subview(weights, row, Kokkos::ALL);
        const auto z_of = [&](int t) {
          double x = double(logits(row, t));
          if (p.penalize && counts(row, t) > 0) x -= p.presence + p.frequency * double(counts(row, t));
          return x;
        };
        Partials partial(team.team_scratch(0), chunks);
        const Histogram h(team);
        if (p.temperature == 0) {
          ValueIndex best;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, V),
              [&](int t, ValueIndex& acc) { keep_first_max(acc, z_of(t), t); },
              FirstMaxReducer(best));
          Kokkos::single(Kokkos::PerTeam(team), [&]() {
            if (p.draw) tokens(row) = best.index;
            if (p.record) record(row, best.index) += 1;
          });
          if (p.write_probs)
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, V),
                                 [&](int t) { probs(row, t) = Scalar(t == best.index ? 1 : 0); });
          return;
        }
        // z' goes into w first: every later pass reads these stored values, so the max found here
        // equals the element it came from bit for bit.
        double z_max;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, V),
            [&](int t, double& acc) {
              const double x = z_of(t);
              w(t) = x;
              acc = max_of(acc, x);
            },
            Kokkos::Max<double>(z_max));
        if (p.histogram()) h.clear(team);
        team.team_barrier();
        Fixed total{0, 0};
        if (!p.histogram()) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, V),
                               [&](int t) { w(t) = kmath::exp((w(t) - z_max) / p.temperature); });
          team.team_barrier();
        } else {
          // Level 0 of the radix select, and S, in the same pass.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, V), [&](int t) {
            const double x = kmath::exp((w(t) - z_max) / p.temperature);
            w(t) = x;
            h.add(radix_digit(bits_of(x), 0), fixed_of(x));
          });
          team.team_barrier();
          h.sum_groups(team);
          team.team_barrier();
          for (int g = 0; g < radix_groups; ++g) add_to(total, Fixed{h.group_lo(g), h.group_hi(g)});
        }
        const double S = double_of(total);
        const double needed = p.top_p * S;
        const auto test_k = [&](int count, const Fixed&) { return count >= p.top_k; };
        const auto test_p = [&](int, const Fixed& mass) { return double_of(mass) >= needed; };
        const auto group = [&](int g, int& c, Fixed& m) { h.group(g, c, m); };
        const auto bucket = [&](int b, int& c, Fixed& m) { h.bucket(b, c, m); };
        RadixSelect sk = radix_start(p.top_k > 0), sp = radix_start(p.top_p < 1);
        if (p.top_k > 0) radix_step(sk, group, bucket, 0, 0, test_k);
        if (p.top_p < 1) radix_step(sp, group, bucket, 0, 0, test_p);
        const auto refine = [&](RadixSelect& s, const auto& test) {
          while (!s.done) {
            team.team_barrier();  // every thread has read the last histogram
            h.clear(team);
            team.team_barrier();
            BitsRange range;
            Kokkos::parallel_reduce(
                Kokkos::TeamThreadRange(team, V),
                [&](int t, BitsRange& acc) {
                  const std::uint64_t bits = bits_of(w(t));
                  if (!radix_match(bits, s.level, s.prefix)) return;
                  h.add(radix_digit(bits, s.level), fixed_of(w(t)));
                  acc.lowest = min_of(acc.lowest, bits);
                  acc.highest = max_of(acc.highest, bits);
                },
                BitsRangeReducer(range));
            team.team_barrier();
            h.sum_groups(team);
            team.team_barrier();
            radix_step(s, group, bucket, range.lowest, range.highest, test);
          }
        };
        refine(sk, test_k);
        refine(sp, test_p);
        const Thresholds th = thresholds_of(p, sk, sp, S);

        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, chunks), [&](int c) {
          double s = 0;
          for (int t = c; t < V; t += chunks)
            if (th.kept(w(t))) s += w(t);
          partial(c) = s;
        });
        team.team_barrier();
        double kept_total;
        Kokkos::single(
            Kokkos::PerTeam(team),
            [&](double& sum) {
              double s = 0;
              for (int c = 0; c < chunks; ++c) s += partial(c);
              sum = s;
              if (!p.draw) return;
              const int token = draw_token(
                  partial, uniform(row) * s, V, [&](int t) { return w(t); }, [&](double x) { return th.kept(x); });
              tokens(row) = token;
              if (p.record) record(row, token) += 1;
            },
            kept_total);
        if (p.write_probs) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, V), [&](int t) {
            probs(row, t) = Scalar(th.kept(w(t)) ? w(t) / kept_total : 0.0);
          });
        }
      });
}

// ---- Host path: plain loops over raw pointers, one row at a time over all threads (a step's
// single sequence) or a thread per row; histograms per thread, summed exactly. ----

struct HostHistogram {
  int count[radix_buckets];
  Fixed mass[radix_buckets];
  std::uint64_t lowest, highest;

  void clear() {
    std::memset(count, 0, sizeof count);
    std::memset(mass, 0, sizeof mass);
    lowest = ~std::uint64_t(0);
    highest = 0;
  }
};

// What the threads of one row share: per thread, a histogram for even and one for odd passes (a
// thread still reading the last pass's sums never sees the next pass's), its max and its greedy
// pick; the chunks' partial sums.
struct HostRowShared {
  HostHistogram* histograms;  // [2 * parity_stride] (parity_stride 0 for one thread)
  int parity_stride;
  double* thread_max;
  ValueIndex* thread_best;
  double* partial;  // [sampling_chunks]
};

template <class Scalar>
struct HostRow {
  const Scalar* z;
  const int* counts;  // null: no penalties
  double* w;
  Scalar* probs;  // null: not written
  int* token;     // null: no draw
  int* record;    // null: not recorded
  double u;
};

template <class Scalar, class Barrier>
void sample_row_host(const HostRow<Scalar>& r, const SamplingParams& p, int V, int tid, int nt, const HostRowShared& sh,
                     const Barrier& barrier) {
  const int begin = int(std::int64_t(V) * tid / nt), end = int(std::int64_t(V) * (tid + 1) / nt);
  double* w = r.w;
  const auto z_of = [&](int t) {
    double x = double(r.z[t]);
    if (r.counts && r.counts[t] > 0) x -= p.presence + p.frequency * double(r.counts[t]);
    return x;
  };
  if (p.temperature == 0) {
    ValueIndex best{0.0, -1};
    for (int t = begin; t < end; ++t) keep_first_max(best, z_of(t), t);
    sh.thread_best[tid] = best;
    barrier();
    ValueIndex all{0.0, -1};
    for (int i = 0; i < nt; ++i) keep_first_max(all, sh.thread_best[i].value, sh.thread_best[i].index);
    if (tid == 0 && r.token) *r.token = all.index;
    if (tid == 0 && r.record) r.record[all.index] += 1;
    if (r.probs)
      for (int t = begin; t < end; ++t) r.probs[t] = Scalar(t == all.index ? 1 : 0);
    barrier();  // the shared arrays serve the next row
    return;
  }
  double m = -DBL_MAX;  // Kokkos::Max's identity, as the device path
  for (int t = begin; t < end; ++t) {
    const double x = z_of(t);
    w[t] = x;
    m = max_of(m, x);
  }
  sh.thread_max[tid] = m;
  barrier();
  double z_max = -DBL_MAX;
  for (int i = 0; i < nt; ++i) z_max = max_of(z_max, sh.thread_max[i]);
  const double T = p.temperature;
  int pass = 0;
  const auto histogram_of = [&](int thread) -> HostHistogram& {
    return sh.histograms[(pass % 2) * sh.parity_stride + thread];
  };
  Fixed total{0, 0};
  if (!p.histogram()) {
    for (int t = begin; t < end; ++t) w[t] = kmath::exp((w[t] - z_max) / T);
  } else {
    HostHistogram& h = histogram_of(tid);
    h.clear();
    for (int t = begin; t < end; ++t) {
      const double x = kmath::exp((w[t] - z_max) / T);
      w[t] = x;
      const int b = radix_digit(bits_of(x), 0);
      h.count[b] += 1;
      add_to(h.mass[b], fixed_of(x));
    }
  }
  barrier();  // every w written, every histogram complete
  if (p.histogram()) {
    for (int i = 0; i < nt; ++i)
      for (int b = 0; b < radix_buckets; ++b) add_to(total, histogram_of(i).mass[b]);
  }
  const double S = double_of(total);
  const double needed = p.top_p * S;
  const auto test_k = [&](int count, const Fixed&) { return count >= p.top_k; };
  const auto test_p = [&](int, const Fixed& mass) { return double_of(mass) >= needed; };
  const auto bucket = [&](int b, int& c, Fixed& mass) {
    c = 0;
    mass = Fixed{0, 0};
    for (int i = 0; i < nt; ++i) {
      c += histogram_of(i).count[b];
      add_to(mass, histogram_of(i).mass[b]);
    }
  };
  const auto group = [&](int g, int& c, Fixed& mass) {
    c = 0;
    mass = Fixed{0, 0};
    for (int b = g * radix_group_size; b < (g + 1) * radix_group_size; ++b) {
      int bc;
      Fixed bm;
      bucket(b, bc, bm);
      c += bc;
      add_to(mass, bm);
    }
  };
  RadixSelect sk = radix_start(p.top_k > 0), sp = radix_start(p.top_p < 1);
  if (p.top_k > 0) radix_step(sk, group, bucket, 0, 0, test_k);
  if (p.top_p < 1) radix_step(sp, group, bucket, 0, 0, test_p);
  const auto refine = [&](RadixSelect& s, const auto& test) {
    while (!s.done) {
      ++pass;  // the other parity: no thread reads it any more
      HostHistogram& h = histogram_of(tid);
      h.clear();
      const int shift = radix_shift(s.level - 1);
      for (int t = begin; t < end; ++t) {
        const std::uint64_t bits = bits_of(w[t]);
        if ((bits >> shift) != s.prefix) continue;
        const int b = radix_digit(bits, s.level);
        h.count[b] += 1;
        add_to(h.mass[b], fixed_of(w[t]));
        h.lowest = min_of(h.lowest, bits);
        h.highest = max_of(h.highest, bits);
      }
      barrier();
      std::uint64_t lowest = ~std::uint64_t(0), highest = 0;
      for (int i = 0; i < nt; ++i) {
        lowest = min_of(lowest, histogram_of(i).lowest);
        highest = max_of(highest, histogram_of(i).highest);
      }
      radix_step(s, group, bucket, lowest, highest, test);
    }
  };
  refine(sk, test_k);
  refine(sp, test_p);
  const Thresholds th = thresholds_of(p, sk, sp, S);

  // Chunk c's partial sum in order of t, as on the device; this thread's chunks, a block of
  // sampling_chunks tokens at a time.
  constexpr int chunks = sampling_chunks;
  const int c0 = chunks * tid / nt, c1 = chunks * (tid + 1) / nt;
  double s[chunks];
  for (int c = c0; c < c1; ++c) s[c] = 0;
  for (int base = 0; base < V; base += chunks) {
    const double* x = w + base;
    const int c_end = min_of(c1, V - base);
    for (int c = c0; c < c_end; ++c) s[c] += th.kept(x[c]) ? x[c] : 0.0;
  }
  for (int c = c0; c < c1; ++c) sh.partial[c] = s[c];
  barrier();
  double kept_total = 0;
  for (int c = 0; c < chunks; ++c) kept_total += sh.partial[c];
  if (tid == 0 && r.token) {
    const int token = draw_token(
        [&](int c) { return sh.partial[c]; }, r.u * kept_total, V, [&](int t) { return w[t]; },
        [&](double x) { return th.kept(x); });
    *r.token = token;
    if (r.record) r.record[token] += 1;
  }
  if (r.probs)
    for (int t = begin; t < end; ++t) r.probs[t] = Scalar(th.kept(w[t]) ? w[t] / kept_total : 0.0);
  barrier();  // the shared arrays serve the next row
}

template <class ExecSpace, class Scalar, class Uniform>
void sample_rows_host(const ExecSpace& space, const Vector<ExecSpace, int>& tokens, const Matrix<ExecSpace, Scalar>& probs,
                      ConstMatrix<ExecSpace, Scalar> logits, ConstMatrix<ExecSpace, int> counts,
                      const Matrix<ExecSpace, int>& record, const SamplingParams p, const Uniform& uniform,
                      const Matrix<ExecSpace, double>& weights) {
  const int rows = int(logits.extent(0));
  const int V = int(logits.extent(1));
  if (rows == 0) return;
  const auto row_of = [=](int row) {
    return HostRow<Scalar>{&logits(row, 0),
                           p.penalize ? &counts(row, 0) : nullptr,
                           &weights(row, 0),
                           p.write_probs ? &probs(row, 0) : nullptr,
                           p.draw ? &tokens(row) : nullptr,
                           p.record ? &record(row, 0) : nullptr,
                           p.draw ? uniform(row) : 0.0};
  };
#if defined(RWKV_OPENMP_LOOPS)
  if constexpr (std::is_same_v<ExecSpace, Kokkos::OpenMP>) {
    const int threads = space.concurrency();
    if (threads > 1 && rows < threads) {
      // Fewer rows than threads (one sequence's step): each row over all threads, in one region.
      std::vector<HostHistogram> histograms(static_cast<std::size_t>(2 * threads));
      std::vector<double> thread_max(static_cast<std::size_t>(threads)), partial(sampling_chunks);
      std::vector<ValueIndex> thread_best(static_cast<std::size_t>(threads));
      const HostRowShared shared{histograms.data(), threads, thread_max.data(), thread_best.data(), partial.data()};
#pragma omp parallel num_threads(threads)
      {
        const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int row = 0; row < rows; ++row) sample_row_host(row_of(row), p, V, tid, nt, shared, [] {
#pragma omp barrier
        });
      }
      return;
    }
  }
#endif
  Kokkos::parallel_for(
      "rwkv::sample_tokens", Kokkos::RangePolicy<ExecSpace>(space, 0, rows), [=](int row) {
        std::vector<HostHistogram> histogram(1);
        double thread_max, partial[sampling_chunks];
        ValueIndex thread_best;
        const HostRowShared shared{histogram.data(), 0, &thread_max, &thread_best, partial};
        sample_row_host(row_of(row), p, V, 0, 1, shared, [] {});
      });
}

// Writes tokens[r] when tokens is not empty, probs[r, :] when probs is not empty, and adds 1 to
// record(r, tokens[r]) when record is not empty.
template <class ExecSpace, class Scalar, class Uniform>
void sample_rows(const ExecSpace& space, const Vector<ExecSpace, int>& tokens, const Matrix<ExecSpace, Scalar>& probs,
                 ConstMatrix<ExecSpace, Scalar> logits, ConstMatrix<ExecSpace, int> counts, const SamplerConfig& config,
                 const Uniform& uniform, const Matrix<ExecSpace, double>& weights,
                 const Matrix<ExecSpace, int>& record = Matrix<ExecSpace, int>()) {
  const int V = int(logits.extent(1));
  const bool penalize = counts.extent(0) > 0 && (config.presence_penalty != 0 || config.frequency_penalty != 0);
  const SamplingParams p = sampling_params<ExecSpace, Scalar>(config, V, penalize, tokens.extent(0) > 0,
                                                              probs.extent(0) > 0, record.extent(0) > 0);
  if constexpr (host_fast_path<ExecSpace>)
    sample_rows_host(space, tokens, probs, logits, counts, record, p, uniform, weights);
  else
    sample_rows_team(space, tokens, probs, logits, counts, record, p, uniform, weights);
}

// Throws std::invalid_argument(message) unless ok: the entry points' shape checks.
void require(bool ok, const char* message);

template <class ExecSpace, class Scalar>
void check_shapes(const char* message, ConstMatrix<ExecSpace, Scalar> logits, ConstMatrix<ExecSpace, int> counts,
                  const Matrix<ExecSpace, double>& weights) {
  const std::size_t rows = logits.extent(0), V = logits.extent(1);
  require(V > 0 && weights.extent(0) >= rows && weights.extent(1) == V &&
              (counts.extent(0) == 0 || (counts.extent(0) == rows && counts.extent(1) == V)),
          message);
}

}  // namespace detail

// probs[r, t]: the probability the draw gives token t in row r, after penalties, temperature and
// every filter, renormalized (0 for a dropped token; at temperature 0, 1 for the greedy token).
// counts [rows, V] or empty (no penalties); weights: scratch [rows, V].
template <class ExecSpace, class Scalar>
void sampling_probabilities(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& probs,
                            ConstMatrix<ExecSpace, Scalar> logits, ConstMatrix<ExecSpace, int> counts,
                            const SamplerConfig& config, const Matrix<ExecSpace, double>& weights) {
  validate(config);
  detail::check_shapes<ExecSpace, Scalar>(
      "sampling_probabilities: need logits [rows, V > 0], probs [rows, V], counts [rows, V] or empty, "
      "weights [>= rows, V]",
      logits, counts, weights);
  detail::require(probs.extent(0) == logits.extent(0) && probs.extent(1) == logits.extent(1),
                  "sampling_probabilities: probs must have the shape of logits");
  detail::sample_rows(space, Vector<ExecSpace, int>(), probs, logits, counts, config, detail::UniformValue{0.0},
                      weights);
}

// tokens[r]: the token drawn for row r with uniforms[r] in [0, 1). Rows are independent sequences
// (continuous batching); all share the config. counts [rows, V] or empty; weights: scratch [rows, V].
template <class ExecSpace, class Scalar>
void sample_tokens(const ExecSpace& space, const Vector<ExecSpace, int>& tokens, ConstMatrix<ExecSpace, Scalar> logits,
                   ConstMatrix<ExecSpace, int> counts, const SamplerConfig& config,
                   ConstVector<ExecSpace, double> uniforms, const Matrix<ExecSpace, double>& weights) {
  validate(config);
  detail::check_shapes<ExecSpace, Scalar>(
      "sample_tokens: need logits [rows, V > 0], counts [rows, V] or empty, weights [>= rows, V]", logits, counts,
      weights);
  detail::require(tokens.extent(0) >= logits.extent(0) && uniforms.extent(0) >= logits.extent(0),
                  "sample_tokens: tokens and uniforms need one element per row");
  detail::sample_rows(space, tokens, Matrix<ExecSpace, Scalar>(), logits, counts, config,
                      detail::UniformFromView<ExecSpace>{uniforms}, weights);
}

namespace detail {

// sample_token, which also adds 1 to record[token] when record is not empty (the Sampler's counts:
// no kernel of its own).
template <class ExecSpace, class Scalar>
int sample_one(const ExecSpace& space, ConstVector<ExecSpace, Scalar> logits, ConstVector<ExecSpace, int> counts,
               const SamplerConfig& config, double uniform, const Vector<ExecSpace, double>& weights,
               const Vector<ExecSpace, int>& token, const Vector<ExecSpace, int>& record) {
  validate(config);
  const std::size_t V = logits.extent(0);
  require(V > 0 && (counts.extent(0) == 0 || counts.extent(0) == V) && weights.extent(0) == V &&
              token.extent(0) > 0 && uniform >= 0 && uniform < 1 && (record.extent(0) == 0 || record.extent(0) == V),
          "sample_token: need logits [V > 0], counts [V] or empty, weights [V], token [>= 1], "
          "uniform in [0, 1)");
  // The same memory seen as one-row matrices.
  const ConstMatrix<ExecSpace, Scalar> logits_rows(logits.data(), 1, V);
  const ConstMatrix<ExecSpace, int> count_rows(counts.data(), counts.extent(0) > 0 ? 1 : 0, counts.extent(0));
  const Matrix<ExecSpace, double> weight_rows(weights.data(), 1, V);
  const Matrix<ExecSpace, int> record_rows(record.data(), record.extent(0) > 0 ? 1 : 0, record.extent(0));
  sample_rows(space, token, Matrix<ExecSpace, Scalar>(), logits_rows, count_rows, config, UniformValue{uniform},
              weight_rows, record_rows);
  int chosen;
  Kokkos::deep_copy(space, Kokkos::View<int, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(&chosen),
                    Kokkos::subview(token, 0));
  space.fence();
  return chosen;
}

}  // namespace detail

// One sequence: the token drawn with uniform in [0, 1), copied to the host (the only transfer).
// counts [V] or empty; weights: scratch [V]; token: device scratch of one element.
template <class ExecSpace, class Scalar>
int sample_token(const ExecSpace& space, ConstVector<ExecSpace, Scalar> logits, ConstVector<ExecSpace, int> counts,
                 const SamplerConfig& config, double uniform, const Vector<ExecSpace, double>& weights,
                 const Vector<ExecSpace, int>& token) {
  return detail::sample_one<ExecSpace, Scalar>(space, logits, counts, config, uniform, weights, token,
                                               Vector<ExecSpace, int>());
}

// counts[token] += 1: the history the penalties read, kept on the device.
template <class ExecSpace>
void record_token(const ExecSpace& space, const Vector<ExecSpace, int>& counts, int token) {
  Kokkos::parallel_for(
      "rwkv::record_token", Kokkos::RangePolicy<ExecSpace>(space, 0, 1), KOKKOS_LAMBDA(int) { counts(token) += 1; });
}

// counts[r, tokens[r]] += 1 for every row r.
template <class ExecSpace>
void record_tokens(const ExecSpace& space, const Matrix<ExecSpace, int>& counts, ConstVector<ExecSpace, int> tokens) {
  Kokkos::parallel_for(
      "rwkv::record_tokens", Kokkos::RangePolicy<ExecSpace>(space, 0, int(tokens.extent(0))),
      KOKKOS_LAMBDA(int r) { counts(r, tokens(r)) += 1; });
}

// Sampling for `slots` sequences side by side, with scratch allocated once. Each slot has its own
// token counts (every sampled token is recorded; the penalties read them) and its own stream of
// uniforms, slot s seeded with seed + s until restart() reseeds it.
template <class ExecSpace, class Scalar>
class Sampler {
 public:
  Sampler(const ExecSpace& space, int vocab_size, const SamplerConfig& config, std::uint64_t seed, int slots = 1);

  // The next token of the sequence in `slot` from its logits [V].
  int sample(ConstVector<ExecSpace, Scalar> logits, int slot = 0);
  // The next token of every slot from logits [slots, V]: one kernel, one copy of `slots` ids.
  std::vector<int> sample_batch(ConstMatrix<ExecSpace, Scalar> logits);

  // A new sequence in the slot: no tokens counted, the stream reseeded.
  void restart(int slot, std::uint64_t seed);
  const SamplerConfig& config() const { return config_; }
  void set_config(const SamplerConfig& config);
  // Saving and restoring a stream continues a generation exactly.
  const UniformStream& stream(int slot) const { return streams_.at(std::size_t(slot)); }
  void set_stream(int slot, const UniformStream& stream) { streams_.at(std::size_t(slot)) = stream; }
  // Token counts [slots, V]; a caller may add a prompt's tokens.
  const Matrix<ExecSpace, int>& counts() const { return counts_; }

 private:
  ExecSpace space_;
  SamplerConfig config_;
  int vocab_size_;
  std::vector<UniformStream> streams_;
  Matrix<ExecSpace, int> counts_;
  Matrix<ExecSpace, double> weights_;
  Vector<ExecSpace, int> tokens_;
  Vector<ExecSpace, double> uniforms_;
  typename Vector<ExecSpace, int>::host_mirror_type tokens_host_;
  typename Vector<ExecSpace, double>::host_mirror_type uniforms_host_;
};

template <class ExecSpace, class Scalar>
Sampler<ExecSpace, Scalar>::Sampler(const ExecSpace& space, int vocab_size, const SamplerConfig& config,
                                    std::uint64_t seed, int slots)
    : space_(space),
      config_(config),
      vocab_size_(vocab_size),
      counts_("rwkv::Sampler::counts", slots, vocab_size),
      weights_(Kokkos::view_alloc(Kokkos::WithoutInitializing, "rwkv::Sampler::weights"), slots, vocab_size),
      tokens_("rwkv::Sampler::tokens", slots),
      uniforms_("rwkv::Sampler::uniforms", slots),
      tokens_host_(Kokkos::create_mirror_view(tokens_)),
      uniforms_host_(Kokkos::create_mirror_view(uniforms_)) {
  detail::require(vocab_size > 0 && slots > 0, "Sampler: vocab_size and slots must be positive");
  validate(config);
  for (int s = 0; s < slots; ++s) streams_.emplace_back(seed + std::uint64_t(s));
}

template <class ExecSpace, class Scalar>
int Sampler<ExecSpace, Scalar>::sample(ConstVector<ExecSpace, Scalar> logits, int slot) {
  detail::require(slot >= 0 && std::size_t(slot) < streams_.size(), "Sampler::sample: slot out of range");
  detail::require(logits.extent(0) == std::size_t(vocab_size_), "Sampler::sample: logits must have vocab_size elements");
  const auto row = [&](const auto& m) { return Kokkos::subview(m, slot, Kokkos::ALL); };
  // The kernel records the token in the counts it read them from, after reading them.
  return detail::sample_one<ExecSpace, Scalar>(space_, logits, row(counts_), config_, streams_[std::size_t(slot)].next(),
                                               row(weights_), Kokkos::subview(tokens_, Kokkos::make_pair(slot, slot + 1)),
                                               row(counts_));
}

template <class ExecSpace, class Scalar>
std::vector<int> Sampler<ExecSpace, Scalar>::sample_batch(ConstMatrix<ExecSpace, Scalar> logits) {
  const int slots = int(streams_.size());
  detail::require(logits.extent(0) == std::size_t(slots) && logits.extent(1) == std::size_t(vocab_size_),
                  "Sampler::sample_batch: logits must be [slots, vocab_size]");
  for (int s = 0; s < slots; ++s) uniforms_host_(s) = streams_[std::size_t(s)].next();
  Kokkos::deep_copy(space_, uniforms_, uniforms_host_);
  validate(config_);
  detail::sample_rows(space_, tokens_, Matrix<ExecSpace, Scalar>(), logits, counts_, config_,
                      detail::UniformFromView<ExecSpace>{uniforms_}, weights_, counts_);
  Kokkos::deep_copy(space_, tokens_host_, tokens_);
  space_.fence();
  return std::vector<int>(tokens_host_.data(), tokens_host_.data() + slots);
}

template <class ExecSpace, class Scalar>
void Sampler<ExecSpace, Scalar>::restart(int slot, std::uint64_t seed) {
  detail::require(slot >= 0 && std::size_t(slot) < streams_.size(), "Sampler::restart: slot out of range");
  Kokkos::deep_copy(space_, Kokkos::subview(counts_, slot, Kokkos::ALL), 0);
  streams_[std::size_t(slot)] = UniformStream(seed);
}

template <class ExecSpace, class Scalar>
void Sampler<ExecSpace, Scalar>::set_config(const SamplerConfig& config) {
  validate(config);
  config_ = config;
}

#define RWKV_SAMPLING_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                             \
  PREFIX template void sampling_probabilities<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,            \
                                                             ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, int>,   \
                                                             const SamplerConfig&, const Matrix<SPACE, double>&);   \
  PREFIX template void sample_tokens<SPACE, SCALAR>(const SPACE&, const Vector<SPACE, int>&,                        \
                                                    ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, int>,            \
                                                    const SamplerConfig&, ConstVector<SPACE, double>,               \
                                                    const Matrix<SPACE, double>&);                                  \
  PREFIX template int sample_token<SPACE, SCALAR>(const SPACE&, ConstVector<SPACE, SCALAR>, ConstVector<SPACE, int>, \
                                                  const SamplerConfig&, double, const Vector<SPACE, double>&,       \
                                                  const Vector<SPACE, int>&);                                       \
  PREFIX template class Sampler<SPACE, SCALAR>;

// The kernels that do not depend on the scalar; SCALAR is unused.
#define RWKV_TOKEN_COUNTS_INSTANTIATE(PREFIX, SPACE, SCALAR)                                    \
  PREFIX template void record_token<SPACE>(const SPACE&, const Vector<SPACE, int>&, int);      \
  PREFIX template void record_tokens<SPACE>(const SPACE&, const Matrix<SPACE, int>&, ConstVector<SPACE, int>);

#define RWKV_SAMPLING_EXTERN(SPACE, SCALAR) RWKV_SAMPLING_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_SAMPLING_EXTERN)
#undef RWKV_SAMPLING_EXTERN
#define RWKV_TOKEN_COUNTS_EXTERN(SPACE, SCALAR) RWKV_TOKEN_COUNTS_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE(RWKV_TOKEN_COUNTS_EXTERN, int)
#undef RWKV_TOKEN_COUNTS_EXTERN

}  // namespace rwkv
