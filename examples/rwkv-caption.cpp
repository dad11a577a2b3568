// rwkv-caption: writes captions of images with a txt2img checkpoint (vocabulary 773). Each PNG is
// read, resized to 32x32 by area averaging and quantized to the nearest levels; the prompt
// [ImgFirst] 1024 pixels [Txt] of the training layout runs as a prefill, then bytes are sampled
// (among the bytes and End only) until End or --caption-bytes bytes
// (include/rwkv/txt2img_generate.hpp). Prints `PATH<TAB>caption` per caption, --n per image;
// control bytes and backslashes in a caption are written as \xNN so each caption stays one line.
// Caption j (image j / n, copy j % n) draws from the uniform stream seed + j.
#include "cli.hpp"
#include "txt2img_options.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/image/png_io.hpp>
#include <rwkv/image/resize.hpp>
#include <rwkv/image/sequence.hpp>
#include <rwkv/txt2img_generate.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using Clock = std::chrono::steady_clock;

struct Options : cli::Txt2ImgProgramOptions {
  std::vector<std::string> images;
  int n = 1;
};

// The caption on one line: bytes below 0x20, DEL and '\' as \xNN; UTF-8 passes as it is.
std::string one_line(const std::string& caption) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : caption) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

template <class Version>
int caption(const Options& o, const ModelConfig& config) {
  using GenModel = Model<Version, Space, float>;
  // Every image is read before the model does any work: a bad path fails at once.
  std::vector<image::RgbImage> slots;
  for (const auto& path : o.images) slots.insert(slots.end(), std::size_t(o.n), image::resize_area(image::read_png(path)));

  GenModel model(config, inference_only);
  load_model(o.model, model);
  if (o.int8) model.quantize_int8();

  const auto t0 = Clock::now();
  const std::size_t total = slots.size(), batch = std::size_t(o.batch);
  for (std::size_t first = 0; first < total; first += batch) {
    const std::size_t count = std::min(batch, total - first);
    Txt2ImgOptions generation = o.generation;
    generation.seed = o.generation.seed + first;
    const auto captions =
        generate_captions(model, std::span<const image::RgbImage>(slots.data() + first, count), generation);
    for (std::size_t i = 0; i < count; ++i)
      std::printf("%s\t%s\n", o.images[(first + i) / std::size_t(o.n)].c_str(), one_line(captions[i]).c_str());
    std::fflush(stdout);
  }
  std::fprintf(stderr, "rwkv-caption: %zu captions (%zu images x %d) in %.2f s%s\n", total, o.images.size(), o.n,
               std::chrono::duration<double>(Clock::now() - t0).count(), o.int8 ? " (int8 weights)" : "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-caption", [&]() -> int {
    Options o;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()
        ("image", po::value(&o.images)->composing(), "a PNG to caption (repeatable; also positional)")
        ("n", po::value(&o.n)->default_value(1), "captions per image");
    cli::add_txt2img_options(d, o, "captions", 0.85);
    po::positional_options_description positional;
    positional.add("image", -1);
    const auto vm = cli::parse(argc, argv, d, "usage: rwkv-caption --model CKPT [--n 1] IMAGE.png ...", positional);
    if (!vm) return 0;
    if (o.images.empty()) throw std::invalid_argument("no images: give --image PNG (repeatable)");
    if (o.n < 1) throw std::invalid_argument("--n must be at least 1, got " + std::to_string(o.n));
    cli::check_txt2img_options(o);
    cli::KokkosRuntime runtime(o.threads);
    const ModelConfig config = read_txt2img_config(o.model, o.generation.caption_bytes);
    return with_arch(config.arch, [&](auto version) { return caption<decltype(version)>(o, config); });
  });
}
