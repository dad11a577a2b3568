// Training throughput of a model (--arch, default v4) on random tokens, against the machine's FLOP floor measured
// in the same run: a step costs about 6 x (parameters outside the embedding) FLOPs per token, so
// at the best sgemm rate `ceiling` the fastest possible rate is ceiling / (6 P) tokens/s.
// Prints one JSON line (benchmarks/train_vs_pytorch.sh adds the PyTorch reference).
#include "ceilings.hpp"
#include "bench_cli.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/optimizer.hpp>

#include <algorithm>
#include <cstdio>
#include <random>
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
};

template <class Version>
int run(const Options& o) {
  const bench::SgemmRates sgemm = bench::sgemm_rates<Space>(o.gemm_size, 5);
  const double ceiling = sgemm.best();
  Model<Version, Space, float> model(o.config, TrainingShape{o.batch, o.ctx_len, o.recompute});
  model.initialize(1);
  OptimizerConfig oc;
  oc.total_steps = o.warmup + o.steps;
  AdamW<Space, float> optimizer(model.specs(), oc);
  const int N = o.batch * o.ctx_len;
  std::mt19937_64 rng(2);
  std::vector<int> host(N);
  for (int& t : host) t = int(rng() % o.config.vocab_size);
  Kokkos::View<int*, Space::memory_space> tokens("tokens", N), targets("targets", N);
  Kokkos::deep_copy(tokens, Kokkos::View<const int*, Kokkos::HostSpace>(host.data(), N));
  std::shuffle(host.begin(), host.end(), rng);
  Kokkos::deep_copy(targets, Kokkos::View<const int*, Kokkos::HostSpace>(host.data(), N));

  Clock::time_point t0;
  for (int step = 0; step < o.warmup + o.steps; ++step) {
    if (step == o.warmup) t0 = Clock::now();
    model.zero_grad();
    model.forward(tokens, targets);
    model.backward(1e-4);
    optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
  }
  Kokkos::fence();
  const double elapsed = seconds_since(t0);
  const double tokens_per_s = double(N) * o.steps / elapsed;
  const double non_embedding = double(parameter_count(model.specs()) - model.specs().front().size());
  const double floor_tokens_per_s = ceiling * 1e9 / (6.0 * non_embedding);
  std::printf(
      "{\"impl\":\"rwkv-kokkos\",\"arch\":\"%s\",\"space\":\"%s\",\"threads\":%d,\"n_layer\":%d,\"n_embd\":%d,\"vocab\":%d,\"ctx_len\":%d,"
      "\"batch\":%d,\"recompute\":%s,\"non_embedding_params\":%.0f,\"step_ms\":%.2f,\"tokens_per_s\":%.1f,"
      "\"sgemm_ceiling_gflops\":%.1f,\"sgemm_backend\":\"%s\",\"gemm_library\":\"%s\",\"floor_tokens_per_s\":%.1f,\"fraction_of_floor\":%.3f}\n",
      Version::name, Space::name(), Space().concurrency(), o.config.n_layer, o.config.n_embd, o.config.vocab_size, o.ctx_len, o.batch,
      o.recompute ? "true" : "false", non_embedding, 1e3 * elapsed / o.steps, tokens_per_s, ceiling,
      sgemm.best_backend().c_str(), sgemm.library.c_str(), floor_tokens_per_s,
      tokens_per_s / floor_tokens_per_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return bench::guarded_main("bench_train", [&] {
    Options o;
    namespace po = bench::po;
    po::options_description d("options");
    d.add_options()
        ("arch", po::value(&o.arch)->default_value("v4"), "architecture: v4")
        ("n-layer", po::value(&o.config.n_layer)->default_value(6), "layers")
        ("n-embd", po::value(&o.config.n_embd)->default_value(512), "width C")
        ("vocab", po::value(&o.config.vocab_size)->default_value(256), "vocabulary")
        ("ctx-len", po::value(&o.ctx_len)->default_value(256), "T")
        ("batch", po::value(&o.batch)->default_value(8), "B")
        ("steps", po::value(&o.steps)->default_value(5), "timed steps")
        ("warmup", po::value(&o.warmup)->default_value(2), "untimed steps first")
        ("gemm-size", po::value(&o.gemm_size)->default_value(2048), "square sgemm size for the ceiling")
        ("recompute", po::bool_switch(&o.recompute), "gradient checkpointing")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm = bench::parse(argc, argv, d, "usage: bench_train [--n-layer L --n-embd C --vocab V --ctx-len T --batch B]");
    if (!vm) return 0;
    arch_name(o.arch);  // an unknown one fails before Kokkos starts
    KokkosRuntime runtime(o.threads);
    return with_arch(o.arch, [&](auto version) { return run<decltype(version)>(o); });
  });
}
