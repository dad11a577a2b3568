#include "test_support.hpp"

#include <rwkv/kernels/sampling.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;

// Plain double reference of the definition in sampling.hpp, by sorting: the renormalized
// probabilities after penalties, temperature and the filters.
std::vector<double> reference_probabilities(const std::vector<double>& logits, const std::vector<int>& counts,
                                            const SamplerConfig& c) {
  const std::size_t V = logits.size();
  std::vector<double> z = logits;
  for (std::size_t t = 0; t < V; ++t)
    if (!counts.empty() && counts[t] > 0) z[t] -= c.presence_penalty + c.frequency_penalty * counts[t];
  const double z_max = *std::max_element(z.begin(), z.end());
  std::vector<double> q(V, 0.0);
  if (c.temperature == 0) {
    q[std::size_t(std::find(z.begin(), z.end(), z_max) - z.begin())] = 1;
    return q;
  }
  std::vector<double> p(V);
  double sum = 0;
  for (std::size_t t = 0; t < V; ++t) sum += p[t] = std::exp((z[t] - z_max) / c.temperature);
  for (double& x : p) x /= sum;
  std::vector<double> sorted = p;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  std::vector<bool> keep(V, true);
  if (c.top_k > 0 && std::size_t(c.top_k) < V)
    for (std::size_t t = 0; t < V; ++t) keep[t] = keep[t] && p[t] >= sorted[std::size_t(c.top_k) - 1];
  if (c.top_p < 1) {
    std::size_t last = 0;  // the smallest prefix of the sorted list with mass >= top_p
    for (double mass = sorted[0]; mass < c.top_p && last + 1 < V; mass += sorted[++last]) {
    }
    for (std::size_t t = 0; t < V; ++t)
      keep[t] = keep[t] && (p[t] >= sorted[last] || (c.top_p_x > 0 && p[t] > c.top_p_x));
  }
  if (c.top_a > 0) {
    const double cut = std::min(sorted[0], c.top_a * std::pow(sorted[0], c.top_a_power));
    for (std::size_t t = 0; t < V; ++t) keep[t] = keep[t] && p[t] >= cut;
  }
  double kept = 0;
  for (std::size_t t = 0; t < V; ++t) kept += keep[t] ? p[t] : 0;
  for (std::size_t t = 0; t < V; ++t) q[t] = keep[t] ? p[t] / kept : 0;
  return q;
}

// The token that uniform u picks from q by the inverse CDF, in the draw order of sampling.hpp
// (chunk c = t mod 256 in order, and within a chunk by t; plain index order for V <= 256).
// Sets `near` when u lies within 1e-9 of a step, where rounding may pick the neighbour.
int reference_draw(const std::vector<double>& q, double u, bool& near) {
  const int V = int(q.size());
  double cum = 0;
  int last = -1;
  near = false;
  for (int c = 0; c < detail::sampling_chunks; ++c) {
    for (int t = c; t < V; t += detail::sampling_chunks) {
      if (q[t] == 0) continue;
      cum += q[t];
      last = t;
      if (std::abs(cum - u) < 1e-9) near = true;
      if (cum > u) return t;
    }
  }
  return last;
}

template <class Scalar>
std::vector<double> rounded_to(const std::vector<double>& x) {
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) r[i] = double(Scalar(x[i]));
  return r;
}

template <class Space, class Scalar>
Matrix<Space, Scalar> logits_on_device(const std::vector<std::vector<double>>& rows) {
  HostMatrix<Scalar> h("logits", rows.size(), rows[0].size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t t = 0; t < rows[r].size(); ++t) h(r, t) = Scalar(rows[r][t]);
  return to_device<Space>(h);
}

HostMatrix<int> counts_on_host(const std::vector<std::vector<int>>& rows, std::size_t V) {
  HostMatrix<int> h("counts", rows.empty() || rows[0].empty() ? 0 : rows.size(), V);
  for (std::size_t r = 0; r < h.extent(0); ++r)
    for (std::size_t t = 0; t < V; ++t) h(r, t) = rows[r][t];
  return h;
}

// One row of logits (and counts, possibly none) on the device, with the scratch the kernels need,
// made once for many calls.
template <class Space, class Scalar>
struct DeviceRow {
  Space space;
  Vector<Space, Scalar> logits;
  Vector<Space, int> counts;
  Vector<Space, double> weights;
  Vector<Space, int> token;
  Matrix<Space, Scalar> probs;

  DeviceRow(const std::vector<double>& z, const std::vector<int>& c)
      : weights("weights", z.size()), token("token", 1), probs("probs", 1, z.size()) {
    HostVector<Scalar> zh("logits", z.size());
    for (std::size_t t = 0; t < z.size(); ++t) zh(t) = Scalar(z[t]);
    logits = to_device<Space>(zh);
    HostVector<int> ch("counts", c.size());
    std::copy(c.begin(), c.end(), ch.data());
    counts = to_device<Space>(ch);
  }

  // sampling_probabilities on this row, as doubles on the host.
  std::vector<double> probabilities(const SamplerConfig& c) {
    const std::size_t V = logits.extent(0);
    const ConstMatrix<Space, Scalar> rows(logits.data(), 1, V);
    const ConstMatrix<Space, int> count_rows(counts.data(), counts.extent(0) > 0 ? 1 : 0, counts.extent(0));
    const Matrix<Space, double> weight_rows(weights.data(), 1, V);
    sampling_probabilities(space, probs, rows, count_rows, c, weight_rows);
    space.fence();
    return as_doubles(to_host(probs));
  }

  int sample(const SamplerConfig& c, double u) {
    return sample_token<Space, Scalar>(space, logits, counts, c, u, weights, token);
  }
};

std::vector<double> random_logits(std::size_t V, std::uint64_t seed, double spread) {
  HostVector<double> h("z", V);
  fill_uniform(h, seed, -spread, spread);
  return as_doubles(h);
}

std::vector<int> random_counts(std::size_t V, std::uint64_t seed) {
  HostVector<double> h("c", V);
  fill_uniform(h, seed, -3.0, 4.0);  // about 40% of the tokens unseen
  std::vector<int> c(V);
  for (std::size_t t = 0; t < V; ++t) c[t] = std::max(0, int(h(t)));
  return c;
}

SamplerConfig make(std::function<void(SamplerConfig&)> set) {
  SamplerConfig c;
  set(c);
  return c;
}

// The configurations the filter tests run: each filter alone, then together.
std::vector<SamplerConfig> filter_configs(int V) {
  return {
      make([](SamplerConfig&) {}),
      make([](SamplerConfig& c) { c.temperature = 0.5; }),
      make([](SamplerConfig& c) { c.temperature = 2.0; }),
      make([](SamplerConfig& c) { c.top_k = 1; }),
      make([](SamplerConfig& c) { c.top_k = 3; }),
      make([&](SamplerConfig& c) { c.top_k = std::max(1, V / 3); }),
      make([](SamplerConfig& c) { c.top_p = 0.3; }),
      make([](SamplerConfig& c) { c.top_p = 0.9; }),
      make([](SamplerConfig& c) { c.top_a = 0.2; }),
      make([](SamplerConfig& c) {
        c.top_a = 0.02;
        c.top_a_power = 1.0;
      }),
      make([](SamplerConfig& c) { c.top_a = 3.0; }),
      make([](SamplerConfig& c) {
        c.top_p = 0.5;
        c.top_p_x = 0.05;
      }),
      make([](SamplerConfig& c) {
        c.top_p = 0.2;
        c.top_p_x = 1e-5;
      }),
      make([](SamplerConfig& c) {
        c.temperature = 0.8;
        c.top_k = 5;
        c.top_p = 0.9;
        c.top_a = 0.1;
      }),
      make([](SamplerConfig& c) { c.temperature = 0; }),
      make([](SamplerConfig& c) {
        c.temperature = 0;
        c.top_k = 2;
        c.top_p = 0.1;
      }),
  };
}

int count_kept(const std::vector<double>& q) {
  return int(std::count_if(q.begin(), q.end(), [](double x) { return x > 0; }));
}

// sampling_probabilities on every configuration against the reference, on logits rounded to Scalar.
template <class Space, class Scalar>
void check_against_reference(const std::vector<double>& logits, const std::vector<int>& counts,
                             const std::vector<SamplerConfig>& configs, double rtol) {
  const auto z = rounded_to<Scalar>(logits);
  DeviceRow<Space, Scalar> row(z, counts);
  for (const SamplerConfig& c : configs) {
    CAPTURE(z.size(), c.temperature, c.top_k, c.top_p, c.top_a, c.top_a_power, c.top_p_x, c.presence_penalty,
            c.frequency_penalty);
    const auto want = reference_probabilities(z, counts, c);
    const auto got = row.probabilities(c);
    int wrong_set = 0, wrong_value = 0;
    for (std::size_t t = 0; t < z.size(); ++t) {
      wrong_set += (got[t] > 0) != (want[t] > 0);
      wrong_value += !close(got[t], want[t], rtol, 0.0);
    }
    CAPTURE(count_kept(want), count_kept(got));
    CHECK(wrong_set == 0);
    CHECK(wrong_value == 0);
  }
}

// Bound on a chi-square statistic with `df` degrees of freedom that a correct sampler exceeds with
// probability 1e-3 (Wilson-Hilferty, z = 3.09).
double chi_square_bound(int df) {
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + 3.09 * std::sqrt(a), 3);
}

}  // namespace

TEST_CASE("SamplerConfig validation names the field and the value", "[sampling]") {
  const auto rejects = [](std::function<void(SamplerConfig&)> set, const char* field) {
    CAPTURE(field);
    CHECK_THROWS_WITH(validate(make(set)), Catch::Contains(field));
  };
  CHECK_NOTHROW(validate(SamplerConfig{}));
  rejects([](SamplerConfig& c) { c.temperature = -0.5; }, "temperature = -0.5");
  rejects([](SamplerConfig& c) { c.temperature = NAN; }, "temperature");
  rejects([](SamplerConfig& c) { c.top_k = -1; }, "top_k = -1");
  rejects([](SamplerConfig& c) { c.top_p = 0; }, "top_p = 0");
  rejects([](SamplerConfig& c) { c.top_p = 1.5; }, "top_p = 1.5");
  rejects([](SamplerConfig& c) { c.top_a = -0.1; }, "top_a = -0.1");
  rejects([](SamplerConfig& c) { c.top_a_power = 0; }, "top_a_power = 0");
  rejects([](SamplerConfig& c) { c.top_p_x = 1; }, "top_p_x = 1");
  rejects([](SamplerConfig& c) { c.presence_penalty = INFINITY; }, "presence_penalty");
  rejects([](SamplerConfig& c) { c.frequency_penalty = NAN; }, "frequency_penalty");
}

TEST_CASE("UniformStream is seeded and resumes from its seed and position", "[sampling]") {
  UniformStream a(7), b(7), c(8);
  std::vector<double> first;
  double sum = 0;
  for (int i = 0; i < 4000; ++i) {
    const double u = a.next();
    CHECK((u >= 0 && u < 1));
    CHECK(u == b.next());
    if (i < 10) first.push_back(u);
    sum += u;
  }
  CHECK(std::abs(sum / 4000 - 0.5) < 4 * std::sqrt(1.0 / 12 / 4000));
  int same = 0;
  for (int i = 0; i < 10; ++i) same += UniformStream(8, std::uint64_t(i)).next() == first[std::size_t(i)];
  CHECK(same == 0);
  UniformStream resumed(a.seed(), a.position());
  CHECK(resumed.next() == a.next());
  CHECK(c.next() != UniformStream(7).next());
}

TEMPLATE_LIST_TEST_CASE("sampling_probabilities matches each filter's definition", "[sampling]", Spaces) {
  using Space = TestType;
  for (const std::size_t V : {std::size_t(1), std::size_t(7), std::size_t(50277)}) {
    const auto logits = random_logits(V, 100 + V, V > 100 ? 6.0 : 3.0);
    check_against_reference<Space, double>(logits, {}, filter_configs(int(V)), 1e-12);
    // The float run computes in double from float logits; only the output is rounded to float.
    check_against_reference<Space, float>(logits, {}, filter_configs(int(V)), 1.2e-7);
  }
}

TEMPLATE_LIST_TEST_CASE("sampling_probabilities applies the presence and frequency penalties", "[sampling]", Spaces) {
  using Space = TestType;
  for (const std::size_t V : {std::size_t(7), std::size_t(50277)}) {
    const auto logits = random_logits(V, 200 + V, 3.0);
    const auto counts = random_counts(V, 300 + V);
    std::vector<SamplerConfig> positive = filter_configs(int(V)), negative = positive;
    for (SamplerConfig& c : positive) {
      c.presence_penalty = 0.7;
      c.frequency_penalty = 0.4;
    }
    for (SamplerConfig& c : negative) {
      c.presence_penalty = -0.3;  // negative penalties favour repeats
      c.frequency_penalty = 0.9;
    }
    check_against_reference<Space, double>(logits, counts, positive, 1e-12);
    check_against_reference<Space, float>(logits, counts, negative, 1.2e-7);
    // Without counts, or with all counts zero, the penalties change nothing.
    SamplerConfig c;
    c.presence_penalty = 2;
    c.frequency_penalty = 2;
    const auto plain = DeviceRow<Space, double>(logits, {}).probabilities(SamplerConfig{});
    CHECK(DeviceRow<Space, double>(logits, {}).probabilities(c) == plain);
    CHECK(DeviceRow<Space, double>(logits, std::vector<int>(V, 0)).probabilities(c) == plain);
  }
}

TEMPLATE_LIST_TEST_CASE("equal probabilities at a boundary are kept together", "[sampling]", Spaces) {
  using Space = TestType;
  // Tokens 1, 3, 5 share the largest p (about 0.249 each); tokens 2 and 6 the next.
  const std::vector<double> z = {0.5, 2, 1, 2, -1, 2, 1};
  const auto kept = [&](std::function<void(SamplerConfig&)> set) {
    const auto q = DeviceRow<Space, double>(z, {}).probabilities(make(set));
    std::vector<int> ids;
    for (std::size_t t = 0; t < q.size(); ++t)
      if (q[t] > 0) ids.push_back(int(t));
    return ids;
  };
  CHECK(kept([](SamplerConfig& c) { c.top_k = 1; }) == std::vector<int>{1, 3, 5});
  CHECK(kept([](SamplerConfig& c) { c.top_k = 4; }) == std::vector<int>{1, 2, 3, 5, 6});
  // Two tokens would hold the mass 0.3, but the third has the same p.
  CHECK(kept([](SamplerConfig& c) { c.top_p = 0.3; }) == std::vector<int>{1, 3, 5});
  CHECK(kept([](SamplerConfig& c) { c.top_p = 0.8; }) == std::vector<int>{1, 2, 3, 5, 6});
  // Greedy picks the lowest id among equal maxima.
  for (const double u : {0.0, 0.5, 0.999}) {
    CHECK(DeviceRow<Space, double>(z, {}).sample(make([](SamplerConfig& c) { c.temperature = 0; }), u) == 1);
  }
}

TEMPLATE_LIST_TEST_CASE("sample_token draws by the inverse CDF of the kept probabilities", "[sampling]", Spaces) {
  using Space = TestType;
  for (const std::size_t V : {std::size_t(1), std::size_t(7), std::size_t(50277)}) {
    const auto logits = random_logits(V, 400 + V, V > 100 ? 6.0 : 2.0);
    const auto counts = random_counts(V, 500 + V);
    DeviceRow<Space, double> row(logits, counts);
    for (SamplerConfig c : filter_configs(int(V))) {
      c.presence_penalty = 0.25;
      CAPTURE(V, c.temperature, c.top_k, c.top_p, c.top_a, c.top_p_x);
      const auto q = reference_probabilities(logits, counts, c);
      const int draws = V > 100 ? 9 : 41;  // the large row costs a millisecond per draw on one core
      int wrong = 0, checked = 0;
      for (int i = 0; i < draws; ++i) {
        const double u = (i + 0.5) / draws;
        bool near;
        const int want = reference_draw(q, u, near);
        if (near) continue;
        ++checked;
        wrong += row.sample(c, u) != want;
      }
      CHECK(checked >= draws - 2);
      CHECK(wrong == 0);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("draw frequencies match the renormalized probabilities", "[sampling]", Spaces) {
  using Space = TestType;
  const std::size_t V = 13, draws = 20000;
  const auto logits = random_logits(V, 600, 1.5);
  SamplerConfig c;
  c.temperature = 0.9;
  c.top_k = 10;
  c.top_p = 0.9;
  const auto q = reference_probabilities(rounded_to<float>(logits), {}, c);
  // One row per draw: the batched kernel, each row with its own uniform.
  Space space;
  const auto ld = logits_on_device<Space, float>(std::vector<std::vector<double>>(draws, logits));
  HostVector<double> uh("uniforms", draws);
  UniformStream stream(2024);
  for (std::size_t i = 0; i < draws; ++i) uh(i) = stream.next();
  const auto ud = to_device<Space>(uh);
  Vector<Space, int> tokens("tokens", draws);
  Matrix<Space, double> weights("weights", draws, V);
  sample_tokens<Space, float>(space, tokens, ld, Matrix<Space, int>(), c, ud, weights);
  space.fence();
  const auto th = to_host(tokens);
  std::vector<int> seen(V, 0);
  for (std::size_t i = 0; i < draws; ++i) seen[std::size_t(th(i))] += 1;
  double chi2 = 0;
  int kept = 0, dropped_seen = 0;
  for (std::size_t t = 0; t < V; ++t) {
    if (q[t] == 0) {
      dropped_seen += seen[t];
      continue;
    }
    const double expected = q[t] * draws;
    chi2 += (seen[t] - expected) * (seen[t] - expected) / expected;
    ++kept;
  }
  CAPTURE(kept, chi2, seen);
  CHECK(kept >= 5);
  CHECK(kept < int(V));
  CHECK(dropped_seen == 0);
  CHECK(chi2 < chi_square_bound(kept - 1));
}

TEMPLATE_LIST_TEST_CASE("sample_tokens draws each row as sample_token does", "[sampling]", Spaces) {
  using Space = TestType;
  for (const std::size_t V : {std::size_t(7), std::size_t(50277)}) {
    const int rows = 5;
    std::vector<std::vector<double>> logits;
    std::vector<std::vector<int>> counts;
    for (int r = 0; r < rows; ++r) {
      logits.push_back(random_logits(V, 700 + V + r, 3.0));
      counts.push_back(random_counts(V, 800 + V + r));
    }
    SamplerConfig c;
    c.top_p = 0.8;
    c.top_k = 4;
    c.frequency_penalty = 0.5;
    Space space;
    const auto ld = logits_on_device<Space, float>(logits);
    const auto cd = to_device<Space>(counts_on_host(counts, V));
    HostVector<double> uh("uniforms", rows);
    fill_uniform(uh, 900 + V, 0.0, 1.0);
    const auto ud = to_device<Space>(uh);
    Vector<Space, int> tokens("tokens", rows);
    Matrix<Space, double> weights("weights", rows, V);
    sample_tokens<Space, float>(space, tokens, ld, cd, c, ud, weights);
    space.fence();
    const auto th = to_host(tokens);
    for (int r = 0; r < rows; ++r) {
      DeviceRow<Space, float> row(rounded_to<float>(logits[std::size_t(r)]), counts[std::size_t(r)]);
      CHECK(th(r) == row.sample(c, uh(r)));
    }
    // record_tokens counts each row's token once.
    record_tokens(space, cd, tokens);
    space.fence();
    const auto after = to_host(cd);
    int wrong = 0;
    for (int r = 0; r < rows; ++r)
      for (std::size_t t = 0; t < V; ++t)
        wrong += after(r, t) != counts[std::size_t(r)][t] + (int(t) == th(r) ? 1 : 0);
    CHECK(wrong == 0);
  }
}

TEMPLATE_LIST_TEST_CASE("Sampler is deterministic by seed and resumes from a saved stream", "[sampling]", Spaces) {
  using Space = TestType;
  const std::size_t V = 50277;
  Space space;
  const auto logits = logits_on_device<Space, float>({random_logits(V, 1000, 1.0)});
  const auto row = Kokkos::subview(logits, 0, Kokkos::ALL);
  SamplerConfig c;
  c.top_p = 0.95;
  c.presence_penalty = 0.5;
  c.frequency_penalty = 0.5;
  Sampler<Space, float> a(space, int(V), c, 42), b(space, int(V), c, 42), other(space, int(V), c, 43);
  std::vector<int> ta, tb, tother;
  for (int i = 0; i < 24; ++i) {
    ta.push_back(a.sample(row));
    tb.push_back(b.sample(row));
    tother.push_back(other.sample(row));
  }
  CHECK(ta == tb);
  CHECK(ta != tother);
  // The counts hold every sampled token.
  const auto counts = to_host(a.counts());
  long total = 0;
  for (std::size_t t = 0; t < V; ++t) total += counts(0, t);
  CHECK(total == 24);
  CHECK(counts(0, std::size_t(ta[0])) >= 1);

  // A new sampler given a's stream and counts continues as a does.
  Sampler<Space, float> resumed(space, int(V), c, 0);
  resumed.set_stream(0, a.stream(0));
  Kokkos::deep_copy(resumed.counts(), a.counts());
  int differ = 0;
  for (int i = 0; i < 8; ++i) differ += resumed.sample(row) != a.sample(row);
  CHECK(differ == 0);

  // restart clears the counts and reseeds: the same tokens as a fresh sampler.
  a.restart(0, 42);
  Sampler<Space, float> fresh(space, int(V), c, 42);
  for (int i = 0; i < 8; ++i) differ += a.sample(row) != fresh.sample(row);
  CHECK(differ == 0);
}

TEMPLATE_LIST_TEST_CASE("Sampler::sample_batch matches one sampler per slot", "[sampling]", Spaces) {
  using Space = TestType;
  const std::size_t V = 7;
  const int slots = 3;
  Space space;
  std::vector<std::vector<double>> rows;
  for (int s = 0; s < slots; ++s) rows.push_back(random_logits(V, 1100 + s, 1.0));
  const auto logits = logits_on_device<Space, double>(rows);
  SamplerConfig c;
  c.top_k = 5;
  c.frequency_penalty = 0.3;
  Sampler<Space, double> batch(space, int(V), c, 9, slots);
  std::vector<Sampler<Space, double>> single;
  for (int s = 0; s < slots; ++s) single.emplace_back(space, int(V), c, 9 + s);
  int differ = 0;
  for (int step = 0; step < 20; ++step) {
    const auto tokens = batch.sample_batch(logits);
    for (int s = 0; s < slots; ++s)
      differ += tokens[std::size_t(s)] != single[std::size_t(s)].sample(Kokkos::subview(logits, s, Kokkos::ALL));
  }
  CHECK(differ == 0);
}

TEMPLATE_LIST_TEST_CASE("record_token counts on the device", "[sampling]", Spaces) {
  using Space = TestType;
  Space space;
  Vector<Space, int> counts("counts", 7);
  for (const int token : {3, 0, 3, 6}) record_token(space, counts, token);
  space.fence();
  const auto h = to_host(counts);
  CHECK(as_doubles(h) == std::vector<double>{1, 0, 0, 2, 0, 0, 1});
}

TEMPLATE_LIST_TEST_CASE("sampling entry points reject mismatched shapes", "[sampling]", Spaces) {
  using Space = TestType;
  Space space;
  Matrix<Space, float> logits("logits", 2, 7), probs("probs", 2, 7);
  Matrix<Space, double> weights("weights", 2, 7), narrow("narrow", 2, 6);
  Matrix<Space, int> counts("counts", 2, 6);
  Vector<Space, int> tokens("tokens", 1);
  Vector<Space, double> uniforms("uniforms", 2);
  const SamplerConfig c;
  CHECK_THROWS_AS(sampling_probabilities(space, probs, logits, Matrix<Space, int>(), c, narrow), std::invalid_argument);
  CHECK_THROWS_AS(sampling_probabilities(space, probs, logits, counts, c, weights), std::invalid_argument);
  CHECK_THROWS_AS((sample_tokens<Space, float>)(space, tokens, logits, Matrix<Space, int>(), c, uniforms, weights),
                  std::invalid_argument);
  Vector<Space, double> w1("w1", 7);
  CHECK_THROWS_AS((sample_token<Space, float>)(space, Kokkos::subview(logits, 0, Kokkos::ALL), Vector<Space, int>(), c, 1.0, w1,
                               tokens),
                  std::invalid_argument);
}

// Zero extents: no rows draw nothing and write nothing (tokens and probs keep what they held); a
// vocabulary of no tokens has nothing to draw and is refused.
TEMPLATE_LIST_TEST_CASE("sampling zero rows writes nothing; zero tokens are refused", "[sampling]", Spaces) {
  using Space = TestType;
  Space space;
  const SamplerConfig c;
  Vector<Space, int> tokens("tokens", 2);
  Kokkos::deep_copy(tokens, -7);
  Vector<Space, double> uniforms("uniforms", 2);
  Matrix<Space, double> weights("weights", 2, 5);
  Matrix<Space, float> no_rows("no_rows", 0, 5);
  sample_tokens<Space, float>(space, tokens, no_rows, Matrix<Space, int>(), c, uniforms, weights);
  Matrix<Space, float> probs("probs", 0, 5);
  sampling_probabilities(space, probs, no_rows, Matrix<Space, int>(), c, weights);
  space.fence();
  CHECK(as_doubles(to_host(tokens)) == std::vector<double>{-7, -7});

  Matrix<Space, float> no_tokens("no_tokens", 2, 0), no_probs("no_probs", 2, 0);
  Matrix<Space, double> no_weights("no_weights", 2, 0);
  CHECK_THROWS_AS(sampling_probabilities(space, no_probs, no_tokens, Matrix<Space, int>(), c, no_weights),
                  std::invalid_argument);
  CHECK_THROWS_AS((sample_tokens<Space, float>)(space, tokens, no_tokens, Matrix<Space, int>(), c, uniforms, no_weights),
                  std::invalid_argument);
  Vector<Space, double> w0("w0", 0);
  CHECK_THROWS_AS((sample_token<Space, float>)(space, Vector<Space, float>("none", 0), Vector<Space, int>(), c, 0.5, w0,
                                               tokens),
                  std::invalid_argument);
  CHECK_THROWS_AS((Sampler<Space, float>(space, 0, c, 1)), std::invalid_argument);
}

namespace {

// Every combination of the filters, with and without penalties and at two temperatures.
std::vector<SamplerConfig> filter_combinations(int V) {
  std::vector<SamplerConfig> configs;
  for (const double temperature : {0.7, 1.6})
    for (const int top_k : {0, 1, 4, std::max(1, V / 2)})
      for (const double top_p : {1.0, 0.37, 0.93})
        for (const double top_a : {0.0, 0.07})
          for (const double top_p_x : {0.0, 0.011})
            for (const double penalty : {0.0, 0.6}) {
              SamplerConfig c;
              c.temperature = temperature;
              c.top_k = top_k;
              c.top_p = top_p;
              c.top_a = top_a;
              c.top_p_x = top_p_x;
              c.presence_penalty = penalty;
              c.frequency_penalty = penalty / 2;
              configs.push_back(c);
            }
  return configs;
}

// The rows the threshold tests run: random, many ties (four distinct logits), all equal, one huge
// logit (every other weight underflows to 0), and last one large logit (the others' probabilities
// near 1e-160, which float probabilities round to 0: double only).
std::vector<std::vector<double>> threshold_rows(std::size_t V) {
  std::vector<std::vector<double>> rows;
  rows.push_back(random_logits(V, 1300 + V, 5.0));
  std::vector<double> ties = random_logits(V, 1400 + V, 2.0);
  for (double& z : ties) z = std::floor(z) * 0.75;
  rows.push_back(ties);
  rows.push_back(std::vector<double>(V, -2.5));
  std::vector<double> huge = random_logits(V, 1500 + V, 1.0);
  huge[V / 3] = 2000;
  rows.push_back(huge);
  huge[V / 3] = 600;
  rows.push_back(huge);
  return rows;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("sampling thresholds equal the sorted reference for every filter combination", "[sampling]",
                        Spaces) {
  using Space = TestType;
  check_against_reference<Space, double>({0.3}, {}, filter_combinations(1), 1e-12);
  check_against_reference<Space, double>({0.3}, {2}, filter_combinations(1), 1e-12);
  for (const std::size_t V : {std::size_t(2), std::size_t(61), std::size_t(3001)}) {
    const auto counts = random_counts(V, 1600 + V);
    const auto rows = threshold_rows(V);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      check_against_reference<Space, double>(rows[r], counts, filter_combinations(int(V)), 1e-12);
      if (r + 1 < rows.size()) check_against_reference<Space, float>(rows[r], {}, filter_combinations(int(V)), 1.2e-7);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("sampled tokens equal the sorted reference's draw on ties and extreme rows", "[sampling]",
                        Spaces) {
  using Space = TestType;
  for (const std::size_t V : {std::size_t(1), std::size_t(300), std::size_t(50277)}) {
    const auto counts = random_counts(V, 1700 + V);
    for (const auto& logits : threshold_rows(V)) {
      DeviceRow<Space, double> row(logits, counts);
      for (SamplerConfig c : filter_combinations(int(V))) {
        if (V > 1000 && (c.top_a > 0 || c.top_p_x > 0)) continue;  // the large row: fewer combinations
        CAPTURE(V, c.temperature, c.top_k, c.top_p, c.top_a, c.top_p_x, c.presence_penalty);
        const auto q = reference_probabilities(logits, counts, c);
        int wrong = 0, checked = 0;
        for (const double u : {0.0213, 0.4137, 0.7719, 0.9993}) {
          bool near;
          const int want = reference_draw(q, u, near);
          if (near) continue;
          ++checked;
          wrong += row.sample(c, u) != want;
        }
        CHECK(checked >= 3);
        CHECK(wrong == 0);
      }
    }
  }
}
