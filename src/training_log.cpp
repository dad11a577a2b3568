#include <rwkv/training_log.hpp>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace rwkv {

std::string exact_decimal(double value) {
  std::ostringstream text;
  text.precision(17);
  text << value;
  return text.str();
}

void TrainingLog::open(const std::string& path, bool append) {
  out_.open(path, append ? std::ios::app : std::ios::trunc);
  if (!out_) throw std::runtime_error(path + ": cannot open the log for writing");
}

void TrainingLog::step(const StepRecord& r) {
  if (!out_.is_open()) return;
  out_ << "{\"step\":" << r.step << ",\"loss\":" << exact_decimal(r.loss) << ",\"lr\":" << exact_decimal(r.lr)
       << ",\"grad_norm\":" << exact_decimal(r.grad_norm) << ",\"tokens\":" << r.tokens << ",\"elapsed_s\":" << r.elapsed_s
       << ",\"tokens_per_s\":" << r.tokens_per_s;
  if (r.allreduce_s) out_ << ",\"allreduce_s\":" << *r.allreduce_s;
  out_ << "}\n";
}

// Validation lines are flushed at once: they are what a user follows during a long run.
void TrainingLog::validation(long step, double nats_per_token) {
  if (!out_.is_open()) return;
  out_ << "{\"step\":" << step << ",\"val_loss\":" << exact_decimal(nats_per_token)
       << ",\"val_bits_per_token\":" << nats_per_token / std::log(2.0) << "}\n" << std::flush;
}

void TrainingLog::image_validation(long step, const Txt2ImgHeldoutScore& score) {
  if (!out_.is_open()) return;
  const double bits = score.nats_per_image_token / std::log(2.0);
  out_ << "{\"step\":" << step << ",\"val_loss\":" << exact_decimal(score.nats_per_image_token)
       << ",\"val_bits_per_image_token\":" << bits << ",\"val_bits_per_subpixel\":" << bits / 3
       << ",\"val_bits_per_caption_byte\":" << score.nats_per_caption_byte / std::log(2.0)
       << ",\"val_images\":" << score.images << "}\n" << std::flush;
}

void TrainingLog::flush() {
  if (out_.is_open()) out_.flush();
}

}  // namespace rwkv
