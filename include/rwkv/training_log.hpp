// The JSON-lines log of a training run, one object a line:
//   a step:        {"step", "loss", "lr", "grad_norm", "tokens", "elapsed_s", "tokens_per_s"} and,
//                  with several ranks, "allreduce_s" (the all-reduce seconds so far)
//   a validation:  {"step", "val_loss", "val_bits_per_token"} on a token file;
//                  {"step", "val_loss", "val_bits_per_image_token", "val_bits_per_subpixel",
//                   "val_bits_per_caption_byte", "val_images"} on an image data set
// "step" counts the optimizer steps done and "tokens" the tokens trained on, over all ranks.
// Losses, learning rates and gradient norms have 17 significant digits, so that they read back
// as the exact doubles (a resumed run's log compares bit for bit with an uninterrupted one's); the
// other numbers have 6.
#pragma once

#include <rwkv/txt2img_evaluate.hpp>

#include <fstream>
#include <optional>
#include <string>

namespace rwkv {

// `value` with 17 significant digits: the text reads back as the same double.
std::string exact_decimal(double value);

struct StepRecord {
  long step = 0;  // steps done
  double loss = 0, lr = 0, grad_norm = 0;
  long tokens = 0;
  double elapsed_s = 0, tokens_per_s = 0;
  std::optional<double> allreduce_s;
};

class TrainingLog {
 public:
  // Writes nothing until open().
  TrainingLog() = default;
  // `append`: continue the log of a resumed run instead of starting afresh. Throws
  // std::runtime_error naming the path when it cannot be written.
  void open(const std::string& path, bool append);

  void step(const StepRecord& record);
  void validation(long step, double nats_per_token);
  void image_validation(long step, const Txt2ImgHeldoutScore& score);
  void flush();

 private:
  std::ofstream out_;
};

}  // namespace rwkv
