// The two paths of sampling.hpp's kernel over rows of logits: the device path (a team per row,
// histograms in team scratch) and the host fast path (plain loops over raw pointers, all threads on
// one row or a thread per row). Both compute the same thresholds from the same exact sums
// (sampling_select.hpp), so they draw the same tokens.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/sampling_select.hpp>

#if defined(RWKV_OPENMP_LOOPS)
#include <omp.h>
#endif

#include <cfloat>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace rwkv::detail {

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
                               [&](int t) { w(t) = arithmetic_exp((w(t) - z_max) / p.temperature); });
          team.team_barrier();
        } else {
          // Level 0 of the radix select, and S, in the same pass.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, V), [&](int t) {
            const double x = arithmetic_exp((w(t) - z_max) / p.temperature);
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

// The weights of a thread's range in a select's level-0 bucket, as bits, gathered in one pass so
// that the select's later passes read these instead of the range (most weights leave at level 0);
// a bucket of more than the capacity is read from the range as before.
inline constexpr int radix_candidate_capacity = 2048;

struct HostCandidates {
  std::uint64_t bits[radix_candidate_capacity];
  int size;
  bool complete;
};

// What the threads of one row share: per thread, a histogram for even and one for odd passes (a
// thread still reading the last pass's sums never sees the next pass's), its candidates for the two
// selects, its max and its greedy pick; the chunks' partial sums.
struct HostRowShared {
  HostHistogram* histograms;  // [2 * parity_stride] (parity_stride 0 for one thread)
  int parity_stride;
  HostCandidates* candidates;  // [2 * threads]: each thread's for top-k, then for top-p
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
  // z' and its max in loops of their own, so that each vectorizes.
  if (r.counts) {
    RWKV_HOST_SIMD
    for (int t = begin; t < end; ++t) {
      const int c = r.counts[t];
      w[t] = double(r.z[t]) - (c > 0 ? p.presence + p.frequency * double(c) : 0.0);
    }
  } else {
    RWKV_HOST_SIMD
    for (int t = begin; t < end; ++t) w[t] = double(r.z[t]);
  }
  double m = -DBL_MAX;  // Kokkos::Max's identity, as the device path
  RWKV_HOST_SIMD_REDUCTION(max : m)
  for (int t = begin; t < end; ++t) m = max_of(m, w[t]);
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
  // A loop of its own, so that the exp vectorizes (the library's is a scalar call: most of the
  // sampling time, docs/PERFORMANCE.md#sampling).
  RWKV_HOST_SIMD
  for (int t = begin; t < end; ++t) w[t] = arithmetic_exp((w[t] - z_max) / T);
  if (p.histogram()) {
    HostHistogram& h = histogram_of(tid);
    h.clear();
    for (int t = begin; t < end; ++t) {
      const double x = w[t];
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
  HostCandidates& k_candidates = sh.candidates[2 * tid];
  HostCandidates& p_candidates = sh.candidates[2 * tid + 1];
  k_candidates.size = p_candidates.size = 0;
  k_candidates.complete = p_candidates.complete = true;
  if (!sk.done || !sp.done) {
    const std::uint64_t none = ~std::uint64_t(0);  // no weight's exponent (weights are at most 1)
    const std::uint64_t k_bucket = sk.done ? none : sk.prefix, p_bucket = sp.done ? none : sp.prefix;
    const auto keep = [](HostCandidates& c, std::uint64_t bits) {
      if (c.size < radix_candidate_capacity)
        c.bits[c.size++] = bits;
      else
        c.complete = false;
    };
    for (int t = begin; t < end; ++t) {
      const std::uint64_t bits = bits_of(w[t]);
      if ((bits >> 52) == k_bucket) keep(k_candidates, bits);
      if ((bits >> 52) == p_bucket) keep(p_candidates, bits);
    }
  }
  const auto refine = [&](RadixSelect& s, const HostCandidates& candidates, const auto& test) {
    while (!s.done) {
      ++pass;  // the other parity: no thread reads it any more
      HostHistogram& h = histogram_of(tid);
      h.clear();
      const int shift = radix_shift(s.level - 1);
      const auto count = [&](std::uint64_t bits) {
        if ((bits >> shift) != s.prefix) return;
        const int b = radix_digit(bits, s.level);
        h.count[b] += 1;
        add_to(h.mass[b], fixed_of(double_of(bits)));
        h.lowest = min_of(h.lowest, bits);
        h.highest = max_of(h.highest, bits);
      };
      if (candidates.complete) {
        for (int i = 0; i < candidates.size; ++i) count(candidates.bits[i]);
      } else {
        for (int t = begin; t < end; ++t) count(bits_of(w[t]));
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
  refine(sk, k_candidates, test_k);
  refine(sp, p_candidates, test_p);
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
      std::vector<HostCandidates> candidates(static_cast<std::size_t>(2 * threads));
      std::vector<double> thread_max(static_cast<std::size_t>(threads)), partial(sampling_chunks);
      std::vector<ValueIndex> thread_best(static_cast<std::size_t>(threads));
      const HostRowShared shared{histograms.data(),  threads,           candidates.data(),
                                 thread_max.data(),  thread_best.data(), partial.data()};
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
        std::vector<HostCandidates> candidates(2);
        double thread_max, partial[sampling_chunks];
        ValueIndex thread_best;
        const HostRowShared shared{histogram.data(), 0, candidates.data(), &thread_max, &thread_best, partial};
        sample_row_host(row_of(row), p, V, 0, 1, shared, [] {});
      });
}

}  // namespace rwkv::detail
