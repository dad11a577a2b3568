// RNN-mode inference speed of a model (--arch, default v4) with random weights, each rate against
// its floor measured in the same run:
//   step (one sequence, one token): every weight is read once per token, so the floor is
//     read bandwidth / bytes of weights per token, in float32, int8 and bfloat16;
//   batched step (S sequences): the same weights serve S tokens;
//   prefill (T prompt tokens in one pass): 2 x layer parameters FLOPs per token, plus the head
//     once, at the best sgemm rate, with float32 and with bfloat16 weights.
// Steps are timed one at a time, each right after a read pass over as many bytes as its weights,
// and the float32, batched, int8 and bfloat16 steps take turns: a shared VM's read bandwidth can
// swing within seconds (docs/PERFORMANCE.md#bandwidth-phases), so rates measured at different
// moments compare different machines. A step's fraction of its floor is the median over its pairs
// of read time / step time, its rates the medians of each, and int8 / float32 and bfloat16 /
// float32 the medians of the rounds' ratios.
// Prints one JSON line per measurement.
#include "measure.hpp"
#include "bench_cli.hpp"

#include <rwkv/arch.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using bench::Clock;
using bench::seconds_since;

struct Options {
  std::string arch = "v4";
  ModelConfig config{12, 768, 0, 50277};
  int prompt = 512, steps = 32, slots = 8, threads = 0;
};

// Seconds per call of f, the best of `repeats` after one untimed call.
template <class F>
double best_seconds(int repeats, F&& f) {
  f();
  Kokkos::fence();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    f();
    Kokkos::fence();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

struct Rate {
  double tokens_per_s, floor_tokens_per_s, fraction_of_floor;
};

void print(const char* what, const Options& o, const Rate& r, const char* floor_kind) {
  std::printf(
      "{\"impl\":\"rwkv-kokkos\",\"space\":\"%s\",\"threads\":%d,\"n_layer\":%d,\"n_embd\":%d,\"vocab\":%d,"
      "\"measure\":\"%s\",\"tokens_per_s\":%.2f,\"floor_tokens_per_s\":%.2f,\"floor\":\"%s\",\"fraction_of_floor\":%.3f}\n",
      Space::name(), Space().concurrency(), o.config.n_layer, o.config.n_embd, o.config.vocab_size, what, r.tokens_per_s,
      r.floor_tokens_per_s, floor_kind, r.fraction_of_floor);
  std::fflush(stdout);
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A step to time in pairs with a read pass: it makes `tokens` tokens and reads `weight_bytes`.
struct PairedStep {
  const bench::ReadPass<Space>* read;
  double weight_bytes;
  int tokens;
  std::function<void()> step;
  std::vector<double> step_seconds, floor_seconds;

  void time_once() {
    floor_seconds.push_back(read->seconds() * weight_bytes / read->bytes());
    const auto t0 = Clock::now();
    step();
    Kokkos::fence();
    step_seconds.push_back(seconds_since(t0));
  }

  Rate rate() const {
    std::vector<double> fractions;
    for (std::size_t k = 0; k < step_seconds.size(); ++k) fractions.push_back(floor_seconds[k] / step_seconds[k]);
    return {tokens / median_of(step_seconds), tokens / median_of(floor_seconds), median_of(fractions)};
  }
};

// `rounds` rounds in which each step is timed once (after one untimed call of each).
void time_in_turns(const std::vector<PairedStep*>& steps, int rounds) {
  for (PairedStep* s : steps) s->step();
  Kokkos::fence();
  for (int k = 0; k < rounds; ++k)
    for (PairedStep* s : steps) s->time_once();
}

template <class Version>
int run(const Options& o) {
  Model<Version, Space, float> model(o.config, inference_only);
  bench::fill_uniform(model.weights().flat, -0.05f, 0.05f);
  Model<Version, Space, float> int8_model(o.config, inference_only);
  Kokkos::deep_copy(int8_model.weights().flat, model.weights().flat);
  int8_model.quantize_int8();
  Model<Version, Space, float> bf16_model(o.config, inference_only);
  Kokkos::deep_copy(bf16_model.weights().flat, model.weights().flat);
  bf16_model.use_bfloat16_weights();
  const double float_bytes = double(model.step_weight_bytes()), int8_bytes = double(int8_model.step_weight_bytes());
  const double bf16_bytes = double(bf16_model.step_weight_bytes());
  // Read passes over as many bytes as the weights: the same caches help all (large L3 caches
  // hold a good part of a small model).
  const bench::ReadPass<Space> float_read{std::int64_t(float_bytes)}, int8_read{std::int64_t(int8_bytes)},
      bf16_read{std::int64_t(bf16_bytes)};
  const bench::SgemmRates sgemm = bench::sgemm_rates<Space>(2048, 5);
  const double ceiling = sgemm.best();
  std::fprintf(stderr, "[bench] sgemm %.0f GFLOP/s%s; weights per step: float32 %.1f MB, int8 %.1f MB, bfloat16 %.1f MB\n",
               ceiling, bench::sgemm_backends_text(sgemm).c_str(), float_bytes / 1e6, int8_bytes / 1e6, bf16_bytes / 1e6);

  const auto one = bench::tokens_of<Space>(1, o.config.vocab_size);
  const auto batch = bench::tokens_of<Space>(o.slots, o.config.vocab_size);
  auto state = model.new_state(), int8_state = int8_model.new_state(), slots = model.new_state(o.slots);
  auto bf16_state = bf16_model.new_state();
  PairedStep float_step{&float_read, float_bytes, 1, [&] { model.infer(one, 1, state); }, {}, {}};
  PairedStep batched_step{&float_read, float_bytes, o.slots, [&] { model.infer(batch, 1, slots); }, {}, {}};
  PairedStep int8_step{&int8_read, int8_bytes, 1, [&] { int8_model.infer(one, 1, int8_state); }, {}, {}};
  PairedStep bf16_step{&bf16_read, bf16_bytes, 1, [&] { bf16_model.infer(one, 1, bf16_state); }, {}, {}};
  time_in_turns({&float_step, &batched_step, &int8_step, &bf16_step}, o.steps);
  print("step_float32", o, float_step.rate(), "read_bandwidth");
  print("batched_step_float32", o, batched_step.rate(), "read_bandwidth");
  print("step_int8", o, int8_step.rate(), "read_bandwidth");
  print("step_bfloat16", o, bf16_step.rate(), "read_bandwidth");
  // Per round, float32 step time over the other's.
  const auto speedup = [&](const PairedStep& other) {
    std::vector<double> ratios;
    for (int k = 0; k < o.steps; ++k) ratios.push_back(float_step.step_seconds[k] / other.step_seconds[k]);
    return median_of(ratios);
  };
  std::fprintf(stderr, "[bench] read bandwidth in the pairs (medians): %.1f GB/s over the float32 weights, %.1f GB/s "
               "over the int8 weights, %.1f GB/s over the bfloat16 weights; int8 step / float32 step = %.2fx, "
               "bfloat16 step / float32 step = %.2fx (medians of %d rounds)\n",
               float_step.rate().floor_tokens_per_s * float_bytes / 1e9,
               int8_step.rate().floor_tokens_per_s * int8_bytes / 1e9,
               bf16_step.rate().floor_tokens_per_s * bf16_bytes / 1e9, speedup(int8_step), speedup(bf16_step), o.steps);

  std::size_t layer_params = 0, head_params = 0;
  for (const TensorSpec& s : model.specs()) {
    if (s.name == "head.weight") head_params = s.size();
    else if (s.name != "emb.weight") layer_params += s.size();
  }
  const auto prompt = bench::tokens_of<Space>(o.prompt, o.config.vocab_size);
  const double prefill_seconds = best_seconds(3, [&] {
    auto fresh = model.new_state();
    model.infer(prompt, o.prompt, fresh);
  });
  const double prefill_flops = 2.0 * double(layer_params) * o.prompt + 2.0 * double(head_params);
  const double prefill_rate = o.prompt / prefill_seconds, prefill_floor = o.prompt * ceiling * 1e9 / prefill_flops;
  print("prefill_float32", o, {prefill_rate, prefill_floor, prefill_rate / prefill_floor}, "sgemm");
  const double bf16_prefill_rate = o.prompt / best_seconds(3, [&] {
    auto fresh = bf16_model.new_state();
    bf16_model.infer(prompt, o.prompt, fresh);
  });
  print("prefill_bfloat16", o, {bf16_prefill_rate, prefill_floor, bf16_prefill_rate / prefill_floor}, "sgemm");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_generate", [&] {
    Options o;
    namespace po = bench::po;
    po::options_description d("options");
    d.add_options()
        ("arch", po::value(&o.arch)->default_value("v4"), "architecture: v4")
        ("n-layer", po::value(&o.config.n_layer)->default_value(12), "layers")
        ("n-embd", po::value(&o.config.n_embd)->default_value(768), "width C")
        ("vocab", po::value(&o.config.vocab_size)->default_value(50277), "vocabulary")
        ("prompt", po::value(&o.prompt)->default_value(512), "prefill length T")
        ("steps", po::value(&o.steps)->default_value(32), "rounds of timed steps (each paired with a read pass)")
        ("slots", po::value(&o.slots)->default_value(8), "sequences of the batched step")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm = bench::parse(argc, argv, d, "usage: bench_generate [--n-layer L --n-embd C --vocab V --prompt T]");
    if (!vm) return 0;
    arch_name(o.arch);  // an unknown one fails before Kokkos starts
    KokkosRuntime runtime(o.threads);
    return with_arch(o.arch, [&](auto version) { return run<decltype(version)>(o); });
  });
}
