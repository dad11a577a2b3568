// Trainer<Model>: a training run (training_options.hpp says what a run is) on a token file or, with
// task txt2img, on an image data set: the step loop under AdamW with RWKV-LM's schedule, L2Wrap
// and clipping; validation against the held-out data and its unigram baseline; the JSON-lines log
// (training_log.hpp); checkpoints (checkpoint_rotation.hpp), from which a resumed run continues
// bit for bit; and data parallelism through a GradientReducer: rank r trains sequences
// r * micro_batch ... of every step's batch, the gradients are averaged, and every rank applies the
// same step. Rank 0 alone reports, logs, validates and saves.
// Model is any version's Model<Version, ExecSpace, Scalar> (its training interface: a constructor from
// (ModelConfig, TrainingShape), initialize(seed), forward, backward(l2wrap), zero_grad, weights(),
// grads() (flat views laid out by specs()), config(), shape(), space(), row_losses(), and the
// types version, execution_space, scalar_type, TokenView, PositionView and LevelView).
#pragma once

#include <rwkv/checkpoint.hpp>
#include <rwkv/checkpoint_rotation.hpp>
#include <rwkv/config.hpp>
#include <rwkv/data.hpp>
#include <rwkv/evaluate.hpp>
#include <rwkv/gradient_reducer.hpp>
#include <rwkv/model.hpp>
#include <rwkv/image/vocabulary.hpp>
#include <rwkv/kernels/gemm_bf16.hpp>
#include <rwkv/optimizer.hpp>
#include <rwkv/training_log.hpp>
#include <rwkv/training_options.hpp>
#include <rwkv/txt2img_data.hpp>
#include <rwkv/txt2img_evaluate.hpp>

#include <Kokkos_Core.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace rwkv {

// Where a run reports, on rank 0: lines "NAME: ..." to `report`, and the progress line to
// `progress` (rewritten in place on a terminal, else every print_every steps). Null: nowhere.
struct TrainingOutput {
  std::string name = "train";
  std::FILE* report = stdout;
  std::FILE* progress = stderr;
};

// "1h02m", "3m07s", "42s"; "?" for a time that is negative, not a number or past three years.
std::string format_duration(double seconds);

// "RWKV-4" for the tag v4 (name "rwkv-4"): how reports name an architecture.
std::string architecture_title(const char* tag_name);

template <class ModelT>
class Trainer {
 public:
  using Space = typename ModelT::execution_space;
  using Scalar = typename ModelT::scalar_type;
  using Optimizer = AdamW<Space, Scalar>;

  // Resumes options.resume when given (resume_options), reads the data, and builds the model and
  // its optimizer, initialized from the seed or loaded from the checkpoint. std::invalid_argument
  // for options that contradict each other or the checkpoint; std::runtime_error for files that
  // cannot be read and data other than the checkpoint's.
  Trainer(TrainingOptions options, GradientReducer& reducer, TrainingOutput output = {});

  // Trains from first_step() to last_step(), validating every val_every steps and saving every
  // save_every; then validates, saves and reports. With steps 0 it saves the initialized model.
  // std::runtime_error when the loss or the gradient norm stops being finite (the weights of the
  // last checkpoint stay as they were).
  void run();

  // As the run uses them: with the checkpoint's, the default paths, the data's vocabulary and the
  // run's length filled in.
  const TrainingOptions& options() const { return o_; }
  ModelT& model() { return *model_; }
  Optimizer& optimizer() { return *optimizer_; }
  const TrainingState& state() const { return state_; }  // the /train group of the run's saves
  long first_step() const { return first_step_; }
  long last_step() const { return last_step_; }  // a time limit may end the run earlier
  // Of the last validation: nats per token (per image token for txt2img); NaN before the first.
  double validation_loss() const { return val_loss_; }

 private:
  using Clock = std::chrono::steady_clock;
  using GradView = std::remove_cvref_t<decltype(std::declval<ModelT&>().grads().flat)>;

  void print_header() const;
  void prepare_steps();
  double train_step(long step);  // the loss, averaged over the ranks
  void validate(long step, std::size_t max_windows);
  void save(long step);
  void print_progress(long done, double loss, double lr, double rate, double elapsed) const;
  void print_summary() const;

  TrainingOptions o_;
  GradientReducer& reducer_;
  TrainingOutput output_;
  std::optional<TrainingState> resumed_;
  int global_batch_ = 0;  // sequences of a step over all ranks
  WeightDtype save_dtype_ = WeightDtype::float32;
  TokenData data_;  // of an image data set: its source and vocabulary only
  std::optional<Txt2ImgData> images_;
  std::uint64_t data_hash_ = 0;
  long data_count_ = 0;
  DataSplit split_;
  long first_step_ = 0, last_step_ = 0;
  std::unique_ptr<ModelT> model_;
  std::unique_ptr<Optimizer> optimizer_;
  TrainingState state_;
  TrainingLog log_;
  // The step loop's buffers. Text: the step's whole batch on the host, this rank's rows on the device.
  std::optional<WindowSampler> sampler_;
  std::vector<std::int32_t> inputs_, targets_;
  typename ModelT::TokenView input_view_, target_view_;
  std::optional<Txt2ImgViews<ModelT>> image_views_;
  typename GradView::host_mirror_type grad_staging_;  // with several ranks
  bool tty_ = false;
  double val_loss_ = std::nan(""), allreduce_seconds_ = 0;
  Txt2ImgHeldoutScore heldout_;
};

template <class ModelT>
Trainer<ModelT>::Trainer(TrainingOptions options, GradientReducer& reducer, TrainingOutput output)
    : o_(std::move(options)), reducer_(reducer), output_(std::move(output)) {
  if (!reducer_.root()) output_.report = output_.progress = nullptr;
  default_paths(o_);
  if (!o_.resume.empty()) resumed_ = resume_options(o_, reducer_.size());
  global_batch_ = o_.micro_batch * reducer_.size();
  if (o_.tokens > 0) o_.steps = (o_.tokens + long(o_.ctx_len) * global_batch_ - 1) / (long(o_.ctx_len) * global_batch_);
  save_dtype_ = parse_weight_dtype(o_.save_dtype);
  if (o_.task == "txt2img") {
    const auto rounding = o_.rounding == "random" ? image::Rounding::random : image::Rounding::nearest;
    images_.emplace(load_txt2img_data(o_.data, image::SampleOptions{o_.caption_bytes, o_.text_first_ratio, rounding, o_.seed}));
    data_.source = o_.data;
    data_.vocab_size = image::vocab::size;
    data_hash_ = image::dataset_fingerprint(images_->set);
    data_count_ = long(images_->set.size());
  } else {
    data_ = load_tokens(o_.data, o_.vocab_size);
    data_hash_ = token_hash(data_.tokens.data(), data_.tokens.size());
    data_count_ = long(data_.tokens.size());
  }
  const char* unit = images_ ? "images" : "tokens";
  if (resumed_ && (data_count_ != resumed_->data_tokens || data_hash_ != resumed_->data_hash))
    throw std::runtime_error(o_.data + ": " + std::to_string(data_count_) + " " + unit + " that differ from the " +
                             std::to_string(resumed_->data_tokens) + " " + unit + " of " + resumed_->data_source +
                             " that " + o_.resume + " was trained on: resume on the same data");
  first_step_ = resumed_ ? resumed_->step : 0;
  if (o_.steps < first_step_)
    throw std::invalid_argument("--steps " + std::to_string(o_.steps) + " is fewer than the " + std::to_string(first_step_) +
                                " steps " + o_.resume + " has done");
  last_step_ = o_.stop_at > 0 ? std::min(o_.stop_at, o_.steps) : o_.steps;
  if (last_step_ < first_step_)
    throw std::invalid_argument("--stop-at " + std::to_string(o_.stop_at) + " is before step " + std::to_string(first_step_) +
                                " of " + o_.resume);
  if (!images_) split_ = split_train_val(data_, o_.ctx_len, o_.val_fraction);
  o_.model.vocab_size = data_.vocab_size;
  if (images_) o_.model.image_positions = o_.image_positions;
  o_.optimizer.total_steps = o_.steps;
  model_ = std::make_unique<ModelT>(o_.model, TrainingShape{o_.micro_batch, o_.ctx_len, o_.recompute, o_.precision});
  optimizer_ = std::make_unique<Optimizer>(model_->specs(), o_.optimizer);
  if (resumed_)
    load_training(o_.resume, *model_, *optimizer_);
  else
    model_->initialize(o_.seed);

  state_.step = first_step_;
  state_.seed = o_.seed;
  state_.ctx_len = o_.ctx_len;
  state_.micro_batch = global_batch_;
  state_.lr = resumed_ ? resumed_->lr : 0.0;
  state_.optimizer = o_.optimizer;
  state_.l2wrap = o_.l2wrap;
  state_.val_fraction = o_.val_fraction;
  state_.data_source = data_.source;
  state_.data_tokens = data_count_;
  state_.data_hash = data_hash_;
  if (images_) {
    state_.task = "txt2img";
    state_.caption_bytes = o_.caption_bytes;
    state_.rounding = o_.rounding;
    state_.soft_targets = o_.soft_targets;
    state_.text_first_ratio = o_.text_first_ratio;
  }
}

template <class ModelT>
void Trainer<ModelT>::run() {
  print_header();
  std::FILE* const out = output_.report;
  const char* const name = output_.name.c_str();
  if (o_.steps == 0) {
    save(0);
    if (out) std::fprintf(out, "%s: saved the initialized model to %s\n", name, o_.save.c_str());
    return;
  }
  prepare_steps();
  const long global_tokens = long(global_batch_) * o_.ctx_len;
  const auto start = Clock::now();
  for (long step = first_step_; step < last_step_; ++step) {
    const double loss = train_step(step);
    if (!std::isfinite(loss)) throw std::runtime_error("loss became " + std::to_string(loss) + " at step " + std::to_string(step));
    const StepReport r = optimizer_->step(model_->space(), model_->weights().flat, model_->grads().flat, step);
    if (!std::isfinite(r.grad_norm))
      throw std::runtime_error("gradient norm became " + std::to_string(r.grad_norm) + " at step " + std::to_string(step + 1) +
                               "; the last good weights are in the last checkpoint");
    state_.lr = r.lr;
    const long done = step + 1;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = double(done - first_step_) * double(global_tokens) / elapsed;
    if (o_.val_every > 0 && done % o_.val_every == 0 && done < o_.steps) validate(done, std::size_t(o_.val_windows));
    StepRecord record{done, loss, r.lr, r.grad_norm, done * global_tokens, elapsed, rate, std::nullopt};
    if (reducer_.size() > 1) record.allreduce_s = allreduce_seconds_;
    log_.step(record);
    // The time limit: rank 0's clock decides for every rank, so all stop after the same step.
    if (o_.time_limit > 0 && done < last_step_) {
      double over = reducer_.root() && elapsed >= 60 * o_.time_limit ? 1 : 0;
      if (reducer_.size() > 1) over = reducer_.sum(over);
      if (over > 0) last_step_ = done;
    }
    if (reducer_.size() > 1 && o_.check_every > 0 && (done % o_.check_every == 0 || done == last_step_) &&
        !reducer_.all_equal(weights_checksum(model_->weights().flat)))
      throw std::runtime_error("the ranks' weights differ after step " + std::to_string(done) +
                               ": a rank diverged (hardware fault, or ranks built or run differently)");
    print_progress(done, loss, r.lr, rate, elapsed);
    if (o_.save_every > 0 && done % o_.save_every == 0 && done < last_step_) save(done);
  }
  if (tty_) std::fprintf(output_.progress, "\n");
  if (reducer_.size() > 1 && out) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::fprintf(out, "%s: all-reduce %.3f s of %.3f s (%.1f%% of the steps' time)\n", name, allreduce_seconds_, elapsed,
                 100 * allreduce_seconds_ / elapsed);
  }
  // The final validation of a txt2img run takes every held-out image.
  validate(last_step_, images_ ? 0 : std::size_t(o_.val_windows));
  save(last_step_);
  log_.flush();
  print_summary();
}

template <class ModelT>
void Trainer<ModelT>::print_header() const {
  std::FILE* const out = output_.report;
  if (!out) return;
  const char* const name = output_.name.c_str();
  const ModelConfig& config = model_->config();
  if (images_)
    std::fprintf(out,
                 "%s: %s, %zu images (%zu train, %zu held out), txt2img samples of %d tokens, vocab %d; "
                 "position channels %s, %s rounding, soft targets %s, caption first in %.0f%% of samples\n",
                 name, data_.source.c_str(), images_->set.size(), images_->train.size(), images_->heldout.size(),
                 o_.ctx_len, config.vocab_size, o_.image_positions ? "on" : "off",
                 o_.rounding == "random" ? "RandRound" : "nearest", o_.soft_targets ? "on" : "off",
                 100 * o_.text_first_ratio);
  else
    std::fprintf(out, "%s: %s, %zu tokens (%zu train, %zu validation), vocab %d\n", name, data_.source.c_str(),
                 data_.tokens.size(), split_.train.size(), split_.val.size(), config.vocab_size);
  const std::string architecture = architecture_title(ModelT::version::name);
  std::fprintf(out, "%s: %s L%d D%d F%d, %.2fM parameters, ctx %d x batch %d, %ld steps, %d threads on %s\n", name,
               architecture.c_str(), config.n_layer, config.n_embd, config.ffn(),
               double(parameter_count(model_->specs())) / 1e6, o_.ctx_len, global_batch_, o_.steps,
               Space().concurrency(), Space::name());
  if (ModelT::version::head_shapes) std::fprintf(out, "%s: %s\n", name, head_shapes_summary(config).c_str());
  if (reducer_.size() > 1)
    std::fprintf(out, "%s: %d ranks (MPI) x micro-batch %d; gradients averaged every step\n", name, reducer_.size(),
                 o_.micro_batch);
  if (o_.precision == Precision::bf16) {
    using Scalar = typename ModelT::scalar_type;
    if (gemm_bf16_native<Space, Scalar>())
      std::fprintf(out, "%s: bf16 products with float32 sums; float32 master weights, optimizer and the rest\n", name);
    else
      std::fprintf(out,
                   "%s: bf16 products emulated: no bfloat16 GEMM for %s here (one needs oneDNN and AVX-512 BF16 on "
                   "the host, or CUDA), so the rounded operands are widened and multiplied in %s: the bf16 numerics, "
                   "not its speed\n",
                   name, std::is_same_v<Scalar, float> ? "float" : "double", Space::name());
  }
  if (resumed_) std::fprintf(out, "%s: resuming %s at step %ld\n", name, o_.resume.c_str(), first_step_);
  std::fflush(out);
}

template <class ModelT>
void Trainer<ModelT>::prepare_steps() {
  // A resumed run appends to the log it continues.
  if (reducer_.root()) log_.open(o_.log, resumed_.has_value());
  const std::size_t rows = std::size_t(o_.micro_batch) * std::size_t(o_.ctx_len);
  if (images_) {
    image_views_.emplace(o_.micro_batch, o_.ctx_len, o_.soft_targets);
  } else {
    sampler_.emplace(split_.train.size(), o_.ctx_len, o_.seed);
    inputs_.assign(rows * std::size_t(reducer_.size()), 0);
    targets_.assign(rows * std::size_t(reducer_.size()), 0);
    input_view_ = typename ModelT::TokenView("tokens", rows);
    target_view_ = typename ModelT::TokenView("targets", rows);
  }
  if (reducer_.size() > 1) grad_staging_ = Kokkos::create_mirror_view(model_->grads().flat);
  tty_ = output_.progress && isatty(fileno(output_.progress));
}

template <class ModelT>
double Trainer<ModelT>::train_step(long step) {
  model_->zero_grad();
  double loss = 0;
  if (images_) {
    image::fill_batch(images_->batch, images_->set, images_->train, images_->order, images_->options,
                      std::uint64_t(step) * std::uint64_t(global_batch_) + std::uint64_t(reducer_.rank() * o_.micro_batch),
                      o_.micro_batch);
    image_views_->load(images_->batch);
    loss = model_->forward(image_views_->tokens, image_views_->targets, image_views_->positions, image_views_->soft_levels);
  } else {
    fill_train_batch(split_.train, *sampler_, std::uint64_t(step), global_batch_, inputs_, targets_);
    const std::size_t rows = input_view_.extent(0), first = std::size_t(reducer_.rank()) * rows;
    Kokkos::deep_copy(input_view_, Kokkos::View<const int*, Kokkos::HostSpace>(inputs_.data() + first, rows));
    Kokkos::deep_copy(target_view_, Kokkos::View<const int*, Kokkos::HostSpace>(targets_.data() + first, rows));
    loss = model_->forward(input_view_, target_view_);
  }
  model_->backward(o_.l2wrap);
  if (reducer_.size() > 1) {
    // Every rank's loss and gradient are means over equally many tokens: their means are the
    // step's, as one rank with the whole batch would compute them (up to summation order).
    const auto t0 = Clock::now();
    loss = reducer_.sum(loss) / reducer_.size();
    average_gradients(reducer_, model_->space(), model_->grads().flat, grad_staging_);
    allreduce_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return loss;
}

// max_windows: validation windows of a token file, held-out images of an image data set (0: all).
template <class ModelT>
void Trainer<ModelT>::validate(long step, std::size_t max_windows) {
  if (!reducer_.root()) return;
  if (images_) {
    if (images_->heldout.empty()) return;
    heldout_ = evaluate_txt2img_heldout(*model_, *images_, max_windows);
    val_loss_ = heldout_.nats_per_image_token;
    log_.image_validation(step, heldout_);
    return;
  }
  if (split_.val.empty()) return;
  val_loss_ = windowed_loss(*model_, split_.val, max_windows).mean;
  log_.validation(step, val_loss_);
}

template <class ModelT>
void Trainer<ModelT>::save(long step) {
  if (!reducer_.root()) return;
  state_.step = step;
  save_rotated(o_.save, o_.keep_last, step,
               [&](const std::string& path) { save_training(path, *model_, *optimizer_, state_, save_dtype_); });
}

template <class ModelT>
void Trainer<ModelT>::print_progress(long done, double loss, double lr, double rate, double elapsed) const {
  if (!output_.progress) return;
  char val_text[32] = "-";
  if (!std::isnan(val_loss_)) std::snprintf(val_text, sizeof val_text, "%.4f", val_loss_);
  char line[256];
  std::snprintf(line, sizeof line, "step %ld/%ld  loss %.4f  val %s  lr %.2e  %.0f tok/s  ETA %s", done, o_.steps, loss,
                val_text, lr, rate,
                format_duration(elapsed / double(done - first_step_) * double(last_step_ - done)).c_str());
  if (tty_)
    std::fprintf(output_.progress, "\r%s\033[K", line);
  else if (done % o_.print_every == 0 || done == last_step_)
    std::fprintf(output_.progress, "%s\n", line);
}

template <class ModelT>
void Trainer<ModelT>::print_summary() const {
  std::FILE* const out = output_.report;
  if (!out) return;
  const char* const name = output_.name.c_str();
  if (last_step_ < o_.steps)
    std::fprintf(out, "%s: stopped after step %ld of %ld; saved %s (continue with --resume); log %s\n", name, last_step_,
                 o_.steps, o_.save.c_str(), o_.log.c_str());
  else
    std::fprintf(out, "%s: saved %s; log %s\n", name, o_.save.c_str(), o_.log.c_str());
  if (images_ && !images_->heldout.empty()) {
    const double bits = heldout_.nats_per_image_token / std::log(2.0);
    std::fprintf(out, "%s: held-out (%ld images, caption first): %.4f bits per image token (%.4f per sub-pixel)\n", name,
                 heldout_.images, bits, bits / 3);
    std::fprintf(out, "%s: unigram baseline: %.4f bits per image token\n", name,
                 image::unigram_bits_per_image_token(images_->set, images_->train, images_->heldout));
    std::fprintf(out, "%s: held-out captions given their image: %.4f bits per byte\n", name,
                 heldout_.nats_per_caption_byte / std::log(2.0));
  }
  if (!split_.val.empty()) {
    std::fprintf(out, "%s: validation: %.4f bits per token (%.4f nats)\n", name, val_loss_ / std::log(2.0), val_loss_);
    std::fprintf(out, "%s: unigram baseline: %.4f bits per token\n", name,
                 unigram_bits(split_.train, split_.val, o_.model.vocab_size));
  }
}

}  // namespace rwkv
