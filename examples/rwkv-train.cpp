// rwkv-train: trains a model (--arch v4 or v7, default v4) on a token file (raw bytes, binidx or .npy uint16), or with
// --task txt2img on an image data set (rwkv-image-data): captions and 32x32 images in one sequence.
// Options follow RWKV-LM's names in kebab case; every option can also come from --config FILE.
// The run itself is the library's Trainer (rwkv/training.hpp); under MPI each process is a rank.
#include "cli.hpp"
#include "ranks.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/training.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;

struct Options {
  TrainingOptions training;
  std::string arch = "v4";
  int threads = 0;
  int sample = 0;
  std::string prompt = "\n";
  std::string precision = "fp32";
};

const char* usage =
    "usage: rwkv-train --data FILE [options]\n"
    "Trains an RWKV model (--arch: v4, v7) on FILE (raw bytes: vocabulary 256; .bin/.idx binidx or .npy uint16 token files)\n"
    "and saves an HDF5 checkpoint. A progress line goes to the terminal; a JSON-lines log always.\n"
    "--resume CKPT continues a run exactly from a checkpoint rwkv-train wrote (model, schedule and data\n"
    "options come from it; giving one with another value is an error; --steps may extend the run).\n"
    "--task txt2img --data SET.h5 trains on an image data set: each sample is a caption and its 32x32\n"
    "image, in either order (vocabulary 773; ctx-len 1026 + caption-bytes); validation on its held-out\n"
    "images reports bits per image token against the unigram baseline.";

std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  TrainingOptions& o = options.training;
  namespace po = cli::po;
  po::options_description d("options");
  d.add_options()
      ("data", po::value(&o.data), "training data file (with --resume: the checkpoint's by default)")
      ("arch", po::value(&options.arch)->default_value(options.arch), "architecture of a new run: v4 or v7 (a resumed run keeps its own)")
      ("vocab-size", po::value(&o.vocab_size)->default_value(o.vocab_size), "vocabulary size (0: from the data)")
      ("n-layer", po::value(&o.model.n_layer)->default_value(o.model.n_layer), "layers")
      ("n-embd", po::value(&o.model.n_embd)->default_value(o.model.n_embd), "embedding width C")
      ("dim-ffn", po::value(&o.model.dim_ffn)->default_value(o.model.dim_ffn), "channel-mix width (0: 4 * n-embd)")
      ("head-size", po::value(&o.model.head_size)->default_value(o.model.head_size), "v7: channels of a WKV head (8, 16, 32 or 64); LoRA ranks follow n-embd as RWKV-LM's")
      ("ctx-len", po::value(&o.ctx_len)->default_value(o.ctx_len), "tokens per training sequence")
      ("micro-batch", po::value(&o.micro_batch)->default_value(o.micro_batch), "sequences per step (per rank under MPI)")
      ("lr-init", po::value(&o.optimizer.lr_init)->default_value(o.optimizer.lr_init), "learning rate at the start")
      ("lr-final", po::value(&o.optimizer.lr_final), "learning rate at the end, exponential decay (default v4: 1e-05, v7: 6e-05)")
      ("warmup-steps", po::value(&o.optimizer.warmup_steps)->default_value(o.optimizer.warmup_steps), "linear warmup steps")
      ("beta1", po::value(&o.optimizer.beta1)->default_value(o.optimizer.beta1), "Adam beta1")
      ("beta2", po::value(&o.optimizer.beta2)->default_value(o.optimizer.beta2), "Adam beta2")
      ("adam-eps", po::value(&o.optimizer.eps), "Adam epsilon (default v4: 1e-08, v7: 1e-18)")
      ("weight-decay", po::value(&o.optimizer.weight_decay), "AdamW weight decay of the matrices (v7: not the LoRAs; default v4: 0, v7: 0.001)")
      ("grad-clip", po::value(&o.optimizer.grad_clip)->default_value(o.optimizer.grad_clip), "max global gradient norm (0: off)")
      ("layerwise-lr", po::value(&o.optimizer.layerwise_lr)->default_value(o.optimizer.layerwise_lr), "v4: time_decay at 2x, time_first at 3x the lr; v7: w0 at 2x")
      ("l2wrap", po::value(&o.l2wrap)->default_value(o.l2wrap), "RWKV-LM's L2Wrap logit penalty factor (0: off)")
      ("steps", po::value(&o.steps)->default_value(o.steps), "optimizer steps (0: save the initial model and stop)")
      ("tokens", po::value(&o.tokens)->default_value(o.tokens), "train on this many tokens instead of --steps")
      ("seed", po::value(&o.seed)->default_value(o.seed), "seed for initialization and data order")
      ("threads", po::value(&options.threads)->default_value(options.threads), "host threads (0: Kokkos' default)")
      ("val-fraction", po::value(&o.val_fraction)->default_value(o.val_fraction), "held-out tail of the data")
      ("val-every", po::value(&o.val_every)->default_value(o.val_every), "validate every N steps (0: only at the end)")
      ("val-windows", po::value(&o.val_windows)->default_value(o.val_windows), "validation windows of ctx-len tokens (0: all)")
      ("save", po::value(&o.save)->default_value(o.save), "checkpoint path (HDF5; with --resume: the resumed file)")
      ("save-every", po::value(&o.save_every)->default_value(o.save_every), "also save every N steps (0: only at the end)")
      ("save-dtype", po::value(&o.save_dtype)->default_value(o.save_dtype), "weights stored as float32, float16 or bfloat16 (training state stays exact)")
      ("keep-last", po::value(&o.keep_last)->default_value(o.keep_last), "also keep the last N checkpoints as SAVE-stepNNNNNN.h5 (0: none)")
      ("resume", po::value(&o.resume)->default_value(o.resume), "continue the run of this training checkpoint")
      ("stop-at", po::value(&o.stop_at)->default_value(o.stop_at), "stop (and save) after this step, to --resume later (0: run to --steps)")
      ("time-limit", po::value(&o.time_limit)->default_value(o.time_limit), "stop (and save) after the step that passes this many minutes (0: none)")
      ("log", po::value(&o.log)->default_value(o.log), "JSON-lines log (default: the --save path + .jsonl)")
      ("print-every", po::value(&o.print_every)->default_value(o.print_every), "progress line every N steps when not on a terminal")
      ("check-every", po::value(&o.check_every)->default_value(o.check_every), "under MPI: compare the ranks' weights every N steps (0: never)")
      ("recompute", po::bool_switch(&o.recompute), "recompute activations in backward (less memory)")
      ("precision", po::value(&options.precision)->default_value(options.precision), "products in fp32, or bf16 (float32 master weights, optimizer, WKV, norms, loss)")
      ("sample", po::value(&options.sample)->default_value(options.sample), "print a greedy sample of N tokens at the end")
      ("prompt", po::value(&options.prompt)->default_value(options.prompt), "prompt of the sample (bytes)")
      ("task", po::value(&o.task)->default_value(o.task), "text (a token file) or txt2img (an image data set)")
      ("image-positions", po::value(&o.image_positions)->default_value(o.image_positions), "txt2img: 2D position channels on image tokens")
      ("rounding", po::value(&o.rounding)->default_value(o.rounding), "txt2img: pixel levels by random (RandRound) or nearest rounding")
      ("soft-targets", po::bool_switch(&o.soft_targets), "txt2img: pixel loss against both RandRound neighbours")
      ("text-first-ratio", po::value(&o.text_first_ratio)->default_value(o.text_first_ratio), "txt2img: share of samples with the caption first")
      ("caption-bytes", po::value(&o.caption_bytes)->default_value(o.caption_bytes), "txt2img: caption field of a sample");
  auto vm = cli::parse(argc, argv, d, usage);
  if (!vm) return std::nullopt;
  cli::require_finite(*vm);
  o.model.arch = arch_name(options.arch);
  for (const auto& [name, value] : *vm)
    if (!value.defaulted()) o.given.insert(name);
  // The version's AdamW defaults where the options leave them out (a resumed run takes its own).
  with_arch(o.model.arch, [&](auto version) {
    using Version = decltype(version);
    if (!o.given.count("lr-final")) o.optimizer.lr_final = Version::lr_final;
    if (!o.given.count("adam-eps")) o.optimizer.eps = Version::adam_eps;
    if (!o.given.count("weight-decay")) o.optimizer.weight_decay = Version::weight_decay;
  });
  if (o.given.count("head-size") && o.resume.empty() && !has_head_shapes(o.model))
    throw std::invalid_argument("--head-size applies to --arch v7 only");
  if (o.ctx_len <= 0) throw std::invalid_argument("--ctx-len must be positive, got " + std::to_string(o.ctx_len));
  if (o.micro_batch <= 0) throw std::invalid_argument("--micro-batch must be positive, got " + std::to_string(o.micro_batch));
  if (o.steps < 0 || o.tokens < 0) throw std::invalid_argument("--steps and --tokens must be >= 0");
  if (o.keep_last < 0) throw std::invalid_argument("--keep-last must be >= 0, got " + std::to_string(o.keep_last));
  for (const auto& [name, value] : {std::pair{"val-every", o.val_every}, std::pair{"val-windows", o.val_windows},
                                    std::pair{"save-every", o.save_every}, std::pair{"check-every", o.check_every}})
    if (value < 0) throw std::invalid_argument("--" + std::string(name) + " must be >= 0, got " + std::to_string(value));
  if (o.print_every <= 0) throw std::invalid_argument("--print-every must be positive, got " + std::to_string(o.print_every));
  if (o.stop_at < 0) throw std::invalid_argument("--stop-at must be >= 0, got " + std::to_string(o.stop_at));
  if (!(o.time_limit >= 0)) throw std::invalid_argument("--time-limit must be >= 0 minutes, got " + std::to_string(o.time_limit));
  if (o.save_dtype != "float32" && o.save_dtype != "float16" && o.save_dtype != "bfloat16")
    throw std::invalid_argument("--save-dtype must be float32, float16 or bfloat16, got '" + o.save_dtype + "'");
  if (options.precision != "fp32" && options.precision != "bf16")
    throw std::invalid_argument("--precision must be fp32 or bf16, got '" + options.precision + "'");
  o.precision = parse_precision(options.precision);
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
  return options;
}

// Greedy continuation of `prompt` in parallel mode over a window of the last T tokens (RNN-mode
// generation is rwkv-generate's job); causal, so positions after the context do not matter.
template <class TrainModel>
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

template <class TrainModel>
int train(const Options& options, cli::Ranks& ranks) {
  Trainer<TrainModel> trainer(options.training, ranks, TrainingOutput{"rwkv-train"});
  trainer.run();
  // A run of no steps only saved the initialized model.
  if (options.sample > 0 && ranks.root() && trainer.options().steps > 0)
    std::printf("rwkv-train: greedy sample:\n%s%s\n", options.prompt.c_str(),
                greedy_sample(trainer.model(), options.prompt, options.sample).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cli::Ranks ranks(argc, argv);
  const int rc = cli::guarded_main("rwkv-train", [&] {
    const auto options = parse_options(argc, argv);
    if (!options) return 0;
    cli::KokkosRuntime runtime(options->threads);
    // A resumed run is of its checkpoint's version (a different --arch is then a conflict).
    const TrainingOptions& o = options->training;
    const std::string arch = o.resume.empty() ? o.model.arch : read_config(o.resume).arch;
    return with_arch(arch, [&](auto version) { return train<Model<decltype(version), Space, float>>(*options, ranks); });
  });
  if (rc != 0 && ranks.size() > 1) ranks.abort(rc);
  return rc;
}
