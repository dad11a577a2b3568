// What a training run is (Trainer<Model>, training.hpp): the model, schedule, data, validation
// and checkpoint options, named as rwkv-train names them, and the rules that resume a run from a
// checkpoint. A resumed run is the checkpoint's run: its options come from the checkpoint, and one
// given with another value would silently change the run, so it is an error.
#pragma once

#include <rwkv/checkpoint.hpp>
#include <rwkv/config.hpp>
#include <rwkv/data.hpp>
#include <rwkv/image/sequence.hpp>
#include <rwkv/model.hpp>
#include <rwkv/optimizer.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace rwkv {

struct TrainingOptions {
  std::string data;                  // a token file, or for task txt2img an image data set
  std::string save = "rwkv-model.h5";
  std::string log;                   // the JSON-lines log; empty: the save path + ".jsonl"
  std::string resume;                // a training checkpoint whose run continues
  std::string save_dtype = "float32";  // of the saved weights: float32, float16 or bfloat16
  ModelConfig model;                 // its vocab_size comes from the data
  OptimizerConfig optimizer;         // its total_steps from `steps`
  int vocab_size = 0;                // 0: from the data
  int ctx_len = 256;
  int micro_batch = 8;               // sequences of every step per rank
  long steps = 1000;
  long tokens = 0;                   // > 0: as many steps as cover this many tokens
  long stop_at = 0;                  // > 0: stop (and save) after this step, to resume later
  double time_limit = 0;             // minutes; > 0: stop (and save) after the step that passes it
  long val_every = 100;              // 0: validate only at the end
  long val_windows = 64;             // validation windows (txt2img: held-out images); 0: all
  double val_fraction = default_val_fraction;
  long save_every = 0;               // 0: save only at the end
  int keep_last = 0;                 // numbered checkpoints kept beside `save` (checkpoint_rotation.hpp)
  long print_every = 10;             // progress lines when not on a terminal
  long check_every = 100;            // ranks compare their weights every N steps; 0: never
  double l2wrap = 1e-4;
  std::uint64_t seed = 42;
  bool recompute = false;
  // Of the products (model.hpp); not part of the run a checkpoint records: a resumed run takes
  // the one given now.
  Precision precision = Precision::fp32;
  std::string task = "text";         // "text" or "txt2img"; the rest is txt2img's
  std::string rounding = "random";   // "random" (RandRound) or "nearest"
  bool image_positions = true, soft_targets = false;
  int caption_bytes = image::default_caption_bytes;
  double text_first_ratio = 0.5;
  // The options given (on a command line, in a config file) rather than defaulted, by name
  // ("n-embd"): only they can conflict with a resumed checkpoint.
  std::set<std::string> given;
};

// Throws std::invalid_argument naming the first option given that only the txt2img task takes.
void reject_image_options(const TrainingOptions& options);

// With `resume`, `save` defaults to the resumed file; `log` defaults to `save` + ".jsonl".
void default_paths(TrainingOptions& options);

// Takes the model, schedule, seed, data, validation and task options from a checkpoint (`saved`,
// its config; `state`, its /train group) into `options`; `ranks` share the checkpoint's batch,
// which they must divide. An option given with another value throws std::invalid_argument
// ("--n-embd 64 conflicts with 32 in CKPT; leave it out when resuming"). steps: the checkpoint's
// run length unless `steps` or `tokens` is given.
void adopt_checkpoint(TrainingOptions& options, const ModelConfig& saved, const TrainingState& state, int ranks);

// adopt_checkpoint from the file options.resume; the weights are saved in its dtype and the data
// read from its file unless given. Returns its training state.
TrainingState resume_options(TrainingOptions& options, int ranks);

}  // namespace rwkv
