// rwkv-train: trains an RWKV-4 model on a token file (raw bytes, binidx or .npy uint16), or with
// --task txt2img on an image data set (rwkv-image-data): captions and 32x32 images in one sequence.
// Options follow RWKV-LM's names in kebab case; every option can also come from --config FILE.
#include "cli.hpp"
#include "ranks.hpp"
#include "txt2img_training.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/core/hash.hpp>
#include <rwkv/data.hpp>
#include <rwkv/evaluate.hpp>
#include <rwkv/v4/model.hpp>
#include <rwkv/optimizer.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using TrainModel = Model<v4, Space, float>;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string data, save, log, resume, save_dtype;
  ModelConfig model;
  OptimizerConfig optimizer;
  int ctx_len = 256, micro_batch = 8, threads = 0, vocab_size = 0;
  long check_every = 100, steps = 1000, tokens = 0, val_every = 100, val_windows = 64, save_every = 0, print_every = 10, stop_at = 0;
  double time_limit = 0;  // minutes
  int keep_last = 0;
  double val_fraction = default_val_fraction, l2wrap = 1e-4;
  std::uint64_t seed = 42;
  bool recompute = false;
  int sample = 0;
  std::string prompt;
  // --task txt2img
  std::string task, rounding;
  bool image_positions = true, soft_targets = false;
  int caption_bytes = 0;
  double text_first_ratio = 0.5;
  std::set<std::string> given;  // options set on the command line or in --config (not defaulted)
};

const char* usage =
    "usage: rwkv-train --data FILE [options]\n"
    "Trains RWKV-4 on FILE (raw bytes: vocabulary 256; .bin/.idx binidx or .npy uint16 token files)\n"
    "and saves an HDF5 checkpoint. A progress line goes to the terminal; a JSON-lines log always.\n"
    "--resume CKPT continues a run exactly from a checkpoint rwkv-train wrote (model, schedule and data\n"
    "options come from it; giving one with another value is an error; --steps may extend the run).\n"
    "--task txt2img --data SET.h5 trains on an image data set: each sample is a caption and its 32x32\n"
    "image, in either order (vocabulary 773; ctx-len 1026 + caption-bytes); validation on its held-out\n"
    "images reports bits per image token against the unigram baseline.";

void reject_image_options(const Options& o) {
  for (const char* image_only : {"image-positions", "rounding", "soft-targets", "text-first-ratio", "caption-bytes"})
    if (o.given.count(image_only))
      throw std::invalid_argument(std::string("--") + image_only + " applies to --task txt2img only");
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  namespace po = cli::po;
  po::options_description d("options");
  d.add_options()
      ("data", po::value(&o.data), "training data file (with --resume: the checkpoint's by default)")
      ("vocab-size", po::value(&o.vocab_size)->default_value(0), "vocabulary size (0: from the data)")
      ("n-layer", po::value(&o.model.n_layer)->default_value(6), "layers")
      ("n-embd", po::value(&o.model.n_embd)->default_value(512), "embedding width C")
      ("dim-ffn", po::value(&o.model.dim_ffn)->default_value(0), "channel-mix width (0: 4 * n-embd)")
      ("ctx-len", po::value(&o.ctx_len)->default_value(256), "tokens per training sequence")
      ("micro-batch", po::value(&o.micro_batch)->default_value(8), "sequences per step (per rank under MPI)")
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
      ("save", po::value(&o.save)->default_value("rwkv-model.h5"), "checkpoint path (HDF5; with --resume: the resumed file)")
      ("save-every", po::value(&o.save_every)->default_value(0), "also save every N steps (0: only at the end)")
      ("save-dtype", po::value(&o.save_dtype)->default_value("float32"), "weights stored as float32, float16 or bfloat16 (training state stays exact)")
      ("keep-last", po::value(&o.keep_last)->default_value(0), "also keep the last N checkpoints as SAVE-stepNNNNNN.h5 (0: none)")
      ("resume", po::value(&o.resume)->default_value(""), "continue the run of this training checkpoint")
      ("stop-at", po::value(&o.stop_at)->default_value(0), "stop (and save) after this step, to --resume later (0: run to --steps)")
      ("time-limit", po::value(&o.time_limit)->default_value(0.0), "stop (and save) after the step that passes this many minutes (0: none)")
      ("log", po::value(&o.log)->default_value(""), "JSON-lines log (default: the --save path + .jsonl)")
      ("print-every", po::value(&o.print_every)->default_value(10), "progress line every N steps when not on a terminal")
      ("check-every", po::value(&o.check_every)->default_value(100), "under MPI: compare the ranks' weights every N steps (0: never)")
      ("recompute", po::bool_switch(&o.recompute), "recompute activations in backward (less memory)")
      ("sample", po::value(&o.sample)->default_value(0), "print a greedy sample of N tokens at the end")
      ("prompt", po::value(&o.prompt)->default_value("\n"), "prompt of the sample (bytes)")
      ("task", po::value(&o.task)->default_value("text"), "text (a token file) or txt2img (an image data set)")
      ("image-positions", po::value(&o.image_positions)->default_value(true), "txt2img: 2D position channels on image tokens")
      ("rounding", po::value(&o.rounding)->default_value("random"), "txt2img: pixel levels by random (RandRound) or nearest rounding")
      ("soft-targets", po::bool_switch(&o.soft_targets), "txt2img: pixel loss against both RandRound neighbours")
      ("text-first-ratio", po::value(&o.text_first_ratio)->default_value(0.5), "txt2img: share of samples with the caption first")
      ("caption-bytes", po::value(&o.caption_bytes)->default_value(image::default_caption_bytes), "txt2img: caption field of a sample");
  auto vm = cli::parse(argc, argv, d, usage);
  if (!vm) return std::nullopt;
  for (const auto& [name, value] : *vm)
    if (!value.defaulted()) o.given.insert(name);
  if (o.ctx_len <= 0) throw std::invalid_argument("--ctx-len must be positive, got " + std::to_string(o.ctx_len));
  if (o.micro_batch <= 0) throw std::invalid_argument("--micro-batch must be positive, got " + std::to_string(o.micro_batch));
  if (o.steps < 0 || o.tokens < 0) throw std::invalid_argument("--steps and --tokens must be >= 0");
  if (o.keep_last < 0) throw std::invalid_argument("--keep-last must be >= 0, got " + std::to_string(o.keep_last));
  if (o.stop_at < 0) throw std::invalid_argument("--stop-at must be >= 0, got " + std::to_string(o.stop_at));
  if (!(o.time_limit >= 0)) throw std::invalid_argument("--time-limit must be >= 0 minutes, got " + std::to_string(o.time_limit));
  if (o.save_dtype != "float32" && o.save_dtype != "float16" && o.save_dtype != "bfloat16")
    throw std::invalid_argument("--save-dtype must be float32, float16 or bfloat16, got '" + o.save_dtype + "'");
  if (o.data.empty() && o.resume.empty()) throw std::invalid_argument("--data FILE is required (or --resume CKPT)");
  if (o.task != "text" && o.task != "txt2img") throw std::invalid_argument("--task must be text or txt2img, got '" + o.task + "'");
  if (o.rounding != "random" && o.rounding != "nearest")
    throw std::invalid_argument("--rounding must be random or nearest, got '" + o.rounding + "'");
  if (!(o.text_first_ratio >= 0 && o.text_first_ratio <= 1))
    throw std::invalid_argument("--text-first-ratio must be in [0, 1], got " + std::to_string(o.text_first_ratio));
  if (o.caption_bytes < 1) throw std::invalid_argument("--caption-bytes must be positive, got " + std::to_string(o.caption_bytes));
  if (o.task == "txt2img") {
    for (const char* text_only : {"vocab-size", "val-fraction", "sample"})
      if (o.given.count(text_only))
        throw std::invalid_argument(std::string("--") + text_only + " does not apply to --task txt2img");
    const int T = image::sample_length(o.caption_bytes);
    if (o.given.count("ctx-len") && o.ctx_len != T)
      throw std::invalid_argument("--ctx-len " + std::to_string(o.ctx_len) + ": a txt2img sample is " + std::to_string(T) +
                                  " tokens (1026 + --caption-bytes); leave --ctx-len out");
    o.ctx_len = T;
  } else if (o.resume.empty()) {  // a resumed run learns its task from the checkpoint
    reject_image_options(o);
  }
  if (!o.resume.empty() && !o.given.count("save")) o.save = o.resume;
  if (o.log.empty()) o.log = o.save + ".jsonl";
  return o;
}

std::string exact(double value) {
  std::ostringstream text;
  text.precision(17);
  text << value;
  return text.str();
}

// A resumed run takes the model, schedule and data options from the checkpoint; an option given
// with a different value would silently change the run, so it is an error.
void adopt_checkpoint(Options& o, ModelConfig& config, const ModelConfig& saved, const TrainingState& s, int ranks) {
  const auto adopt = [&](const char* option, auto& value, auto stored) {
    using Value = std::remove_reference_t<decltype(value)>;
    if (o.given.count(option) && value != Value(stored))
      throw std::invalid_argument("--" + std::string(option) + " " + exact(double(value)) + " conflicts with " +
                                  exact(double(stored)) + " in " + o.resume + "; leave it out when resuming");
    value = Value(stored);
  };
  adopt("n-layer", config.n_layer, saved.n_layer);
  adopt("n-embd", config.n_embd, saved.n_embd);
  if (config.dim_ffn == 0) config.dim_ffn = 4 * config.n_embd;
  adopt("dim-ffn", config.dim_ffn, saved.ffn());
  adopt("image-positions", o.image_positions, saved.image_positions);
  config.image_positions = saved.image_positions;
  if (o.vocab_size == 0) o.given.erase("vocab-size");
  adopt("vocab-size", o.vocab_size, saved.vocab_size);
  adopt("ctx-len", o.ctx_len, s.ctx_len);
  // The checkpoint counts the sequences of a step over all ranks.
  if (s.micro_batch % ranks != 0)
    throw std::invalid_argument(o.resume + " trained " + std::to_string(s.micro_batch) + " sequences a step, which " +
                                std::to_string(ranks) + " ranks cannot share evenly");
  adopt("micro-batch", o.micro_batch, s.micro_batch / ranks);
  adopt("seed", o.seed, s.seed);
  adopt("lr-init", o.optimizer.lr_init, s.optimizer.lr_init);
  adopt("lr-final", o.optimizer.lr_final, s.optimizer.lr_final);
  adopt("warmup-steps", o.optimizer.warmup_steps, s.optimizer.warmup_steps);
  adopt("beta1", o.optimizer.beta1, s.optimizer.beta1);
  adopt("beta2", o.optimizer.beta2, s.optimizer.beta2);
  adopt("adam-eps", o.optimizer.eps, s.optimizer.eps);
  adopt("weight-decay", o.optimizer.weight_decay, s.optimizer.weight_decay);
  adopt("grad-clip", o.optimizer.grad_clip, s.optimizer.grad_clip);
  adopt("layerwise-lr", o.optimizer.layerwise_lr, s.optimizer.layerwise_lr);
  adopt("l2wrap", o.l2wrap, s.l2wrap);
  adopt("val-fraction", o.val_fraction, s.val_fraction);
  const auto adopt_text = [&](const char* option, std::string& value, const std::string& stored) {
    if (o.given.count(option) && value != stored)
      throw std::invalid_argument("--" + std::string(option) + " " + value + " conflicts with " + stored + " in " + o.resume +
                                  "; leave it out when resuming");
    value = stored;
  };
  adopt_text("task", o.task, s.task);
  if (s.task == "txt2img") {
    adopt("caption-bytes", o.caption_bytes, s.caption_bytes);
    adopt_text("rounding", o.rounding, s.rounding);
    adopt("soft-targets", o.soft_targets, s.soft_targets);
    adopt("text-first-ratio", o.text_first_ratio, s.text_first_ratio);
  } else {
    reject_image_options(o);
  }
  // --steps / --tokens set a new length (the schedule stretches to it); by default the run's own.
  if (!o.given.count("steps") && !o.given.count("tokens")) o.steps = s.optimizer.total_steps;
}

// "run/model.h5", step 100 -> "run/model-step000100.h5"
std::string numbered_path(const std::string& save, long step) {
  const std::filesystem::path p(save);
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06ld", step);
  return (p.parent_path() / (p.stem().string() + "-step" + digits + p.extension().string())).string();
}

// Deletes numbered checkpoints of `save` beyond the newest `keep`.
void prune_numbered(const std::string& save, int keep) {
  namespace fs = std::filesystem;
  const fs::path p(save);
  const fs::path directory = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  const std::string head = p.stem().string() + "-step", tail = p.extension().string();
  std::map<long, fs::path> numbered;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < head.size() + 6 + tail.size() || name.compare(0, head.size(), head) != 0 ||
        name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
      continue;
    const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      numbered[std::stol(digits)] = entry.path();
  }
  while (numbered.size() > std::size_t(keep)) {
    fs::remove(numbered.begin()->second);
    numbered.erase(numbered.begin());
  }
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

using GradStaging = decltype(Kokkos::create_mirror_view(std::declval<TrainModel&>().grads().flat));

// Averages the gradients of the ranks in place: on the device with NCCL, else through `staging`,
// host memory made once per run (the gradients themselves where the space's memory is the host's).
void average_gradients(cli::Ranks& ranks, TrainModel& model, const GradStaging& staging) {
  const auto grads = model.grads().flat;
#if RWKV_HAVE_NCCL
  if constexpr (std::is_same_v<Space, Kokkos::Cuda>) {
    model.space().fence();
    ranks.sum_in_place_on_device(grads.data(), grads.size(), model.space().cuda_stream());
  } else
#endif
  {
    Kokkos::deep_copy(staging, grads);
    ranks.sum_in_place(staging.data(), staging.size());
    Kokkos::deep_copy(grads, staging);
  }
  const float scale = 1.0f / float(ranks.size());
  Kokkos::parallel_for(
      "rwkv-train::average_gradients", Kokkos::RangePolicy<Space>(model.space(), 0, grads.size()),
      KOKKOS_LAMBDA(std::size_t i) { grads(i) *= scale; });
  model.space().fence();
}

// FNV-1a of the weights' bytes: ranks that applied the same steps hold the same bits.
std::uint64_t weights_checksum(TrainModel& model) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.weights().flat);
  return fnv1a64(std::as_bytes(std::span(host.data(), host.size())));
}

int train(Options o, cli::Ranks& ranks) {
  ModelConfig config = o.model;
  std::optional<TrainingState> resumed;
  if (!o.resume.empty()) {
    resumed = read_training_state(o.resume);
    adopt_checkpoint(o, config, read_config(o.resume), *resumed, ranks.size());
    // The weights are saved as the resumed file stores them unless told otherwise.
    const std::string stored = inspect_checkpoint(o.resume).weight_dtype;
    if (!o.given.count("save-dtype") && (stored == "float16" || stored == "bfloat16")) o.save_dtype = stored;
    if (o.data.empty()) o.data = resumed->data_source;
  }
  // Each rank trains micro_batch sequences of every step: the step's batch is all of theirs.
  const int global_batch = o.micro_batch * ranks.size();
  if (o.tokens > 0) o.steps = (o.tokens + long(o.ctx_len) * global_batch - 1) / (long(o.ctx_len) * global_batch);
  const WeightDtype save_dtype = parse_weight_dtype(o.save_dtype);
  // The data: a token file, or for txt2img an image data set (its samples built step by step).
  TokenData data;
  std::optional<txt2img::Data> images;
  std::uint64_t data_hash = 0;
  long data_count = 0;
  if (o.task == "txt2img") {
    images = txt2img::load_data(o.data, image::SampleOptions{o.caption_bytes, o.text_first_ratio,
                                                             o.rounding == "random" ? image::Rounding::random
                                                                                    : image::Rounding::nearest,
                                                             o.seed});
    data.source = o.data;
    data.vocab_size = image::vocab::size;
    data_hash = image::dataset_fingerprint(images->set);
    data_count = long(images->set.size());
  } else {
    data = load_tokens(o.data, o.vocab_size);
    data_hash = token_hash(data.tokens.data(), data.tokens.size());
    data_count = long(data.tokens.size());
  }
  const char* unit = images ? "images" : "tokens";
  if (resumed && (data_count != resumed->data_tokens || data_hash != resumed->data_hash))
    throw std::runtime_error(o.data + ": " + std::to_string(data_count) + " " + unit + " that differ from the " +
                             std::to_string(resumed->data_tokens) + " " + unit + " of " + resumed->data_source + " that " +
                             o.resume + " was trained on: resume on the same data");
  const long first_step = resumed ? resumed->step : 0;
  if (o.steps < first_step)
    throw std::invalid_argument("--steps " + std::to_string(o.steps) + " is fewer than the " + std::to_string(first_step) +
                                " steps " + o.resume + " has done");
  long last_step = o.stop_at > 0 ? std::min(o.stop_at, o.steps) : o.steps;
  if (last_step < first_step)
    throw std::invalid_argument("--stop-at " + std::to_string(o.stop_at) + " is before step " + std::to_string(first_step) +
                                " of " + o.resume);
  const DataSplit split = images ? DataSplit{} : split_train_val(data, o.ctx_len, o.val_fraction);
  config.vocab_size = data.vocab_size;
  if (images) config.image_positions = o.image_positions;
  TrainModel model(config, TrainingShape{o.micro_batch, o.ctx_len, o.recompute});
  OptimizerConfig opt_config = o.optimizer;
  opt_config.total_steps = o.steps;
  AdamW<Space, float> optimizer(model.specs(), opt_config);
  if (resumed)
    load_training(o.resume, model, optimizer);
  else
    model.initialize(o.seed);
  const double params = double(parameter_count(model.specs()));
  // Rank 0 speaks for the run: it prints, logs and saves; errors still reach stderr from any rank.
  if (!ranks.root() && !std::freopen("/dev/null", "w", stdout)) throw std::runtime_error("cannot silence rank output");
  if (images)
    std::printf("rwkv-train: %s, %zu images (%zu train, %zu held out), txt2img samples of %d tokens, vocab %d; "
                "position channels %s, %s rounding, soft targets %s, caption first in %.0f%% of samples\n",
                data.source.c_str(), images->set.size(), images->train.size(), images->heldout.size(), o.ctx_len,
                config.vocab_size, o.image_positions ? "on" : "off", o.rounding == "random" ? "RandRound" : "nearest",
                o.soft_targets ? "on" : "off", 100 * o.text_first_ratio);
  else
    std::printf("rwkv-train: %s, %zu tokens (%zu train, %zu validation), vocab %d\n", data.source.c_str(),
                data.tokens.size(), split.train.size(), split.val.size(), config.vocab_size);
  std::printf("rwkv-train: RWKV-4 L%d D%d F%d, %.2fM parameters, ctx %d x batch %d, %ld steps, %d threads on %s\n",
              config.n_layer, config.n_embd, config.ffn(), params / 1e6, o.ctx_len, global_batch, o.steps,
              Space().concurrency(), Space::name());
  if (ranks.size() > 1)
    std::printf("rwkv-train: %d ranks (MPI) x micro-batch %d; gradients averaged every step\n", ranks.size(), o.micro_batch);
  if (resumed) std::printf("rwkv-train: resuming %s at step %ld\n", o.resume.c_str(), first_step);
  std::fflush(stdout);

  TrainingState state;
  state.step = first_step;
  state.seed = o.seed;
  state.ctx_len = o.ctx_len;
  state.micro_batch = global_batch;
  state.lr = resumed ? resumed->lr : 0.0;
  state.optimizer = opt_config;
  state.l2wrap = o.l2wrap;
  state.val_fraction = o.val_fraction;
  state.data_source = data.source;
  state.data_tokens = data_count;
  state.data_hash = data_hash;
  if (images) {
    state.task = "txt2img";
    state.caption_bytes = o.caption_bytes;
    state.rounding = o.rounding;
    state.soft_targets = o.soft_targets;
    state.text_first_ratio = o.text_first_ratio;
  }
  const auto save = [&](long step) {
    if (!ranks.root()) return;
    state.step = step;
    if (o.keep_last > 0) {
      const std::string numbered = numbered_path(o.save, step);
      save_training(numbered, model, optimizer, state, save_dtype);
      publish_copy(numbered, o.save);
      prune_numbered(o.save, o.keep_last);
    } else {
      save_training(o.save, model, optimizer, state, save_dtype);
    }
  };
  if (o.steps == 0) {
    save(0);
    std::printf("rwkv-train: saved the initialized model to %s\n", o.save.c_str());
    return 0;
  }

  // A resumed run appends to the log it continues; ranks other than 0 write none.
  std::ofstream log;
  if (ranks.root()) {
    log.open(o.log, resumed ? std::ios::app : std::ios::trunc);
    if (!log) throw std::runtime_error(o.log + ": cannot open the log for writing");
  }
  std::optional<WindowSampler> sampler;  // the text task's windows
  if (!images) sampler.emplace(split.train.size(), o.ctx_len, o.seed);
  // This rank's rows of the step's batch: rank r trains sequences r * micro_batch ... of it.
  const int N = o.micro_batch * o.ctx_len, global_N = global_batch * o.ctx_len;
  std::vector<std::int32_t> inputs(global_N), targets(global_N);
  const std::int32_t *rank_inputs = inputs.data() + std::size_t(ranks.rank()) * N,
                     *rank_targets = targets.data() + std::size_t(ranks.rank()) * N;
  typename TrainModel::TokenView tokens("tokens", N), target_view("targets", N);
  std::optional<txt2img::StepViews<TrainModel>> image_views;
  if (images) image_views.emplace(o.micro_batch, o.ctx_len, o.soft_targets);
  const bool tty = ranks.root() && isatty(fileno(stderr));
  const auto start = Clock::now();
  double val_loss = std::nan("");
  double allreduce_seconds = 0;
  const GradStaging grad_staging = Kokkos::create_mirror_view(model.grads().flat);
  txt2img::HeldoutScore heldout;
  // max_windows: validation windows of a token file, held-out images of an image data set (0: all).
  auto validate = [&](long step, std::size_t max_windows) {
    if (!ranks.root()) return;
    if (images) {
      if (images->heldout.empty()) return;
      heldout = txt2img::evaluate_heldout(model, *images, max_windows);
      val_loss = heldout.nats_per_image_token;
      log << "{\"step\":" << step << ",\"val_loss\":" << exact(val_loss) << ",\"val_bits_per_image_token\":"
          << val_loss / std::log(2.0) << ",\"val_bits_per_subpixel\":" << val_loss / std::log(2.0) / 3
          << ",\"val_bits_per_caption_byte\":" << heldout.nats_per_caption_byte / std::log(2.0)
          << ",\"val_images\":" << heldout.images << "}\n" << std::flush;
      return;
    }
    if (split.val.empty()) return;
    val_loss = windowed_loss(model, split.val, max_windows).mean;
    log << "{\"step\":" << step << ",\"val_loss\":" << exact(val_loss)
        << ",\"val_bits_per_token\":" << val_loss / std::log(2.0) << "}\n" << std::flush;
  };
  for (long step = first_step; step < last_step; ++step) {
    model.zero_grad();
    double loss = 0;
    if (images) {
      // This rank's samples of the step: the step's samples r * micro_batch ... of rank r.
      image::fill_batch(images->batch, images->set, images->train, images->order, images->options,
                        std::uint64_t(step) * std::uint64_t(global_batch) + std::uint64_t(ranks.rank() * o.micro_batch),
                        o.micro_batch);
      image_views->load(images->batch);
      loss = model.forward(image_views->tokens, image_views->targets, image_views->positions, image_views->soft_levels);
    } else {
      fill_train_batch(split.train, *sampler, std::uint64_t(step), global_batch, inputs, targets);
      Kokkos::deep_copy(tokens, Kokkos::View<const int*, Kokkos::HostSpace>(rank_inputs, N));
      Kokkos::deep_copy(target_view, Kokkos::View<const int*, Kokkos::HostSpace>(rank_targets, N));
      loss = model.forward(tokens, target_view);
    }
    model.backward(o.l2wrap);
    if (ranks.size() > 1) {
      // Every rank's loss and gradient are means over equally many tokens: their means are the
      // step's, as one rank with the whole batch would compute them (up to summation order).
      const auto t0 = Clock::now();
      loss = ranks.sum(loss) / ranks.size();
      average_gradients(ranks, model, grad_staging);
      allreduce_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    if (!std::isfinite(loss)) throw std::runtime_error("loss became " + std::to_string(loss) + " at step " + std::to_string(step));
    const StepReport r = optimizer.step(model.space(), model.weights().flat, model.grads().flat, step);
    if (!std::isfinite(r.grad_norm))
      throw std::runtime_error("gradient norm became " + std::to_string(r.grad_norm) + " at step " + std::to_string(step + 1) +
                               "; the last good weights are in the last checkpoint");
    state.lr = r.lr;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = double(step + 1 - first_step) * global_N / elapsed;
    if (o.val_every > 0 && (step + 1) % o.val_every == 0 && step + 1 < o.steps) validate(step + 1, std::size_t(o.val_windows));
    log << "{\"step\":" << step + 1 << ",\"loss\":" << exact(loss) << ",\"lr\":" << exact(r.lr)
        << ",\"grad_norm\":" << exact(r.grad_norm) << ",\"tokens\":" << (step + 1) * global_N << ",\"elapsed_s\":" << elapsed
        << ",\"tokens_per_s\":" << rate;
    if (ranks.size() > 1) log << ",\"allreduce_s\":" << allreduce_seconds;
    log << "}\n";
    // --time-limit: rank 0's clock decides for every rank, so all stop after the same step.
    if (o.time_limit > 0 && step + 1 < last_step) {
      double over = ranks.root() && elapsed >= 60 * o.time_limit ? 1 : 0;
      if (ranks.size() > 1) over = ranks.sum(over);
      if (over > 0) last_step = step + 1;
    }
    if (ranks.size() > 1 && o.check_every > 0 && ((step + 1) % o.check_every == 0 || step + 1 == last_step) &&
        !ranks.all_equal(weights_checksum(model)))
      throw std::runtime_error("the ranks' weights differ after step " + std::to_string(step + 1) +
                               ": a rank diverged (hardware fault, or ranks built or run differently)");
    char val_text[32] = "-";
    if (!std::isnan(val_loss)) std::snprintf(val_text, sizeof val_text, "%.4f", val_loss);
    char line[256];
    std::snprintf(line, sizeof line, "step %ld/%ld  loss %.4f  val %s  lr %.2e  %.0f tok/s  ETA %s", step + 1, o.steps,
                  loss, val_text, r.lr, rate,
                  cli::format_duration(elapsed / double(step + 1 - first_step) * double(last_step - step - 1)).c_str());
    if (tty)
      std::fprintf(stderr, "\r%s\033[K", line);
    else if (ranks.root() && ((step + 1) % o.print_every == 0 || step + 1 == last_step))
      std::fprintf(stderr, "%s\n", line);
    if (o.save_every > 0 && (step + 1) % o.save_every == 0 && step + 1 < last_step) save(step + 1);
  }
  if (tty) std::fprintf(stderr, "\n");
  if (ranks.size() > 1) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("rwkv-train: all-reduce %.3f s of %.3f s (%.1f%% of the steps' time)\n", allreduce_seconds, elapsed,
                100 * allreduce_seconds / elapsed);
  }
  // The final validation of a txt2img run takes every held-out image.
  validate(last_step, images ? 0 : std::size_t(o.val_windows));
  save(last_step);
  log.flush();
  if (last_step < o.steps)
    std::printf("rwkv-train: stopped after step %ld of %ld; saved %s (continue with --resume); log %s\n", last_step,
                o.steps, o.save.c_str(), o.log.c_str());
  else
    std::printf("rwkv-train: saved %s; log %s\n", o.save.c_str(), o.log.c_str());
  if (images && !images->heldout.empty() && ranks.root()) {
    const double bits = heldout.nats_per_image_token / std::log(2.0);
    std::printf("rwkv-train: held-out (%ld images, caption first): %.4f bits per image token (%.4f per sub-pixel)\n",
                heldout.images, bits, bits / 3);
    std::printf("rwkv-train: unigram baseline: %.4f bits per image token\n",
                image::unigram_bits_per_image_token(images->set, images->train, images->heldout));
    std::printf("rwkv-train: held-out captions given their image: %.4f bits per byte\n",
                heldout.nats_per_caption_byte / std::log(2.0));
  }
  if (!split.val.empty()) {
    std::printf("rwkv-train: validation: %.4f bits per token (%.4f nats)\n", val_loss / std::log(2.0), val_loss);
    std::printf("rwkv-train: unigram baseline: %.4f bits per token\n", unigram_bits(split.train, split.val, config.vocab_size));
  }
  if (o.sample > 0 && ranks.root()) std::printf("rwkv-train: greedy sample:\n%s%s\n", o.prompt.c_str(), greedy_sample(model, o.prompt, o.sample).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cli::Ranks ranks(argc, argv);
  const int rc = cli::guarded_main("rwkv-train", [&] {
    const auto options = parse_options(argc, argv);
    if (!options) return 0;
    cli::KokkosRuntime runtime(options->threads);
    return train(*options, ranks);
  });
  if (rc != 0 && ranks.size() > 1) ranks.abort(rc);
  return rc;
}
