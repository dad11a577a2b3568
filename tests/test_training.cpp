// The library trainer on tiny models: what a resumed run takes from its checkpoint and what it
// refuses, which checkpoints --keep-last leaves, the fields of every JSON-lines log line, gradient
// averaging through a reducer, and a stopped and resumed run equal to an uninterrupted one bit for
// bit (text and txt2img).
#include "test_support.hpp"
#include "temp_dir.hpp"

#include <rwkv/training.hpp>
#include <rwkv/v4/model.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using rwkv::test::error_of;
using rwkv::test::TempDir;
using json = nlohmann::json;
using Space = Kokkos::DefaultExecutionSpace;
using TinyModel = Model<v4, Space, float>;
namespace fs = std::filesystem;

// A checkpoint's state as rwkv-train would have saved it, for the adoption rules alone.
TrainingState saved_state() {
  TrainingState s;
  s.step = 40;
  s.seed = 7;
  s.ctx_len = 32;
  s.micro_batch = 6;
  s.optimizer.lr_init = 1e-3;
  s.optimizer.lr_final = 2e-5;
  s.optimizer.warmup_steps = 4;
  s.optimizer.total_steps = 120;
  s.optimizer.beta1 = 0.8;
  s.optimizer.beta2 = 0.95;
  s.optimizer.eps = 1e-6;
  s.optimizer.weight_decay = 0.01;
  s.optimizer.grad_clip = 0.5;
  s.optimizer.layerwise_lr = false;
  s.l2wrap = 0;
  s.val_fraction = 0.05;
  s.data_source = "corpus.txt";
  return s;
}

TrainingOptions resuming(std::set<std::string> given = {}) {
  TrainingOptions o;
  o.resume = "ckpt.h5";
  o.given = std::move(given);
  return o;
}

const ModelConfig saved_config{3, 48, 100, 300, false, v4::name};

// A byte corpus of `repeats` sentences (55 bytes each).
std::string corpus(const TempDir& dir, int repeats = 40, const std::string& name = "corpus.txt") {
  std::string text;
  for (int i = 0; i < repeats; ++i) text += "In the beginning God created the heaven and the earth. ";
  return dir.write(name, text);
}

// The tiny text run the trainer tests share (rwkv-train's checkpoint.sh, as options).
TrainingOptions tiny_run(const std::string& data, const std::string& save, long steps) {
  TrainingOptions o;
  o.data = data;
  o.save = save;
  o.model.n_layer = 2;
  o.model.n_embd = 32;
  o.ctx_len = 16;
  o.micro_batch = 2;
  o.optimizer.warmup_steps = 2;
  o.optimizer.lr_init = 1e-3;
  o.optimizer.lr_final = 1e-4;
  o.optimizer.weight_decay = 0.01;
  o.steps = steps;
  return o;
}

const TrainingOutput silent{"test", nullptr, nullptr};

std::vector<json> log_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

std::set<std::string> keys(const json& line) {
  std::set<std::string> names;
  for (const auto& item : line.items()) names.insert(item.key());
  return names;
}

// The "loss" texts of a log, as written (17 digits: equal texts are equal doubles).
std::vector<std::string> loss_texts(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> losses;
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("\"loss\":");
    if (at != std::string::npos) losses.push_back(line.substr(at, line.find(',', at) - at));
  }
  return losses;
}

template <class View>
std::vector<float> host_values(const View& v) {
  const auto h = test::to_host(v);
  return std::vector<float>(h.data(), h.data() + h.extent(0));
}

std::set<std::string> files_in(const fs::path& directory) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.insert(entry.path().filename().string());
  return names;
}

// Two ranks as rank 0 sees them, the other rank holding `other` as its gradients and loss, and
// every call counted.
class TwoRanks final : public GradientReducer {
 public:
  explicit TwoRanks(float other) : other_(other) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void sum_in_place(std::span<float> values) override {
    ++gradient_sums;
    for (float& v : values) v += other_;
  }
  void sum_in_place(std::span<double> values) override {
    ++gradient_sums;
    for (double& v : values) v += other_;
  }
  double sum(double value) override { return value + other_; }
  bool all_equal(std::uint64_t) override {
    ++comparisons;
    return true;
  }
  int gradient_sums = 0, comparisons = 0;

 private:
  float other_;
};

}  // namespace

TEST_CASE("training: a resumed run takes the model, schedule, data and seed from its checkpoint", "[training]") {
  TrainingOptions o = resuming();
  adopt_checkpoint(o, saved_config, saved_state(), 2);
  CHECK(o.model.arch == "rwkv-4");
  CHECK(o.model.n_layer == 3);
  CHECK(o.model.n_embd == 48);
  CHECK(o.model.dim_ffn == 100);
  CHECK(o.vocab_size == 300);
  CHECK(o.ctx_len == 32);
  CHECK(o.micro_batch == 3);  // the checkpoint's 6 sequences a step over 2 ranks
  CHECK(o.seed == 7);
  CHECK(o.optimizer.lr_init == 1e-3);
  CHECK(o.optimizer.lr_final == 2e-5);
  CHECK(o.optimizer.warmup_steps == 4);
  CHECK(o.optimizer.beta1 == 0.8);
  CHECK(o.optimizer.beta2 == 0.95);
  CHECK(o.optimizer.eps == 1e-6);
  CHECK(o.optimizer.weight_decay == 0.01);
  CHECK(o.optimizer.grad_clip == 0.5);
  CHECK_FALSE(o.optimizer.layerwise_lr);
  CHECK(o.l2wrap == 0);
  CHECK(o.val_fraction == 0.05);
  CHECK(o.task == "text");
  CHECK(o.steps == 120);  // the run's own length

  // Options given with the checkpoint's values, --steps to extend the run, --vocab-size 0.
  TrainingOptions same = resuming({"n-embd", "lr-init", "steps", "vocab-size"});
  same.model.n_embd = 48;
  same.optimizer.lr_init = 1e-3;
  same.steps = 500;
  same.vocab_size = 0;
  adopt_checkpoint(same, saved_config, saved_state(), 1);
  CHECK(same.steps == 500);
  CHECK(same.micro_batch == 6);
  CHECK(same.vocab_size == 300);

  TrainingState image = saved_state();
  image.task = "txt2img";
  image.caption_bytes = 16;
  image.rounding = "nearest";
  image.soft_targets = true;
  image.text_first_ratio = 0.25;
  ModelConfig image_config = saved_config;
  image_config.image_positions = true;
  TrainingOptions img = resuming({"image-positions"});
  img.image_positions = true;
  adopt_checkpoint(img, image_config, image, 1);
  CHECK(img.task == "txt2img");
  CHECK(img.caption_bytes == 16);
  CHECK(img.rounding == "nearest");
  CHECK(img.soft_targets);
  CHECK(img.text_first_ratio == 0.25);
  CHECK(img.model.image_positions);
}

TEST_CASE("training: a resumed run refuses an option given with another value, naming both", "[training]") {
  const auto refusal = [](std::set<std::string> given, auto&& set, int ranks = 1) {
    TrainingOptions o = resuming(std::move(given));
    set(o);
    return error_of([&] { adopt_checkpoint(o, saved_config, saved_state(), ranks); });
  };
  CHECK(refusal({"arch"}, [](TrainingOptions& o) { o.model.arch = "rwkv-7"; }) ==
        "--arch rwkv-7 conflicts with rwkv-4 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"n-embd"}, [](TrainingOptions& o) { o.model.n_embd = 64; }) ==
        "--n-embd 64 conflicts with 48 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"lr-init"}, [](TrainingOptions& o) { o.optimizer.lr_init = 2e-3; }) ==
        "--lr-init 0.002 conflicts with 0.001 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"dim-ffn"}, [](TrainingOptions& o) { o.model.dim_ffn = 200; }) ==
        "--dim-ffn 200 conflicts with 100 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"seed"}, [](TrainingOptions& o) { o.seed = 8; }) ==
        "--seed 8 conflicts with 7 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"micro-batch"}, [](TrainingOptions& o) { o.micro_batch = 6; }, 2) ==
        "--micro-batch 6 conflicts with 3 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"layerwise-lr"}, [](TrainingOptions& o) { o.optimizer.layerwise_lr = true; }) ==
        "--layerwise-lr 1 conflicts with 0 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"l2wrap"}, [](TrainingOptions& o) { o.l2wrap = 1e-4; }) ==
        "--l2wrap 0.0001 conflicts with 0 in ckpt.h5; leave it out when resuming");
  CHECK(refusal({"task"}, [](TrainingOptions& o) { o.task = "txt2img"; }) ==
        "--task txt2img conflicts with text in ckpt.h5; leave it out when resuming");
  CHECK(refusal({}, [](TrainingOptions&) {}, 4) == "ckpt.h5 trained 6 sequences a step, which 4 ranks cannot share evenly");
  CHECK(refusal({"rounding"}, [](TrainingOptions& o) { o.rounding = "nearest"; }) ==
        "--rounding applies to --task txt2img only");
}

TEST_CASE("training: the save path defaults to the resumed file, the log to the save path's", "[training]") {
  TrainingOptions o = resuming();
  default_paths(o);
  CHECK(o.save == "ckpt.h5");
  CHECK(o.log == "ckpt.h5.jsonl");
  TrainingOptions elsewhere = resuming({"save", "log"});
  elsewhere.save = "next.h5";
  elsewhere.log = "run.jsonl";
  default_paths(elsewhere);
  CHECK(elsewhere.save == "next.h5");
  CHECK(elsewhere.log == "run.jsonl");
}

TEST_CASE("training: keep_last leaves the newest numbered checkpoints and the latest at the save path", "[training]") {
  CHECK(numbered_checkpoint_path("run/model.h5", 100) == "run/model-step000100.h5");
  CHECK(numbered_checkpoint_path("model.h5", 1234567) == "model-step1234567.h5");
  TempDir dir;
  const std::string save = dir.file("model.h5");
  // Files of other runs and names that only look numbered stay.
  for (const char* other : {"other-step000001.h5", "model-step00000x.h5", "model-step000001.txt"}) dir.write(other, "x");
  for (const long step : {2, 4, 6, 8})
    save_rotated(save, 3, step, [&](const std::string& path) { std::ofstream(path) << "step " << step; });
  CHECK(files_in(dir.path) == std::set<std::string>{"model.h5", "model-step000004.h5", "model-step000006.h5",
                                                    "model-step000008.h5", "other-step000001.h5",
                                                    "model-step00000x.h5", "model-step000001.txt"});
  std::string latest;
  std::getline(std::ifstream(save), latest);
  CHECK(latest == "step 8");
  // Without keep_last there is the save path alone.
  TempDir single;
  for (const long step : {2, 4})
    save_rotated(single.file("model.h5"), 0, step, [&](const std::string& path) { std::ofstream(path) << step; });
  CHECK(files_in(single.path) == std::set<std::string>{"model.h5"});

  // The trainer: a save every 2 of 6 steps, keep_last 2.
  TempDir run;
  TrainingOptions o = tiny_run(corpus(run), run.file("model.h5"), 6);
  o.save_every = 2;
  o.keep_last = 2;
  SingleProcess one;
  Trainer<TinyModel>(o, one, silent).run();
  CHECK(files_in(run.path) == std::set<std::string>{"corpus.txt", "model.h5", "model.h5.jsonl", "model-step000004.h5",
                                                    "model-step000006.h5"});
  CHECK(read_training_state(run.file("model-step000004.h5")).step == 4);
  CHECK(read_training_state(run.file("model.h5")).step == 6);
}

TEST_CASE("training: every log line has its schema's fields, the losses round-trip", "[training]") {
  TempDir dir;
  TrainingOptions o = tiny_run(corpus(dir), dir.file("model.h5"), 6);
  o.val_every = 4;
  SingleProcess one;
  std::FILE* report = std::tmpfile();
  REQUIRE(report);
  Trainer<TinyModel> trainer(o, one, TrainingOutput{"test", report, nullptr});
  trainer.run();
  const std::set<std::string> step_fields{"step", "loss", "lr", "grad_norm", "tokens", "elapsed_s", "tokens_per_s"},
      validation_fields{"step", "val_loss", "val_bits_per_token"};
  std::vector<long> steps, validations;
  for (const json& line : log_lines(dir.file("model.h5.jsonl"))) {
    if (line.contains("loss")) {
      CHECK(keys(line) == step_fields);
      steps.push_back(line["step"].get<long>());
      CHECK(line["tokens"].get<long>() == line["step"].get<long>() * 2 * 16);
      CHECK(std::isfinite(line["loss"].get<double>()));
      CHECK(line["grad_norm"].get<double>() > 0);
      CHECK(line["lr"].get<double>() > 0);
    } else {
      CHECK(keys(line) == validation_fields);
      validations.push_back(line["step"].get<long>());
      CHECK(line["val_bits_per_token"].get<double>() ==
            Approx(line["val_loss"].get<double>() / std::log(2.0)).epsilon(1e-5));
    }
  }
  CHECK(steps == std::vector<long>{1, 2, 3, 4, 5, 6});
  CHECK(validations == std::vector<long>{4, 6});  // every 4 steps, and at the end
  // The last validation's loss, as the log gives it, is the trainer's to the bit.
  const auto lines = log_lines(dir.file("model.h5.jsonl"));
  CHECK(lines.back()["val_loss"].get<double>() == trainer.validation_loss());
  CHECK(read_training_state(dir.file("model.h5")).lr == lines[lines.size() - 2]["lr"].get<double>());

  std::rewind(report);
  std::string text;
  for (int c; (c = std::fgetc(report)) != EOF;) text.push_back(char(c));
  std::fclose(report);
  CHECK(text.find("test: RWKV-4 L2 D32 F128") != std::string::npos);
  CHECK(text.find("test: validation: ") != std::string::npos);
  CHECK(text.find("test: unigram baseline: ") != std::string::npos);
}

TEST_CASE("training: a stopped and resumed run equals an uninterrupted one bit for bit", "[training]") {
  TempDir dir;
  const std::string data = corpus(dir);
  SingleProcess one;
  // The straight run validates every 3 steps, the resumed one does not: validation must not
  // disturb training.
  TrainingOptions straight = tiny_run(data, dir.file("straight.h5"), 8);
  straight.val_every = 3;
  Trainer<TinyModel> a(straight, one, silent);
  a.run();
  TrainingOptions half = tiny_run(data, dir.file("half.h5"), 8);
  half.stop_at = 4;
  Trainer<TinyModel> stopped(half, one, silent);
  CHECK(stopped.last_step() == 4);
  stopped.run();
  CHECK(read_training_state(dir.file("half.h5")).step == 4);

  TrainingOptions resume;
  resume.resume = dir.file("half.h5");  // everything else from the checkpoint
  Trainer<TinyModel> b(resume, one, silent);
  CHECK(b.first_step() == 4);
  CHECK(b.last_step() == 8);
  CHECK(b.options().data == data);
  CHECK(b.options().save == dir.file("half.h5"));
  CHECK(b.options().model.n_embd == 32);
  CHECK(b.options().optimizer.total_steps == 8);
  b.run();

  const auto losses = loss_texts(dir.file("straight.h5.jsonl"));
  CHECK(losses.size() == 8);
  CHECK(loss_texts(dir.file("half.h5.jsonl")) == losses);  // the resumed run appended its 4
  CHECK(host_values(a.model().weights().flat) == host_values(b.model().weights().flat));
  CHECK(host_values(a.optimizer().first_moment()) == host_values(b.optimizer().first_moment()));
  CHECK(host_values(a.optimizer().second_moment()) == host_values(b.optimizer().second_moment()));
  const TrainingState sa = read_training_state(dir.file("straight.h5")), sb = read_training_state(dir.file("half.h5"));
  CHECK(sa.step == 8);
  CHECK(sb.step == 8);
  CHECK(sa.lr == sb.lr);
  CHECK(sa.data_hash == sb.data_hash);
}

TEST_CASE("training: a resumed run refuses other data and a run shorter than it has done", "[training]") {
  TempDir dir;
  SingleProcess one;
  const std::string data = corpus(dir);
  Trainer<TinyModel>(tiny_run(data, dir.file("model.h5"), 3), one, silent).run();
  TrainingOptions other;
  other.resume = dir.file("model.h5");
  other.data = corpus(dir, 41, "other.txt");
  other.given = {"data"};
  CHECK(error_of([&] { Trainer<TinyModel>(other, one, silent); }) ==
        other.data + ": 2255 tokens that differ from the 2200 tokens of " + data + " that " + dir.file("model.h5") +
            " was trained on: resume on the same data");
  TrainingOptions shorter;
  shorter.resume = dir.file("model.h5");
  shorter.steps = 2;
  shorter.given = {"steps"};
  CHECK(error_of([&] { Trainer<TinyModel>(shorter, one, silent); }) ==
        "--steps 2 is fewer than the 3 steps " + dir.file("model.h5") + " has done");
}

TEST_CASE("training: gradients are averaged over the ranks through the reducer", "[training]") {
  TwoRanks ranks(10.0f);
  Vector<Space, float> grads("grads", 3);
  const auto host = Kokkos::create_mirror_view(grads);
  host(0) = 2;
  host(1) = -4;
  host(2) = 0.5f;
  Kokkos::deep_copy(grads, host);
  average_gradients(ranks, Space(), grads, Kokkos::create_mirror_view(grads));
  CHECK(host_values(grads) == std::vector<float>{6, 3, 5.25f});
  CHECK(ranks.gradient_sums == 1);

  // A run as rank 0 of two: one all-reduce a step, the weights compared every check_every steps
  // and after the last, the all-reduce time logged, the checkpoint counting both ranks' sequences.
  TempDir dir;
  TwoRanks pair(0.0f);
  TrainingOptions o = tiny_run(corpus(dir), dir.file("model.h5"), 5);
  o.check_every = 2;
  Trainer<TinyModel>(o, pair, silent).run();
  CHECK(pair.gradient_sums == 5);
  CHECK(pair.comparisons == 3);  // after steps 2, 4 and 5
  const auto lines = log_lines(dir.file("model.h5.jsonl"));
  REQUIRE(lines.size() == 6);
  CHECK(lines.front().contains("allreduce_s"));
  CHECK(lines.front()["tokens"].get<long>() == 2 * 2 * 16);
  CHECK(read_training_state(dir.file("model.h5")).micro_batch == 4);
}

TEST_CASE("training: txt2img logs held-out scores, and a resumed run equals an uninterrupted one", "[training]") {
  TempDir dir;
  image::ImageDataset set;
  for (int i = 0; i < 8; ++i) {
    image::RgbImage picture(32, 32);
    for (std::size_t p = 0; p < picture.pixels.size(); ++p) picture.pixels[p] = std::uint8_t((p * 7 + i * 40) % 256);
    set.images.push_back(picture);
    set.captions.push_back("picture " + std::to_string(i));
    set.heldout.push_back(i % 4 == 3 ? 1 : 0);
  }
  const std::string data = dir.file("set.h5");
  image::write_image_dataset(data, set);
  const auto image_run = [&](const std::string& save) {
    TrainingOptions o;
    o.task = "txt2img";
    o.data = data;
    o.save = save;
    o.model.n_layer = 1;
    o.model.n_embd = 72;
    o.caption_bytes = 8;
    o.ctx_len = image::sample_length(8);
    o.micro_batch = 1;
    o.soft_targets = true;
    o.optimizer.lr_init = 2e-3;
    o.steps = 4;
    o.val_every = 2;
    o.val_windows = 1;
    return o;
  };
  SingleProcess one;
  Trainer<TinyModel> a(image_run(dir.file("straight.h5")), one, silent);
  a.run();
  TrainingOptions half = image_run(dir.file("half.h5"));
  half.stop_at = 1;
  Trainer<TinyModel>(half, one, silent).run();
  TrainingOptions resume;
  resume.resume = dir.file("half.h5");
  Trainer<TinyModel> b(resume, one, silent);
  CHECK(b.options().task == "txt2img");
  CHECK(b.options().caption_bytes == 8);
  CHECK(b.options().soft_targets);
  CHECK(b.model().config().image_positions);
  b.run();
  CHECK(loss_texts(dir.file("half.h5.jsonl")) == loss_texts(dir.file("straight.h5.jsonl")));
  CHECK(host_values(a.model().weights().flat) == host_values(b.model().weights().flat));

  const std::set<std::string> fields{"step", "val_loss", "val_bits_per_image_token", "val_bits_per_subpixel",
                                     "val_bits_per_caption_byte", "val_images"};
  std::vector<long> images;
  for (const json& line : log_lines(dir.file("straight.h5.jsonl"))) {
    if (line.contains("loss")) continue;
    CHECK(keys(line) == fields);
    images.push_back(line["val_images"].get<long>());
    CHECK(line["val_bits_per_subpixel"].get<double>() ==
          Approx(line["val_bits_per_image_token"].get<double>() / 3).epsilon(1e-5));
    CHECK(line["val_bits_per_caption_byte"].get<double>() > 0);
  }
  CHECK(images == std::vector<long>{1, 2});  // val_windows images at step 2, every held-out one at the end
}
