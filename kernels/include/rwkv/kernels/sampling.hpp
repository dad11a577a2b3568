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
// The kernels: sampling_rows.hpp (the two paths), sampling_select.hpp (the parts they share).
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/sampling_rows.hpp>

#include <cstdint>
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
