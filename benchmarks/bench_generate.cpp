// RNN-mode inference speed of Model<v4> with random weights, each rate against its floor measured
// in the same run:
//   step (one sequence, one token): every weight is read once per token, so the floor is
//     read bandwidth / bytes of weights per token, in float32 and in int8;
//   batched step (S sequences): the same weights serve S tokens;
//   prefill (T prompt tokens in one pass): 2 x layer parameters FLOPs per token, plus the head
//     once, at the best sgemm rate.
// Steps are timed one at a time, each right after a read pass over as many bytes as the weights:
// a shared VM's read bandwidth swings by 2x within seconds, so a floor measured at another moment
// judges the step against other conditions. A step's fraction of its floor is the median over
// these pairs of read time / step time; its rates are the medians of each.
// Prints one JSON line per measurement.
#include "measure.hpp"
#include "cli.hpp"

#include <rwkv/model_v4.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using bench::Clock;
using bench::seconds_since;

struct Options {
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

// `pairs` (read pass, step) pairs after one untimed step; a step makes `tokens` tokens and reads
// `weight_bytes`.
template <class Step>
Rate paired_step_rate(const bench::ReadPass<Space>& read, double weight_bytes, int tokens, int pairs, Step&& step) {
  step();
  Kokkos::fence();
  std::vector<double> step_seconds, floor_seconds, fractions;
  for (int k = 0; k < pairs; ++k) {
    const double floor = read.seconds() * weight_bytes / read.bytes();
    const auto t0 = Clock::now();
    step();
    Kokkos::fence();
    const double seconds = seconds_since(t0);
    step_seconds.push_back(seconds);
    floor_seconds.push_back(floor);
    fractions.push_back(floor / seconds);
  }
  return {tokens / median_of(step_seconds), tokens / median_of(floor_seconds), median_of(fractions)};
}

int run(const Options& o) {
  Model<v4, Space, float> model(o.config, inference_only);
  bench::fill_uniform(model.weights().flat, -0.05f, 0.05f);
  const double float_bytes = double(model.step_weight_bytes());
  // Read passes over as many bytes as the weights: the same caches help both (large L3 caches
  // hold a good part of a small model).
  const bench::ReadPass<Space> float_read{std::int64_t(float_bytes)};
  const double ceiling = bench::sgemm_ceiling_gflops<Space>(2048, 5);
  std::fprintf(stderr, "[bench] sgemm %.0f GFLOP/s, float32 weights per step %.1f MB\n", ceiling, float_bytes / 1e6);

  const auto one = bench::tokens_of<Space>(1, o.config.vocab_size);
  auto state = model.new_state();
  const auto step = [&] { model.infer(one, 1, state); };
  const Rate float_step = paired_step_rate(float_read, float_bytes, 1, o.steps, step);
  print("step_float32", o, float_step, "read_bandwidth");

  const auto batch = bench::tokens_of<Space>(o.slots, o.config.vocab_size);
  auto slots = model.new_state(o.slots);
  print("batched_step_float32", o,
        paired_step_rate(float_read, float_bytes, o.slots, o.steps, [&] { model.infer(batch, 1, slots); }),
        "read_bandwidth");

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

  model.quantize_int8();
  const double int8_bytes = double(model.step_weight_bytes());
  const bench::ReadPass<Space> int8_read{std::int64_t(int8_bytes)};
  const Rate int8_step = paired_step_rate(int8_read, int8_bytes, 1, o.steps, step);
  print("step_int8", o, int8_step, "read_bandwidth");
  std::fprintf(stderr, "[bench] read bandwidth in the pairs (medians): %.1f GB/s over the float32 weights, %.1f GB/s "
               "over the int8 weights (%.1f MB); int8 step / float32 step = %.2fx\n",
               float_step.floor_tokens_per_s * float_bytes / 1e9, int8_step.floor_tokens_per_s * int8_bytes / 1e9,
               int8_bytes / 1e6, int8_step.tokens_per_s / float_step.tokens_per_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("bench_generate", [&] {
    Options o;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()
        ("n-layer", po::value(&o.config.n_layer)->default_value(12), "layers")
        ("n-embd", po::value(&o.config.n_embd)->default_value(768), "width C")
        ("vocab", po::value(&o.config.vocab_size)->default_value(50277), "vocabulary")
        ("prompt", po::value(&o.prompt)->default_value(512), "prefill length T")
        ("steps", po::value(&o.steps)->default_value(32), "timed steps (each paired with a read pass)")
        ("slots", po::value(&o.slots)->default_value(8), "sequences of the batched step")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm = cli::parse(argc, argv, d, "usage: bench_generate [--n-layer L --n-embd C --vocab V --prompt T]");
    if (!vm) return 0;
    cli::KokkosRuntime runtime(o.threads);
    return run(o);
  });
}
