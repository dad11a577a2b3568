// rwkv-txt2img: draws 32x32 images from captions with a txt2img checkpoint (vocabulary 773,
// image/vocabulary.hpp). Each image is a slot of one batched RNN state: the prompt
// [TxtFirst] caption [Img] of the training layout, then 1024 pixels sampled among the image tokens
// only (include/rwkv/txt2img_generate.hpp). The images go into one grid PNG, a row per prompt, and
// optionally one PNG each. Image j (prompt j / n, copy j % n) draws from the uniform stream seed + j,
// whatever the batch size.
#include "cli.hpp"
#include "txt2img_options.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/image/png_io.hpp>
#include <rwkv/image/resize.hpp>
#include <rwkv/image/sequence.hpp>
#include <rwkv/txt2img_generate.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using Clock = std::chrono::steady_clock;

struct Options : cli::Txt2ImgProgramOptions {
  std::string prompts_file, out, out_dir;
  std::vector<std::string> prompts;
  int n = 4, columns = 0, scale = 4;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Lines of the file, without line ends; empty lines are skipped.
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open prompts file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// "<dir>/003-07.png": prompt 3, image 7.
std::string image_path(const std::string& dir, std::size_t prompt, int copy) {
  char name[64];
  std::snprintf(name, sizeof name, "%03zu-%02d.png", prompt, copy);
  return (std::filesystem::path(dir) / name).string();
}

template <class Version>
int txt2img(Options o, const ModelConfig& config) {
  using GenModel = Model<Version, Space, float>;
  if (!o.prompts_file.empty())
    for (auto& line : read_lines(o.prompts_file)) o.prompts.push_back(std::move(line));
  if (o.prompts.empty()) throw std::invalid_argument("no prompts: give --prompt TEXT (repeatable) or --prompts-file F");
  for (std::size_t i = 0; i < o.prompts.size(); ++i)
    if (image::fit_caption(o.prompts[i], o.generation.caption_bytes).size() < o.prompts[i].size())
      std::fprintf(stderr, "rwkv-txt2img: prompt %zu is longer than --caption-bytes %d and is cut\n", i,
                   o.generation.caption_bytes);

  GenModel model(config, inference_only);
  load_model(o.model, model);
  if (o.int8) model.quantize_int8();

  // Every image's caption, prompt by prompt; batches of --batch of them run side by side.
  std::vector<std::string> captions;
  for (const auto& prompt : o.prompts) captions.insert(captions.end(), std::size_t(o.n), prompt);
  const std::size_t total = captions.size(), batch = std::size_t(o.batch);
  const bool terminal = isatty(fileno(stderr));
  std::vector<image::RgbImage> images;
  const auto t0 = Clock::now();
  for (std::size_t first = 0; first < total; first += batch) {
    const std::size_t count = std::min(batch, total - first);
    Txt2ImgOptions generation = o.generation;
    generation.seed = o.generation.seed + first;
    const auto batch_start = Clock::now();
    const auto progress = [&](int done, int all) {
      if (done % (terminal ? 16 : 256) != 0 && done != all) return;
      std::fprintf(stderr, "%srwkv-txt2img: images %zu-%zu of %zu: pixel %d/%d, %.0f tokens/s%s", terminal ? "\r" : "",
                   first + 1, first + count, total, done, all, double(done) * double(count) / seconds_since(batch_start),
                   terminal && done != all ? "" : "\n");
    };
    const auto tokens =
        generate_images(model, std::span<const std::string>(captions.data() + first, count), generation, progress);
    for (const auto& image_tokens : tokens) images.push_back(image::decode_image_tokens(image_tokens));
  }
  const double seconds = seconds_since(t0);

  image::write_image_grid(o.out, images, o.columns > 0 ? o.columns : o.n, o.scale);
  if (!o.out_dir.empty()) {
    std::filesystem::create_directories(o.out_dir);
    for (std::size_t j = 0; j < images.size(); ++j)
      image::write_png(image_path(o.out_dir, j / std::size_t(o.n), int(j % std::size_t(o.n))), images[j]);
  }
  std::fprintf(stderr, "rwkv-txt2img: %zu images (%zu prompts x %d) in %.2f s, %.0f tokens/s%s; wrote %s\n", total,
               o.prompts.size(), o.n, seconds, double(total) * image::image_tokens / seconds,
               o.int8 ? " (int8 weights)" : "", o.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-txt2img", [&]() -> int {
    Options o;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()
        ("prompt", po::value(&o.prompts)->composing(), "a caption (repeatable: a grid row each)")
        ("prompts-file", po::value(&o.prompts_file), "more captions, one per line (empty lines skipped)")
        ("n", po::value(&o.n)->default_value(4), "images per prompt")
        ("out", po::value(&o.out)->required(), "grid PNG: a row per prompt (written atomically)")
        ("out-dir", po::value(&o.out_dir), "also write every image as DIR/PPP-NN.png (prompt, image)")
        ("columns", po::value(&o.columns)->default_value(0), "images per grid row (0: --n)")
        ("scale", po::value(&o.scale)->default_value(4), "grid pixels per image pixel (nearest neighbour)");
    cli::add_txt2img_options(d, o, "images", 1.0);
    const auto vm = cli::parse(argc, argv, d,
                               "usage: rwkv-txt2img --model CKPT (--prompt TEXT ... | --prompts-file F) [--n 4] --out GRID.png");
    if (!vm) return 0;
    if (o.n < 1) throw std::invalid_argument("--n must be at least 1, got " + std::to_string(o.n));
    if (o.columns < 0) throw std::invalid_argument("--columns must not be negative, got " + std::to_string(o.columns));
    if (o.scale < 1 || o.scale > 64) throw std::invalid_argument("--scale must lie in 1..64, got " + std::to_string(o.scale));
    cli::check_txt2img_options(o);
    cli::KokkosRuntime runtime(o.threads);
    const ModelConfig config = read_txt2img_config(o.model, o.generation.caption_bytes);
    return with_arch(config.arch, [&](auto version) { return txt2img<decltype(version)>(o, config); });
  });
}
