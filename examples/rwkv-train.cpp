// rwkv-train: trains an RWKV-4 model on a token file (raw bytes, binidx or .npy uint16).
// Options follow RWKV-LM's names in kebab case; every option can also come from --config FILE.
#include "cli.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/data.hpp>
#include <rwkv/evaluate.hpp>
#include <rwkv/model_v4.hpp>
#include <rwkv/optimizer.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using TrainModel = Model<v4, Space, float>;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string data, save, log;
  ModelConfig model;
  OptimizerConfig optimizer;
  int ctx_len = 256, micro_batch = 8, threads = 0, vocab_size = 0;
  long steps = 1000, tokens = 0, val_every = 100, val_windows = 64, save_every = 0, print_every = 10;
  double val_fraction = default_val_fraction, l2wrap = 1e-4;
  std::uint64_t seed = 42;
  bool recompute = false;
  int sample = 0;
  std::string prompt;
};

const char* usage =
    "usage: rwkv-train --data FILE [options]\n"
    "Trains RWKV-4 on FILE (raw bytes: vocabulary 256; .bin/.idx binidx or .npy uint16 token files)\n"
    "and saves an HDF5 checkpoint. A progress line goes to the terminal; a JSON-lines log always.";

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  namespace po = cli::po;
  po::options_description d("options");
  d.add_options()
      ("data", po::value(&o.data)->required(), "training data file")
      ("vocab-size", po::value(&o.vocab_size)->default_value(0), "vocabulary size (0: from the data)")
      ("n-layer", po::value(&o.model.n_layer)->default_value(6), "layers")
      ("n-embd", po::value(&o.model.n_embd)->default_value(512), "embedding width C")
      ("dim-ffn", po::value(&o.model.dim_ffn)->default_value(0), "channel-mix width (0: 4 * n-embd)")
      ("ctx-len", po::value(&o.ctx_len)->default_value(256), "tokens per training sequence")
      ("micro-batch", po::value(&o.micro_batch)->default_value(8), "sequences per step")
      ("lr-init", po::value(&o.optimizer.lr_init)->default_value(6e-4), "learning rate at the start")
      ("lr-final", po::value(&o.optimizer.lr_final)->default_value(1e-5), "learning rate at the end (exponential decay)")
      ("warmup-steps", po::value(&o.optimizer.warmup_steps)->default_value(0), "linear warmup steps")
      ("beta1", po::value(&o.optimizer.beta1)->default_value(0.9), "Adam beta1")
      ("beta2", po::value(&o.optimizer.beta2)->default_value(0.99), "Adam beta2")
      ("adam-eps", po::value(&o.optimizer.eps)->default_value(1e-8), "Adam epsilon")
      ("weight-decay", po::value(&o.optimizer.weight_decay)->default_value(0.0), "AdamW weight decay (matrices only)")
      ("grad-clip", po::value(&o.optimizer.grad_clip)->default_value(1.0), "max global gradient norm (0: off)")
      ("layerwise-lr", po::value(&o.optimizer.layerwise_lr)->default_value(true), "time_decay at 2x, time_first at 3x the lr")
      ("l2wrap", po::value(&o.l2wrap)->default_value(1e-4), "RWKV-LM's L2Wrap logit penalty factor (0: off)")
      ("steps", po::value(&o.steps)->default_value(1000), "optimizer steps (0: save the initial model and stop)")
      ("tokens", po::value(&o.tokens)->default_value(0), "train on this many tokens instead of --steps")
      ("seed", po::value(&o.seed)->default_value(42), "seed for initialization and data order")
      ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)")
      ("val-fraction", po::value(&o.val_fraction)->default_value(default_val_fraction), "held-out tail of the data")
      ("val-every", po::value(&o.val_every)->default_value(100), "validate every N steps (0: only at the end)")
      ("val-windows", po::value(&o.val_windows)->default_value(64), "validation windows of ctx-len tokens (0: all)")
      ("save", po::value(&o.save)->default_value("rwkv-model.h5"), "checkpoint path (HDF5)")
      ("save-every", po::value(&o.save_every)->default_value(0), "also save every N steps (0: only at the end)")
      ("log", po::value(&o.log)->default_value(""), "JSON-lines log (default: the --save path + .jsonl)")
      ("print-every", po::value(&o.print_every)->default_value(10), "progress line every N steps when not on a terminal")
      ("recompute", po::bool_switch(&o.recompute), "recompute activations in backward (less memory)")
      ("sample", po::value(&o.sample)->default_value(0), "print a greedy sample of N tokens at the end")
      ("prompt", po::value(&o.prompt)->default_value("\n"), "prompt of the sample (bytes)");
  auto vm = cli::parse(argc, argv, d, usage);
  if (!vm) return std::nullopt;
  if (o.ctx_len <= 0) throw std::invalid_argument("--ctx-len must be positive, got " + std::to_string(o.ctx_len));
  if (o.micro_batch <= 0) throw std::invalid_argument("--micro-batch must be positive, got " + std::to_string(o.micro_batch));
  if (o.steps < 0 || o.tokens < 0) throw std::invalid_argument("--steps and --tokens must be >= 0");
  if (o.tokens > 0) o.steps = (o.tokens + long(o.ctx_len) * o.micro_batch - 1) / (long(o.ctx_len) * o.micro_batch);
  if (o.log.empty()) o.log = o.save + ".jsonl";
  return o;
}

// Cross-entropy (bits per token) of the held-out tokens under the training split's token
// frequencies (add-one smoothed): what a model that knows nothing but the unigram statistics gets.
double unigram_bits(std::span<const Token> train, std::span<const Token> val, int vocab_size) {
  std::vector<double> counts(vocab_size, 1.0);
  for (Token t : train) counts[t] += 1;
  const double total = double(train.size()) + vocab_size;
  double bits = 0;
  for (Token t : val) bits -= std::log2(counts[t] / total);
  return bits / double(val.size());
}

// Greedy continuation of `prompt` in parallel mode over a window of the last T tokens (RNN-mode
// generation is rwkv-generate's job); causal, so positions after the context do not matter.
std::string greedy_sample(TrainModel& trained, const std::string& prompt, int count) {
  const int T = std::min(trained.shape().ctx_len, 128);
  TrainModel model(trained.config(), TrainingShape{1, T, false});
  Kokkos::deep_copy(model.weights().flat, trained.weights().flat);
  std::vector<int> context(prompt.begin(), prompt.end());
  for (int& c : context) c = (unsigned char)c;
  if (context.empty()) context.push_back('\n');
  auto tokens = typename TrainModel::TokenView("sample_tokens", T);
  auto targets = typename TrainModel::TokenView("sample_targets", T);
  std::string out;
  for (int i = 0; i < count; ++i) {
    const int len = std::min<int>(int(context.size()), T);
    std::vector<int> window(T, 0);
    std::copy(context.end() - len, context.end(), window.begin());
    Kokkos::deep_copy(tokens, Kokkos::View<const int*, Kokkos::HostSpace>(window.data(), T));
    model.forward(tokens, targets);
    auto row = Kokkos::subview(model.logits(), len - 1, Kokkos::ALL);
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), row);
    int best = 0;
    for (int v = 1; v < int(host.extent(0)); ++v)
      if (host(v) > host(best)) best = v;
    context.push_back(best);
    out.push_back(char(best));
  }
  return out;
}

int train(const Options& o) {
  TokenData data = load_tokens(o.data, o.vocab_size);
  const DataSplit split = split_train_val(data, o.ctx_len, o.val_fraction);
  ModelConfig config = o.model;
  config.vocab_size = data.vocab_size;
  TrainModel model(config, TrainingShape{o.micro_batch, o.ctx_len, o.recompute});
  model.initialize(o.seed);
  const double params = double(parameter_count(model.specs()));
  std::printf("rwkv-train: %s, %zu tokens (%zu train, %zu validation), vocab %d\n", data.source.c_str(),
              data.tokens.size(), split.train.size(), split.val.size(), config.vocab_size);
  std::printf("rwkv-train: RWKV-4 L%d D%d F%d, %.2fM parameters, ctx %d x batch %d, %ld steps, %d threads on %s\n",
              config.n_layer, config.n_embd, config.ffn(), params / 1e6, o.ctx_len, o.micro_batch, o.steps,
              Space().concurrency(), Space::name());
  std::fflush(stdout);
  if (o.steps == 0) {
    save_model(o.save, model);
    std::printf("rwkv-train: saved the initialized model to %s\n", o.save.c_str());
    return 0;
  }

  std::ofstream log(o.log);
  if (!log) throw std::runtime_error(o.log + ": cannot open the log for writing");
  OptimizerConfig opt_config = o.optimizer;
  opt_config.total_steps = o.steps;
  AdamW<Space, float> optimizer(model.specs(), opt_config);
  WindowSampler sampler(split.train.size(), o.ctx_len, o.seed);
  const int N = o.micro_batch * o.ctx_len;
  std::vector<std::int32_t> inputs(N), targets(N);
  typename TrainModel::TokenView tokens("tokens", N), target_view("targets", N);
  const bool tty = isatty(fileno(stderr));
  const auto start = Clock::now();
  double val_loss = std::nan("");
  auto validate = [&](long step) {
    if (split.val.empty()) return;
    val_loss = windowed_loss(model, split.val, std::size_t(o.val_windows)).mean;
    log << "{\"step\":" << step << ",\"val_loss\":" << val_loss << ",\"val_bits_per_token\":" << val_loss / std::log(2.0)
        << "}\n" << std::flush;
  };
  for (long step = 0; step < o.steps; ++step) {
    fill_train_batch(split.train, sampler, std::uint64_t(step), o.micro_batch, inputs, targets);
    Kokkos::deep_copy(tokens, Kokkos::View<const int*, Kokkos::HostSpace>(inputs.data(), N));
    Kokkos::deep_copy(target_view, Kokkos::View<const int*, Kokkos::HostSpace>(targets.data(), N));
    model.zero_grad();
    const double loss = model.forward(tokens, target_view);
    if (!std::isfinite(loss)) throw std::runtime_error("loss became " + std::to_string(loss) + " at step " + std::to_string(step));
    model.backward(o.l2wrap);
    const StepReport r = optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
    if (!std::isfinite(r.grad_norm))
      throw std::runtime_error("gradient norm became " + std::to_string(r.grad_norm) + " at step " + std::to_string(step + 1) +
                               "; the last good weights are in the last checkpoint");
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double tokens_done = double(step + 1) * N;
    const double rate = tokens_done / elapsed;
    if (o.val_every > 0 && (step + 1) % o.val_every == 0 && step + 1 < o.steps) validate(step + 1);
    log << "{\"step\":" << step + 1 << ",\"loss\":" << loss << ",\"lr\":" << r.lr << ",\"grad_norm\":" << r.grad_norm
        << ",\"tokens\":" << long(tokens_done) << ",\"elapsed_s\":" << elapsed << ",\"tokens_per_s\":" << rate << "}\n";
    char val_text[32] = "-";
    if (!std::isnan(val_loss)) std::snprintf(val_text, sizeof val_text, "%.4f", val_loss);
    char line[256];
    std::snprintf(line, sizeof line, "step %ld/%ld  loss %.4f  val %s  lr %.2e  %.0f tok/s  ETA %s", step + 1, o.steps,
                  loss, val_text, r.lr, rate, cli::format_duration(elapsed / (step + 1) * (o.steps - step - 1)).c_str());
    if (tty)
      std::fprintf(stderr, "\r%s\033[K", line);
    else if ((step + 1) % o.print_every == 0 || step + 1 == o.steps)
      std::fprintf(stderr, "%s\n", line);
    if (o.save_every > 0 && (step + 1) % o.save_every == 0) save_model(o.save, model);
  }
  if (tty) std::fprintf(stderr, "\n");
  validate(o.steps);
  save_model(o.save, model);
  std::printf("rwkv-train: saved %s; log %s\n", o.save.c_str(), o.log.c_str());
  if (!split.val.empty()) {
    std::printf("rwkv-train: validation: %.4f bits per token (%.4f nats)\n", val_loss / std::log(2.0), val_loss);
    std::printf("rwkv-train: unigram baseline: %.4f bits per token\n", unigram_bits(split.train, split.val, config.vocab_size));
  }
  if (o.sample > 0) std::printf("rwkv-train: greedy sample:\n%s%s\n", o.prompt.c_str(), greedy_sample(model, o.prompt, o.sample).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-train", [&] {
    const auto options = parse_options(argc, argv);
    if (!options) return 0;
    cli::KokkosRuntime runtime(options->threads);
    return train(*options);
  });
}
