// rwkv-image-data: packs PNGs and their captions into an HDF5 image data set (image/image_dataset.hpp)
// for txt2img training: each image read (transparency composited onto --background), resized to
// 32x32 by area averaging, and marked held out or not by its caption.
#include "cli.hpp"

#include <rwkv/image/image_dataset.hpp>
#include <rwkv/image/png_io.hpp>
#include <rwkv/image/resize.hpp>
#include <rwkv/core/unicode.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace rwkv::image;
namespace fs = std::filesystem;

const char* usage =
    "usage: rwkv-image-data --tsv LIST.tsv --out SET.h5 [--background white|#rrggbb] [--heldout-percent 10]\n"
    "Each line of LIST.tsv is png_path<TAB>caption (UTF-8); relative paths are relative to LIST.tsv's\n"
    "directory, blank lines are skipped. Writes the images at 32x32 with their captions and a held-out\n"
    "split decided by a hash of each caption.";

struct Entry {
  std::size_t line = 0;
  std::string png;
  std::string caption;
};

Rgb parse_background(const std::string& text) {
  if (text == "white") return white;
  const auto hex = [&](std::size_t at) -> std::uint8_t {
    std::size_t used = 0;
    const std::string digits = text.substr(at, 2);
    const unsigned long value = std::stoul(digits, &used, 16);
    if (used != 2) throw std::invalid_argument("");
    return std::uint8_t(value);
  };
  try {
    if (text.size() == 7 && text[0] == '#') return {hex(1), hex(3), hex(5)};
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--background '" + text + "': expected white or #rrggbb");
}

std::vector<Entry> read_list(const std::string& tsv) {
  std::ifstream in(tsv, std::ios::binary);
  if (!in) throw std::runtime_error(tsv + ": cannot open");
  const fs::path directory = fs::path(tsv).parent_path();
  std::vector<Entry> entries;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = tsv + ":" + std::to_string(number) + ": ";
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0) throw std::runtime_error(where + "expected png_path<TAB>caption");
    Entry e{number, line.substr(0, tab), line.substr(tab + 1)};
    if (e.caption.empty()) throw std::runtime_error(where + "empty caption for " + e.png);
    if (!rwkv::is_valid_utf8(e.caption)) throw std::runtime_error(where + "the caption is not valid UTF-8");
    if (fs::path(e.png).is_relative()) e.png = (directory / e.png).string();
    entries.push_back(std::move(e));
  }
  if (entries.empty()) throw std::runtime_error(tsv + ": no images listed");
  return entries;
}

}  // namespace

int main(int argc, char** argv) {
  return rwkv::cli::guarded_main("rwkv-image-data", [&] {
    namespace po = rwkv::cli::po;
    po::options_description options("options");
    options.add_options()("tsv", po::value<std::string>()->required(), "list of png_path<TAB>caption lines")(
        "out", po::value<std::string>()->required(), "HDF5 image data set to write")(
        "background", po::value<std::string>()->default_value("white"), "colour under transparent pixels: white or #rrggbb")(
        "heldout-percent", po::value<double>()->default_value(default_heldout_percent),
        "percent of captions held out for validation (by caption hash)");
    const auto vm = rwkv::cli::parse(argc, argv, options, usage);
    if (!vm) return 0;
    const std::string tsv = (*vm)["tsv"].as<std::string>(), out = (*vm)["out"].as<std::string>();
    const Rgb background = parse_background((*vm)["background"].as<std::string>());
    const double heldout_percent = (*vm)["heldout-percent"].as<double>();
    is_heldout("", heldout_percent);  // checks the range before any image is read

    const std::vector<Entry> entries = read_list(tsv);
    ImageDataset set;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      RgbImage image;
      try {
        image = read_png(e.png, background);
      } catch (const std::exception& error) {
        throw std::runtime_error(tsv + ":" + std::to_string(e.line) + ": " + error.what());
      }
      add_image(set, resize_area(image, image_side, image_side), e.caption, heldout_percent);
      if ((i + 1) % 500 == 0 || i + 1 == entries.size()) {
        std::printf("%zu / %zu images\n", i + 1, entries.size());
        std::fflush(stdout);
      }
    }
    write_image_dataset(out, set);
    std::printf("%s: %zu images, %zu for training, %zu held out (%zu bytes)\n", out.c_str(), set.size(),
                set.size() - set.heldout_count(), set.heldout_count(), std::size_t(fs::file_size(out)));
    return 0;
  });
}
