// RNN-mode inference speed of Model<v4> with random weights, each rate against its floor measured
// in the same run:
//   step (one sequence, one token): every weight is read once per token, so the floor is
//     read bandwidth / bytes of weights per token, in float32 and in int8;
//   batched step (S sequences): the same weights serve S tokens;
//   prefill (T prompt tokens in one pass): 2 x layer parameters FLOPs per token, plus the head
//     once, at the best sgemm rate.
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

void print(const char* what, const Options& o, double tokens_per_s, double floor_tokens_per_s, const char* floor_kind) {
  std::printf(
      "{\"impl\":\"rwkv-kokkos\",\"space\":\"%s\",\"threads\":%d,\"n_layer\":%d,\"n_embd\":%d,\"vocab\":%d,"
      "\"measure\":\"%s\",\"tokens_per_s\":%.2f,\"floor_tokens_per_s\":%.2f,\"floor\":\"%s\",\"fraction_of_floor\":%.3f}\n",
      Space::name(), Space().concurrency(), o.config.n_layer, o.config.n_embd, o.config.vocab_size, what, tokens_per_s,
      floor_tokens_per_s, floor_kind, tokens_per_s / floor_tokens_per_s);
  std::fflush(stdout);
}

int run(const Options& o) {
  Model<v4, Space, float> model(o.config, inference_only);
  bench::fill_uniform(model.weights().flat, -0.05f, 0.05f);
  const double float_bytes = double(model.step_weight_bytes());
  // Read bandwidth over as many bytes as the weights: the same caches help both (large L3 caches
  // hold a good part of a small model).
  const double bandwidth = bench::read_bandwidth_gbs<Space>(std::int64_t(float_bytes), 5);
  const double ceiling = bench::sgemm_ceiling_gflops<Space>(2048, 5);
  std::fprintf(stderr, "[bench] read bandwidth %.1f GB/s, sgemm %.0f GFLOP/s, float32 weights per step %.1f MB\n",
               bandwidth, ceiling, float_bytes / 1e6);

  const auto one = bench::tokens_of<Space>(1, o.config.vocab_size);
  auto state = model.new_state();
  const auto steps = [&] {
    for (int i = 0; i < o.steps; ++i) model.infer(one, 1, state);
  };
  const double step_rate = o.steps / best_seconds(3, steps);
  print("step_float32", o, step_rate, bandwidth * 1e9 / float_bytes, "read_bandwidth");

  const auto batch = bench::tokens_of<Space>(o.slots, o.config.vocab_size);
  auto slots = model.new_state(o.slots);
  const double batch_rate =
      o.slots * o.steps / best_seconds(3, [&] {
        for (int i = 0; i < o.steps; ++i) model.infer(batch, 1, slots);
      });
  print("batched_step_float32", o, batch_rate, o.slots * bandwidth * 1e9 / float_bytes, "read_bandwidth");

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
  print("prefill_float32", o, o.prompt / prefill_seconds, o.prompt * ceiling * 1e9 / prefill_flops, "sgemm");

  model.quantize_int8();
  const double int8_bytes = double(model.step_weight_bytes());
  const double int8_bandwidth = bench::read_bandwidth_gbs<Space>(std::int64_t(int8_bytes), 5);
  const double int8_rate = o.steps / best_seconds(3, steps);
  print("step_int8", o, int8_rate, int8_bandwidth * 1e9 / int8_bytes, "read_bandwidth");
  std::fprintf(stderr, "[bench] int8 weights per step %.1f MB, read bandwidth at that size %.1f GB/s; "
               "int8 step / float32 step = %.2fx\n", int8_bytes / 1e6, int8_bandwidth, int8_rate / step_rate);
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
        ("steps", po::value(&o.steps)->default_value(32), "timed steps per repetition")
        ("slots", po::value(&o.slots)->default_value(8), "sequences of the batched step")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm = cli::parse(argc, argv, d, "usage: bench_generate [--n-layer L --n-embd C --vocab V --prompt T]");
    if (!vm) return 0;
    cli::KokkosRuntime runtime(o.threads);
    return run(o);
  });
}
