// Training throughput of a model (--arch, default v4) on random tokens, against the machine's FLOP floor measured
// in the same run: a step costs about 6 x (parameters outside the embedding) FLOPs per token, so
// at the best sgemm rate `ceiling` the fastest possible rate is ceiling / (6 P) tokens/s.
// --precision bf16 times the mixed-precision step (TrainingShape::precision); --precision both
// times an fp32 and a bf16 model taking turns, one step each a round, as a shared machine's load
// moves. Prints one JSON line per precision (benchmarks/train_vs_pytorch.sh adds the PyTorch
// reference): step_ms is the mean of the timed steps, step_ms_median / _min / _max their spread;
// with both, the bf16 line adds the median and range of the rounds' fp32 / bf16 step time.
#include "ceilings.hpp"
#include "bench_cli.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/kernels/gemm_bf16.hpp>
#include <rwkv/optimizer.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using bench::Clock;
using bench::seconds_since;

struct Options {
  std::string arch = "v4";
  ModelConfig config{6, 512, 0, 256};
  int ctx_len = 256, batch = 8, steps = 5, warmup = 2, threads = 0, gemm_size = 2048;
  bool recompute = false;
  std::string precision = "fp32";  // fp32, bf16 or both
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

template <class Version>
struct Trained {
  Model<Version, Space, float> model;
  AdamW<Space, float> optimizer;
  std::vector<double> seconds;  // of each timed step

  Trained(const Options& o, Precision precision, const OptimizerConfig& oc)
      : model(o.config, TrainingShape{o.batch, o.ctx_len, o.recompute, precision}), optimizer(model.specs(), oc) {
    model.initialize(1);
  }
  template <class Tokens>
  double step(const Tokens& tokens, const Tokens& targets, int step) {
    const auto t0 = Clock::now();
    model.zero_grad();
    model.forward(tokens, targets);
    model.backward(1e-4);
    optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
    Kokkos::fence();
    return seconds_since(t0);
  }
};

template <class Version>
int run(const Options& o) {
  std::vector<Precision> precisions;
  if (o.precision == "both")
    precisions = {Precision::fp32, Precision::bf16};
  else
    precisions = {parse_precision(o.precision)};
  const bench::SgemmRates sgemm = bench::sgemm_rates<Space>(o.gemm_size, 5);
  const double ceiling = sgemm.best();
  OptimizerConfig oc;
  oc.total_steps = o.warmup + o.steps;
  std::vector<std::unique_ptr<Trained<Version>>> runs;
  for (const Precision p : precisions) runs.push_back(std::make_unique<Trained<Version>>(o, p, oc));
  const int N = o.batch * o.ctx_len;
  std::mt19937_64 rng(2);
  std::vector<int> host(N);
  for (int& t : host) t = int(rng() % o.config.vocab_size);
  Kokkos::View<int*, Space::memory_space> tokens("tokens", N), targets("targets", N);
  Kokkos::deep_copy(tokens, Kokkos::View<const int*, Kokkos::HostSpace>(host.data(), N));
  std::shuffle(host.begin(), host.end(), rng);
  Kokkos::deep_copy(targets, Kokkos::View<const int*, Kokkos::HostSpace>(host.data(), N));

  for (int step = 0; step < o.warmup + o.steps; ++step)
    for (auto& r : runs) {
      const double t = r->step(tokens, targets, step);
      if (step >= o.warmup) r->seconds.push_back(t);
    }
  const double non_embedding = double(parameter_count(runs.front()->model.specs()) - runs.front()->model.specs().front().size());
  const double floor_tokens_per_s = ceiling * 1e9 / (6.0 * non_embedding);
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const std::vector<double>& t = runs[k]->seconds;
    double total = 0;
    for (const double s : t) total += s;
    const double tokens_per_s = double(N) * o.steps / total;
    std::printf(
        "{\"impl\":\"rwkv-kokkos\",\"arch\":\"%s\",\"space\":\"%s\",\"threads\":%d,\"n_layer\":%d,\"n_embd\":%d,\"vocab\":%d,\"ctx_len\":%d,"
        "\"batch\":%d,\"recompute\":%s,\"precision\":\"%s\",\"bf16_native\":%s,\"non_embedding_params\":%.0f,\"step_ms\":%.2f,"
        "\"step_ms_median\":%.2f,\"step_ms_min\":%.2f,\"step_ms_max\":%.2f,\"tokens_per_s\":%.1f,"
        "\"sgemm_ceiling_gflops\":%.1f,\"sgemm_backend\":\"%s\",\"gemm_library\":\"%s\",\"floor_tokens_per_s\":%.1f,\"fraction_of_floor\":%.3f",
        Version::name, Space::name(), Space().concurrency(), o.config.n_layer, o.config.n_embd, o.config.vocab_size, o.ctx_len, o.batch,
        o.recompute ? "true" : "false", precision_name(precisions[k]), rwkv::gemm_bf16_native<Space, float>() ? "true" : "false",
        non_embedding, 1e3 * total / o.steps, 1e3 * median(t), 1e3 * *std::min_element(t.begin(), t.end()),
        1e3 * *std::max_element(t.begin(), t.end()), tokens_per_s, ceiling, sgemm.best_backend().c_str(), sgemm.library.c_str(),
        floor_tokens_per_s, tokens_per_s / floor_tokens_per_s);
    if (k > 0) {
      std::vector<double> ratio;
      for (std::size_t i = 0; i < t.size(); ++i) ratio.push_back(runs[0]->seconds[i] / t[i]);
      std::printf(",\"fp32_over_bf16_median\":%.3f,\"fp32_over_bf16_min\":%.3f,\"fp32_over_bf16_max\":%.3f", median(ratio),
                  *std::min_element(ratio.begin(), ratio.end()), *std::max_element(ratio.begin(), ratio.end()));
    }
    std::printf("}\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_train", [&] {
    Options o;
    namespace po = bench::po;
    po::options_description d("options");
    d.add_options()
        ("arch", po::value(&o.arch)->default_value("v4"), "architecture: v4 or v7 (heads of 64, RWKV-LM's LoRA ranks)")
        ("n-layer", po::value(&o.config.n_layer)->default_value(6), "layers")
        ("n-embd", po::value(&o.config.n_embd)->default_value(512), "width C")
        ("vocab", po::value(&o.config.vocab_size)->default_value(256), "vocabulary")
        ("ctx-len", po::value(&o.ctx_len)->default_value(256), "T")
        ("batch", po::value(&o.batch)->default_value(8), "B")
        ("steps", po::value(&o.steps)->default_value(5), "timed steps")
        ("warmup", po::value(&o.warmup)->default_value(2), "untimed steps first")
        ("gemm-size", po::value(&o.gemm_size)->default_value(2048), "square sgemm size for the ceiling")
        ("recompute", po::bool_switch(&o.recompute), "gradient checkpointing")
        ("precision", po::value(&o.precision)->default_value("fp32"), "fp32, bf16, or both taking turns")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm = bench::parse(argc, argv, d, "usage: bench_train [--n-layer L --n-embd C --vocab V --ctx-len T --batch B]");
    if (!vm) return 0;
    arch_name(o.arch);  // an unknown one fails before Kokkos starts
    if (o.precision != "both") parse_precision(o.precision);
    KokkosRuntime runtime(o.threads);
    return with_arch(o.arch, [&](auto version) { return run<decltype(version)>(o); });
  });
}
