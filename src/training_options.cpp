#include <rwkv/training_options.hpp>

#include <rwkv/training_log.hpp>

#include <stdexcept>
#include <type_traits>

namespace rwkv {

void reject_image_options(const TrainingOptions& o) {
  for (const char* image_only : {"image-positions", "rounding", "soft-targets", "text-first-ratio", "caption-bytes"})
    if (o.given.count(image_only))
      throw std::invalid_argument(std::string("--") + image_only + " applies to --task txt2img only");
}

void default_paths(TrainingOptions& o) {
  if (!o.resume.empty() && !o.given.count("save")) o.save = o.resume;
  if (o.log.empty()) o.log = o.save + ".jsonl";
}

void adopt_checkpoint(TrainingOptions& o, const ModelConfig& saved, const TrainingState& s, int ranks) {
  const auto conflict = [&](const char* option, const std::string& given, const std::string& stored) {
    return std::invalid_argument("--" + std::string(option) + " " + given + " conflicts with " + stored + " in " +
                                 o.resume + "; leave it out when resuming");
  };
  const auto adopt = [&](const char* option, auto& value, auto stored) {
    using Value = std::remove_reference_t<decltype(value)>;
    if (o.given.count(option) && value != Value(stored))
      throw conflict(option, exact_decimal(double(value)), exact_decimal(double(stored)));
    value = Value(stored);
  };
  const auto adopt_text = [&](const char* option, std::string& value, const std::string& stored) {
    if (o.given.count(option) && value != stored) throw conflict(option, value, stored);
    value = stored;
  };
  ModelConfig& config = o.model;
  adopt_text("arch", config.arch, saved.arch);
  adopt("n-layer", config.n_layer, saved.n_layer);
  adopt("n-embd", config.n_embd, saved.n_embd);
  if (config.dim_ffn == 0) config.dim_ffn = 4 * config.n_embd;
  adopt("dim-ffn", config.dim_ffn, saved.ffn());
  adopt("head-size", config.head_size, saved.head_size);
  config.rank_w = saved.rank_w;
  config.rank_a = saved.rank_a;
  config.rank_v = saved.rank_v;
  config.rank_g = saved.rank_g;
  config.layer0_value_lora = saved.layer0_value_lora;
  config.ln_x_eps = saved.ln_x_eps;
  adopt("image-positions", o.image_positions, saved.image_positions);
  config.image_positions = saved.image_positions;
  // --vocab-size 0 asks for the data's vocabulary, as leaving it out does.
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

TrainingState resume_options(TrainingOptions& o, int ranks) {
  TrainingState state = read_training_state(o.resume);
  adopt_checkpoint(o, read_config(o.resume), state, ranks);
  const std::string stored = inspect_checkpoint(o.resume).weight_dtype;
  if (!o.given.count("save-dtype") && (stored == "float16" || stored == "bfloat16")) o.save_dtype = stored;
  if (o.data.empty()) o.data = state.data_source;
  return state;
}

}  // namespace rwkv
