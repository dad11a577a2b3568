// The txt2img data side: the vocabulary, the text-image sequence builder (both orders, caption
// padding and truncation, the order ratio, soft levels, decoding), HDF5 image data sets (round
// trip, held-out split, bad files) and the rwkv-image-data program on PNGs written here.
#include <rwkv/image/image_dataset.hpp>
#include <rwkv/image/png_io.hpp>
#include <rwkv/image/quantize.hpp>
#include <rwkv/image/resize.hpp>
#include <rwkv/image/sequence.hpp>
#include <rwkv/image/vocabulary.hpp>

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <hdf5.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

using rwkv::test::error_of;
using rwkv::test::TempDir;
using namespace rwkv::image;
namespace fs = std::filesystem;

RgbImage random_image(int width, int height, unsigned seed) {
  std::mt19937 rng(seed);
  RgbImage image(width, height);
  for (auto& v : image.pixels) v = std::uint8_t(rng() % 256);
  return image;
}

// Checks everything the layout promises of a sample, whichever its order.
void check_sample(const Sample& s, const RgbImage& image, const std::string& caption, int caption_bytes) {
  const int T = sample_length(caption_bytes);
  REQUIRE(T == 1024 + caption_bytes + 2);
  REQUIRE(s.tokens.size() == std::size_t(T));
  REQUIRE(s.targets.size() == std::size_t(T));
  REQUIRE(s.positions.size() == std::size_t(T));
  REQUIRE(s.soft_levels.size() == 3 * std::size_t(T));
  const int image_at = s.text_first ? caption_bytes + 2 : 1;  // first image token
  const int caption_at = s.text_first ? 1 : image_tokens + 2;
  CHECK(s.tokens[0] == (s.text_first ? vocab::TxtFirst : vocab::ImgFirst));
  CHECK(s.tokens[std::size_t(s.text_first ? caption_at + caption_bytes : image_at + image_tokens)] ==
        (s.text_first ? vocab::Img : vocab::Txt));
  for (int i = 0; i < caption_bytes; ++i) {
    const int expected = i < int(caption.size()) ? static_cast<unsigned char>(caption[std::size_t(i)]) : vocab::End;
    CHECK(s.tokens[std::size_t(caption_at + i)] == expected);
  }
  for (int t = 0; t + 1 < T; ++t) REQUIRE(s.targets[std::size_t(t)] == s.tokens[std::size_t(t) + 1]);
  CHECK(s.targets[std::size_t(T) - 1] == vocab::End);
  int image_count = 0;
  for (int t = 0; t < T; ++t) {
    const bool on_image = t >= image_at && t < image_at + image_tokens;
    REQUIRE(vocab::is_image_token(s.tokens[std::size_t(t)]) == on_image);
    REQUIRE(s.positions[std::size_t(t)] == (on_image ? t - image_at : -1));
    image_count += on_image;
    const bool target_on_image = vocab::is_image_token(s.targets[std::size_t(t)]);
    REQUIRE(target_on_image == (t + 1 >= image_at && t + 1 < image_at + image_tokens));
    for (int c = 0; c < 3; ++c) {
      const float level = s.soft_levels[3 * std::size_t(t) + std::size_t(c)];
      if (!target_on_image) {
        REQUIRE(level == -1.0f);
        continue;
      }
      const std::size_t p = std::size_t(t + 1 - image_at);
      REQUIRE(level == float(image.pixels[3 * p + std::size_t(c)]) / 255.0f * 7.0f);
      // The rounded level in the target token is one of the float level's two neighbours.
      const int rounded = token_levels(vocab::pixel_of(s.targets[std::size_t(t)]))[std::size_t(c)];
      REQUIRE(rounded >= int(std::floor(level)));
      REQUIRE(rounded <= int(std::ceil(level)));
    }
  }
  CHECK(image_count == image_tokens);
}

}  // namespace

TEST_CASE("txt2img vocabulary: bytes, 512 image tokens, 5 special tokens", "[image_data]") {
  static_assert(vocab::size == 773 && vocab::TxtFirst == 768 && vocab::ImgFirst == 769 && vocab::Img == 770 &&
                vocab::Txt == 771 && vocab::End == 772);
  CHECK(vocab::image_token(0) == 256);
  CHECK(vocab::image_token(511) == 767);
  CHECK(vocab::pixel_of(vocab::image_token(300)) == 300);
  CHECK_FALSE(vocab::is_image_token(255));
  CHECK(vocab::is_image_token(256));
  CHECK(vocab::is_image_token(767));
  CHECK_FALSE(vocab::is_image_token(vocab::TxtFirst));
  CHECK(vocab::is_byte_token(255));
  CHECK_FALSE(vocab::is_byte_token(256));
}

TEST_CASE("sample layout: caption first and image first", "[image_data]") {
  const RgbImage image = random_image(32, 32, 1);
  const std::string caption = "red apple";
  for (const double ratio : {1.0, 0.0}) {
    for (const Rounding rounding : {Rounding::nearest, Rounding::random}) {
      SampleOptions options;
      options.caption_bytes = 16;
      options.text_first_ratio = ratio;
      options.rounding = rounding;
      options.seed = 5;
      const Sample s = build_sample(image, caption, options, 3, 1);
      INFO("text_first_ratio " << ratio);
      CHECK(s.text_first == (ratio == 1.0));
      check_sample(s, image, caption, 16);
      CHECK(caption_of(s.tokens) == caption);
    }
  }
}

TEST_CASE("sample pixels: nearest rounding matches quantize_image, random rounding is seeded", "[image_data]") {
  const RgbImage image = random_image(32, 32, 2);
  SampleOptions options;
  options.text_first_ratio = 1.0;
  options.rounding = Rounding::nearest;
  const Sample s = build_sample(image, "x", options, 0, 0);
  const auto nearest = quantize_image(image, Rounding::nearest);
  const int image_at = options.caption_bytes + 2;
  for (int p = 0; p < image_tokens; ++p) REQUIRE(s.tokens[std::size_t(image_at + p)] == vocab::image_token(nearest[std::size_t(p)]));

  options.rounding = Rounding::random;
  options.seed = 9;
  const auto random = quantize_image(image, Rounding::random, {9, 4, 2});
  const Sample r = build_sample(image, "x", options, 4, 2);
  for (int p = 0; p < image_tokens; ++p) REQUIRE(r.tokens[std::size_t(image_at + p)] == vocab::image_token(random[std::size_t(p)]));
  CHECK(build_sample(image, "x", options, 4, 2).tokens == r.tokens);
  CHECK(build_sample(image, "x", options, 4, 3).tokens != r.tokens);  // another epoch, other roundings
}

TEST_CASE("captions: padded with End, cut at a UTF-8 character boundary", "[image_data]") {
  CHECK(fit_caption("cat", 8) == "cat");
  CHECK(fit_caption("kitten", 3) == "kit");
  CHECK(fit_caption("h\xC3\xA9llo", 2) == "h");      // é is 2 bytes at 1..2
  CHECK(fit_caption("h\xC3\xA9llo", 3) == "h\xC3\xA9");
  CHECK(fit_caption("\xF0\x9F\x98\x80!", 3).empty());  // a 4-byte emoji does not fit in 3
  CHECK(fit_caption("\xF0\x9F\x98\x80!", 4) == "\xF0\x9F\x98\x80");
  CHECK_THROWS_AS(fit_caption("a", 0), std::invalid_argument);

  const RgbImage image = random_image(32, 32, 3);
  SampleOptions options;
  options.caption_bytes = 5;
  for (const double ratio : {0.0, 1.0}) {
    options.text_first_ratio = ratio;
    const std::string long_caption = "ab\xE2\x82\xAC" "cdef";  // a, b, euro sign (3 bytes), ...
    const Sample s = build_sample(image, long_caption, options, 0, 0);
    check_sample(s, image, "ab\xE2\x82\xAC", 5);
    CHECK(caption_of(s.tokens) == "ab\xE2\x82\xAC");
    const Sample cut = build_sample(image, "abcd\xE2\x82\xAC", options, 0, 0);
    check_sample(cut, image, "abcd", 5);  // the euro sign would straddle the end: End pads instead
    CHECK(caption_of(cut.tokens) == "abcd");
  }
  CHECK_THROWS_AS(build_sample(random_image(16, 32, 1), "x", options, 0, 0), std::invalid_argument);
  options.text_first_ratio = 1.5;
  CHECK_THROWS_AS(build_sample(image, "x", options, 0, 0), std::invalid_argument);
}

TEST_CASE("sample order: text_first_ratio of the samples put the caption first, reproducibly", "[image_data]") {
  SampleOptions options;
  options.seed = 1234;
  for (const double ratio : {0.5, 0.3, 0.9}) {
    options.text_first_ratio = ratio;
    const int n = 20000;
    int first = 0, changed = 0;
    for (int i = 0; i < n; ++i) {
      const bool f = text_first(options, std::uint64_t(i), 7);
      first += f;
      changed += f != text_first(options, std::uint64_t(i), 8);
      REQUIRE(f == text_first(options, std::uint64_t(i), 7));
    }
    // Binomial standard deviation <= 0.0036 at n = 20000: 0.015 is over 4 of them.
    INFO("ratio " << ratio << ": " << first << " of " << n);
    CHECK(std::abs(double(first) / n - ratio) < 0.015);
    CHECK(std::abs(double(changed) / n - 2 * ratio * (1 - ratio)) < 0.02);  // epochs draw anew
  }
  options.text_first_ratio = 0.0;
  options.seed = 3;
  for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(text_first(options, std::uint64_t(i), 0));
  options.text_first_ratio = 1.0;
  for (int i = 0; i < 1000; ++i) REQUIRE(text_first(options, std::uint64_t(i), 0));
}

TEST_CASE("decode_image_tokens inverts the sample's image with nearest rounding", "[image_data]") {
  const RgbImage image = random_image(32, 32, 4);
  SampleOptions options;
  options.rounding = Rounding::nearest;
  options.text_first_ratio = 0.0;
  const Sample s = build_sample(image, "tree", options, 0, 0);
  const std::span<const std::int32_t> pixels = std::span(s.tokens).subspan(1, image_tokens);
  const RgbImage decoded = decode_image_tokens(pixels);
  CHECK(decoded.pixels == dequantize_image(quantize_image(image, Rounding::nearest), 32, 32).pixels);
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    REQUIRE(std::abs(int(decoded.pixels[i]) - int(image.pixels[i])) <= 19);  // half a level: 255 / 14
  CHECK(caption_of(s.tokens) == "tree");

  std::vector<std::int32_t> bad(pixels.begin(), pixels.end());
  bad[5] = 'a';
  CHECK_THAT(error_of([&] { decode_image_tokens(bad); }), Catch::Contains("token 97 at index 5 is not an image token"));
  bad[5] = vocab::End;
  CHECK_THAT(error_of([&] { decode_image_tokens(bad); }), Catch::Contains("at index 5"));
  CHECK_THAT(error_of([&] { decode_image_tokens(std::span(bad).first(1000)); }), Catch::Contains("1000 tokens"));
  CHECK_THROWS_AS(caption_of(bad), std::invalid_argument);
}

namespace {

ImageDataset small_set() {
  ImageDataset set;
  const char* captions[] = {"grinning face", "flag: C\xC3\xB4te d\xE2\x80\x99Ivoire", "red apple"};
  for (unsigned i = 0; i < 3; ++i) add_image(set, random_image(32, 32, 10 + i), captions[i], 10.0);
  set.heldout[1] = 1;  // whatever the hash says: the flags are stored as given
  return set;
}

// Opens an existing file for writing, lets `edit` change it, closes it.
void edit_file(const std::string& path, const std::function<void(hid_t)>& edit) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  edit(file);
  H5Fclose(file);
}

// Replaces dataset `name` with one of shape `dims` and type `type`, filled with `data` (given as
// `memory_type`).
void replace_dataset(hid_t file, const char* name, std::vector<hsize_t> dims, hid_t type, hid_t memory_type,
                     const void* data) {
  H5Ldelete(file, name, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  const hid_t set = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(set >= 0);
  REQUIRE(H5Dwrite(set, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  H5Dclose(set);
  H5Sclose(space);
}

void replace_string_attribute(hid_t file, const char* name, const char* value) {
  H5Adelete(file, name);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::strlen(value));
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attribute, type, value);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
}

}  // namespace

TEST_CASE("image data set: write, read back identical, atomically", "[image_data]") {
  TempDir dir;
  const std::string path = dir.file("set.h5");
  const ImageDataset set = small_set();
  write_image_dataset(path, set);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  const ImageDataset back = read_image_dataset(path);
  REQUIRE(back.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back.images[i].width == 32);
    CHECK(back.images[i].pixels == set.images[i].pixels);
  }
  CHECK(back.captions == set.captions);
  CHECK(back.heldout == set.heldout);
  CHECK(back.heldout_count() == set.heldout_count());

  // A failed write (an image of the wrong size) leaves the old file as it was.
  ImageDataset broken = set;
  broken.images[2] = random_image(16, 16, 1);
  CHECK_THAT(error_of([&] { write_image_dataset(path, broken); }), Catch::Contains("image 2 is 16 x 16"));
  CHECK(read_image_dataset(path).captions == set.captions);
  CHECK_THROWS_AS(write_image_dataset(path, ImageDataset{}), std::invalid_argument);
  CHECK_THAT(error_of([&] { write_image_dataset(dir.file("no/such/dir/set.h5"), set); }), Catch::Contains("no/such/dir"));
}

TEST_CASE("held-out split: a hash of the caption, about the given percent", "[image_data]") {
  int held = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const std::string caption = "emoji number " + std::to_string(i);
    const bool h = is_heldout(caption, 10.0);
    held += h;
    REQUIRE(h == is_heldout(caption, 10.0));
    if (h) REQUIRE(is_heldout(caption, 20.0));  // a larger share keeps the smaller one's
    REQUIRE_FALSE(is_heldout(caption, 0.0));
    REQUIRE(is_heldout(caption, 100.0));
  }
  CHECK(std::abs(double(held) / n - 0.10) < 0.01);  // standard deviation 0.0021
  CHECK_THROWS_AS(is_heldout("x", 101.0), std::invalid_argument);
  CHECK_THROWS_AS(is_heldout("x", -1.0), std::invalid_argument);
}

TEST_CASE("image data set: bad files name the file, the field and the value", "[image_data]") {
  TempDir dir;
  const std::string good = dir.file("good.h5");
  write_image_dataset(good, small_set());
  int copies = 0;
  // A copy of the good file changed by `edit`; reading it must fail saying `message` (and the path).
  const auto fails_with = [&](const std::function<void(hid_t)>& edit, const std::string& message) {
    const std::string bad = dir.file("bad" + std::to_string(copies++) + ".h5");
    fs::copy_file(good, bad);
    edit_file(bad, edit);
    const std::string error = error_of([&] { read_image_dataset(bad); });
    CHECK_THAT(error, Catch::StartsWith(bad + ": ") && Catch::Contains(message));
  };
  const std::vector<std::uint8_t> pixels(3 * 32 * 32 * 3, 7);
  const std::vector<std::uint8_t> flags{0, 2, 1};
  const std::vector<float> float_pixels(pixels.size(), 1.0f);

  fails_with([](hid_t f) { H5Ldelete(f, "heldout", H5P_DEFAULT); }, "missing dataset 'heldout'");
  fails_with([](hid_t f) { H5Ldelete(f, "captions", H5P_DEFAULT); }, "missing dataset 'captions'");
  fails_with([](hid_t f) { H5Adelete(f, "format"); }, "missing attribute 'format'");
  fails_with([](hid_t f) { replace_string_attribute(f, "format", "rwkv-checkpoint"); },
             "attribute 'format' is 'rwkv-checkpoint', expected 'rwkv-image-dataset'");
  fails_with([](hid_t f) {
    const long version = 2;
    H5Adelete(f, "version");
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(f, "version", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_LONG, &version);
    H5Aclose(a);
    H5Sclose(space);
  }, "attribute 'version' is 2");
  fails_with([&](hid_t f) { replace_dataset(f, "images", {3, 32, 16, 3}, H5T_STD_U8LE, H5T_NATIVE_UINT8, pixels.data()); },
             "dataset 'images' has shape [3, 32, 16, 3]");
  fails_with([&](hid_t f) { replace_dataset(f, "images", {3, 32, 32, 3}, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, float_pixels.data()); },
             "dataset 'images': stored as float32, expected unsigned 8-bit integers");
  fails_with([&](hid_t f) { replace_dataset(f, "heldout", {3}, H5T_STD_U8LE, H5T_NATIVE_UINT8, flags.data()); },
             "dataset 'heldout': value 2 at index 1");
  fails_with([&](hid_t f) { replace_dataset(f, "heldout", {2}, H5T_STD_U8LE, H5T_NATIVE_UINT8, flags.data()); },
             "dataset 'heldout' has shape [2], expected [3]");
  fails_with([&](hid_t f) { replace_dataset(f, "captions", {3}, H5T_STD_U8LE, H5T_NATIVE_UINT8, flags.data()); },
             "dataset 'captions': not variable-length strings");
  fails_with([](hid_t f) {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const char* texts[] = {"ok", "bad \xFF byte", "ok"};
    replace_dataset(f, "captions", {3}, type, type, texts);
    H5Tclose(type);
  }, "caption 1 is not valid UTF-8");

  const std::string text = dir.write("text.h5", "not hdf5 at all");
  CHECK_THAT(error_of([&] { read_image_dataset(text); }), Catch::Equals(text + ": not an HDF5 file"));
  CHECK_THAT(error_of([&] { read_image_dataset(dir.file("missing.h5")); }), Catch::Contains("no such file"));
  // Cut short: the superblock survives, the data does not.
  const std::string cut = dir.file("cut.h5");
  fs::copy_file(good, cut);
  fs::resize_file(cut, fs::file_size(good) / 2);
  CHECK_THAT(error_of([&] { read_image_dataset(cut); }), Catch::StartsWith(cut + ": "));
}

namespace {

// Runs rwkv-image-data with `arguments` from directory `cwd`; returns its exit code, its stdout and
// stderr (together) in `output`.
int run_image_data(const TempDir& dir, const std::string& arguments, std::string& output) {
  const std::string log = dir.file("output.log");
  const std::string command = "cd / && '" RWKV_IMAGE_DATA_PROGRAM "' " + arguments + " >'" + log + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log);
  output.assign(std::istreambuf_iterator<char>(in), {});
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("rwkv-image-data packs a TSV list of PNGs", "[image_data][cli]") {
  TempDir dir;
  fs::create_directories(dir.path / "png" / "sub");
  const RgbImage big = random_image(64, 64, 20), odd = random_image(45, 37, 21), small = random_image(32, 32, 22);
  write_png(dir.file("png/big.png"), big);
  write_png(dir.file("png/sub/odd.png"), odd);
  write_png(dir.file("small.png"), small);
  const std::string tsv = dir.write("png/list.tsv", "big.png\tgrinning face\n\nsub/odd.png\tflag: C\xC3\xB4te d'Ivoire\r\n" +
                                                        dir.file("small.png") + "\tred apple\n");
  const std::string out = dir.file("set.h5");
  std::string output;
  REQUIRE(run_image_data(dir, "--tsv '" + tsv + "' --out '" + out + "' --heldout-percent 50", output) == 0);
  INFO(output);
  CHECK_THAT(output, Catch::Contains("3 / 3 images"));
  const ImageDataset set = read_image_dataset(out);
  REQUIRE(set.size() == 3);
  CHECK(set.images[0].pixels == resize_area(big, 32, 32).pixels);
  CHECK(set.images[1].pixels == resize_area(odd, 32, 32).pixels);
  CHECK(set.images[2].pixels == small.pixels);
  CHECK(set.captions == std::vector<std::string>{"grinning face", "flag: C\xC3\xB4te d'Ivoire", "red apple"});
  for (std::size_t i = 0; i < 3; ++i) CHECK(set.heldout[i] == (is_heldout(set.captions[i], 50.0) ? 1 : 0));
  const std::size_t held = set.heldout_count();
  CHECK_THAT(output, Catch::Contains("3 images, " + std::to_string(3 - held) + " for training, " + std::to_string(held) +
                                     " held out"));

  // Bad input: one line naming the file and line, exit 1, and no output file.
  const std::string missing = dir.write("png/missing.tsv", "big.png\tok\nnowhere.png\tgone\n");
  CHECK(run_image_data(dir, "--tsv '" + missing + "' --out '" + dir.file("x.h5") + "'", output) == 1);
  CHECK_THAT(output, Catch::StartsWith("rwkv-image-data: error: " + missing + ":2: " + dir.file("png/nowhere.png")) &&
                         Catch::Contains("no such file"));
  const std::string no_tab = dir.write("notab.tsv", "big.png grinning\n");
  CHECK(run_image_data(dir, "--tsv '" + no_tab + "' --out '" + dir.file("x.h5") + "'", output) == 1);
  CHECK_THAT(output, Catch::Contains(no_tab + ":1: expected png_path<TAB>caption"));
  CHECK(run_image_data(dir, "--tsv '" + tsv + "' --out '" + dir.file("x.h5") + "' --background '#12345g'", output) == 1);
  CHECK_THAT(output, Catch::Contains("--background '#12345g': expected white or #rrggbb"));
  CHECK(run_image_data(dir, "--tsv '" + tsv + "' --out '" + dir.file("x.h5") + "' --heldout-percent 150", output) == 1);
  CHECK_THAT(output, Catch::Contains("150"));
  CHECK_FALSE(fs::exists(dir.file("x.h5")));
  CHECK(run_image_data(dir, "--out '" + dir.file("x.h5") + "'", output) == 2);
  CHECK_THAT(output, Catch::Contains("tsv"));
}
