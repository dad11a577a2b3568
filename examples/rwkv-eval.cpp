// rwkv-eval: mean loss and bits per token of a checkpoint on a token file; optionally dumps the
// float32 logits [T, V] of the first T tokens (for cross-checks against other implementations).
#include "cli.hpp"
#include "weight_options.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/checkpoint.hpp>
#include <rwkv/data.hpp>
#include <rwkv/evaluate.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;

struct Options {
  std::string model, data, dump_logits;
  int ctx_len = 256, batch = 8, threads = 0;
  long max_windows = 0;
  cli::WeightOptions weights;
};

template <class EvalModel>
void dump_logits(const std::string& path, EvalModel& model, const std::vector<std::int32_t>& inputs, int T) {
  typename EvalModel::TokenView tokens("tokens", model.shape().batch * T), targets("targets", model.shape().batch * T);
  auto host_tokens = Kokkos::create_mirror_view(tokens);
  for (int t = 0; t < T; ++t) host_tokens(t) = inputs[t];
  Kokkos::deep_copy(tokens, host_tokens);
  model.forward(tokens, targets);
  auto first = Kokkos::subview(model.logits(), std::make_pair(0, T), Kokkos::ALL);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), first);
  const int V = model.config().vocab_size;
  std::vector<float> values(std::size_t(T) * V);
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < V; ++v) values[std::size_t(t) * V + v] = host(t, v);
  save_float_matrix(path, "logits", std::size_t(T), std::size_t(V), values.data());
}

template <class Version>
int evaluate(const Options& o, const ModelConfig& config, cli::RnnWeights weights) {
  using EvalModel = Model<Version, Space, float>;
  const TokenData data = load_tokens(o.data, config.vocab_size);
  const int T = o.ctx_len;
  const int B = o.dump_logits.empty() ? o.batch : 1;
  // Only RNN mode multiplies by int8 or bfloat16 copies; it needs no training buffers.
  const bool rnn = weights != cli::RnnWeights::float32;
  EvalModel model(config, rnn ? inference_only : TrainingShape{B, T, false});
  load_model(o.model, model);
  if (!o.dump_logits.empty()) {
    if (rnn) throw std::invalid_argument("--dump-logits writes the float32 model's logits: drop --int8 and --dtype");
    if (data.tokens.size() < std::size_t(T))
      throw std::runtime_error(o.data + ": --dump-logits needs " + std::to_string(T) + " tokens, the file has " + std::to_string(data.tokens.size()));
    std::vector<std::int32_t> first(data.tokens.begin(), data.tokens.begin() + T);
    dump_logits(o.dump_logits, model, first, T);
    std::printf("rwkv-eval: wrote logits [%d, %d] of the first %d tokens to %s\n", T, config.vocab_size, T, o.dump_logits.c_str());
    return 0;
  }
  if (sequential_window_count(data.tokens.size(), T) == 0)
    throw std::runtime_error(o.data + ": fewer than ctx-len + 1 = " + std::to_string(T + 1) + " tokens");
  const std::span<const Token> tokens(data.tokens);
  cli::use_rnn_weights(model, weights);
  const WindowedLoss result = rnn ? windowed_loss_rnn(model, tokens, T, B, std::size_t(o.max_windows))
                                     : windowed_loss(model, tokens, std::size_t(o.max_windows));
  const double loss = result.mean;
  const std::size_t counted = result.tokens;
  std::printf("rwkv-eval: %s on %s: %zu tokens in %zu windows of %d%s\n", o.model.c_str(), o.data.c_str(), counted,
              (counted + T - 1) / T, T,
              weights == cli::RnnWeights::int8       ? " (int8 weights, RNN mode)"
              : weights == cli::RnnWeights::bfloat16 ? " (bfloat16 weights, RNN mode)"
                                                     : "");
  std::printf("loss %.6f nats/token, %.6f bits/token\n", loss, loss / std::log(2.0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-eval", [&]() -> int {
    Options o;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()
        ("model", po::value(&o.model)->required(), "checkpoint (HDF5) written by rwkv-train")
        ("data", po::value(&o.data)->required(), "token file (raw bytes, binidx or .npy uint16)")
        ("ctx-len", po::value(&o.ctx_len)->default_value(256), "window length T")
        ("batch", po::value(&o.batch)->default_value(8), "windows per forward pass")
        ("max-windows", po::value(&o.max_windows)->default_value(0), "evaluate at most N windows (0: all)")
        ("dump-logits", po::value(&o.dump_logits), "write the logits [T, V] of the first T tokens to this HDF5 file")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    cli::add_weight_options(d, o.weights, "evaluate with int8 weights (RNN mode)");
    const auto vm = cli::parse(argc, argv, d, "usage: rwkv-eval --model CKPT --data FILE [--ctx-len T] [--dump-logits OUT.h5]");
    if (!vm) return 0;
    if (o.ctx_len <= 0 || o.batch <= 0) throw std::invalid_argument("--ctx-len and --batch must be positive");
    const cli::RnnWeights weights = cli::rnn_weights(o.weights, o.model);
    cli::KokkosRuntime runtime(o.threads);
    const ModelConfig config = read_config(o.model);
    return with_arch(config.arch, [&](auto version) { return evaluate<decltype(version)>(o, config, weights); });
  });
}
