// The image pipeline: PNG files of every colour type written here with libpng and read back,
// area resizing, the image grid and quantization with RandRound.
#include <rwkv/image/png_io.hpp>
#include <rwkv/image/quantize.hpp>
#include <rwkv/image/resize.hpp>

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <png.h>

#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using rwkv::test::error_of;
using rwkv::test::TempDir;

using namespace rwkv::image;
namespace fs = std::filesystem;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A PNG exactly as described, through libpng's low-level API (the reader under test uses the
// same library, but none of this code). Only C objects live across setjmp.
bool write_raw_png(const char* path, int width, int height, int color_type, int bit_depth, bool interlaced,
                   const png_color* palette, int n_palette, const png_byte* trns, int n_trns, png_bytep* rows) {
  std::FILE* file = std::fopen(path, "wb");
  if (!file) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    return false;
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), bit_depth, color_type,
               interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (n_palette > 0) png_set_PLTE(png, info, palette, n_palette);
  if (n_trns > 0) png_set_tRNS(png, info, trns, n_trns, nullptr);
  png_write_info(png, info);
  if (interlaced) png_set_interlace_handling(png);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return std::fclose(file) == 0;
}

int channels_of(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;  // palette index
  }
}

struct TestPng {
  int color_type;
  int bit_depth;
  bool interlaced = false;
  std::vector<png_color> palette = {};
  std::vector<png_byte> trns = {};
};

constexpr int test_width = 7, test_height = 5;

// Sample s of pixel p: any value of the bit depth, varied over the image.
unsigned sample_of(int p, int s, int bit_depth, int palette_size) {
  const unsigned max = palette_size > 0 ? unsigned(palette_size - 1) : (1u << bit_depth) - 1;
  return unsigned(p * 7919 + s * 104729 + (p * p) * 31) % (max + 1);
}

int to_8_bit(unsigned sample, int bit_depth) {
  return int(std::lround(double(sample) * 255.0 / double((1u << bit_depth) - 1)));
}

int composite(int c, int a, int background) {
  return int(std::lround((double(c) * a + double(background) * (255 - a)) / 255.0));
}

// Writes the image and returns the RGB expected after compositing onto `background`.
RgbImage write_test_png(const std::string& path, const TestPng& t, Rgb background) {
  const int channels = channels_of(t.color_type), n_palette = int(t.palette.size());
  std::vector<std::vector<png_byte>> rows(test_height, std::vector<png_byte>(std::size_t(test_width * channels * 2), 0));
  RgbImage expected(test_width, test_height);
  for (int y = 0; y < test_height; ++y)
    for (int x = 0; x < test_width; ++x) {
      const int p = y * test_width + x;
      std::vector<unsigned> s(static_cast<std::size_t>(channels));
      for (int c = 0; c < channels; ++c) {
        s[std::size_t(c)] = sample_of(p, c, t.bit_depth, n_palette);
        const unsigned v = s[std::size_t(c)];
        png_byte* row = rows[std::size_t(y)].data();
        const int index = x * channels + c;
        if (t.bit_depth == 16) {
          row[2 * index] = png_byte(v >> 8);
          row[2 * index + 1] = png_byte(v & 0xff);
        } else if (t.bit_depth == 8) {
          row[index] = png_byte(v);
        } else {  // packed, leftmost pixel in the high bits
          const int bit = index * t.bit_depth;
          row[bit / 8] = png_byte(row[bit / 8] | (v << (8 - t.bit_depth - bit % 8)));
        }
      }
      int rgb[3], alpha = 255;
      if (t.color_type == PNG_COLOR_TYPE_PALETTE) {
        const png_color& entry = t.palette[s[0]];
        rgb[0] = entry.red;
        rgb[1] = entry.green;
        rgb[2] = entry.blue;
        if (s[0] < t.trns.size()) alpha = t.trns[s[0]];
      } else {
        const bool colour = t.color_type & PNG_COLOR_MASK_COLOR;
        for (int c = 0; c < 3; ++c) rgb[c] = to_8_bit(s[colour ? std::size_t(c) : 0], t.bit_depth);
        if (t.color_type & PNG_COLOR_MASK_ALPHA) alpha = to_8_bit(s[std::size_t(channels - 1)], t.bit_depth);
      }
      const int bg[3] = {background.r, background.g, background.b};
      for (int c = 0; c < 3; ++c) expected.at(x, y)[c] = std::uint8_t(composite(rgb[c], alpha, bg[c]));
    }
  std::vector<png_bytep> row_pointers;
  for (auto& row : rows) row_pointers.push_back(row.data());
  REQUIRE(write_raw_png(path.c_str(), test_width, test_height, t.color_type, t.bit_depth, t.interlaced,
                        t.palette.data(), n_palette, t.trns.data(), int(t.trns.size()), row_pointers.data()));
  return expected;
}

std::vector<png_color> test_palette(int n) {
  std::vector<png_color> palette;
  for (int i = 0; i < n; ++i)
    palette.push_back({png_byte(i * 37 % 256), png_byte(255 - i * 11), png_byte(i * 101 % 256)});
  return palette;
}

RgbImage pattern_image(int width, int height, unsigned seed) {
  RgbImage image(width, height);
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = std::uint8_t((i * 2654435761u + seed * 40503u) >> 7);
  return image;
}

}  // namespace

TEST_CASE("read_png: every colour type and depth becomes 8-bit RGB, transparency composited", "[image][png]") {
  TempDir dir;
  const std::vector<std::pair<std::string, TestPng>> cases = {
      {"palette 8-bit", {PNG_COLOR_TYPE_PALETTE, 8, false, test_palette(200)}},
      {"palette 4-bit with tRNS", {PNG_COLOR_TYPE_PALETTE, 4, false, test_palette(16), {255, 0, 128, 37, 200}}},
      {"grey 1-bit", {PNG_COLOR_TYPE_GRAY, 1}},
      {"grey 4-bit", {PNG_COLOR_TYPE_GRAY, 4}},
      {"grey 8-bit", {PNG_COLOR_TYPE_GRAY, 8}},
      {"grey 16-bit", {PNG_COLOR_TYPE_GRAY, 16}},
      {"grey + alpha 8-bit", {PNG_COLOR_TYPE_GRAY_ALPHA, 8}},
      {"grey + alpha 16-bit", {PNG_COLOR_TYPE_GRAY_ALPHA, 16}},
      {"RGB 8-bit", {PNG_COLOR_TYPE_RGB, 8}},
      {"RGB 16-bit", {PNG_COLOR_TYPE_RGB, 16}},
      {"RGB 8-bit interlaced", {PNG_COLOR_TYPE_RGB, 8, true}},
      {"RGBA 8-bit", {PNG_COLOR_TYPE_RGB_ALPHA, 8}},
      {"RGBA 16-bit", {PNG_COLOR_TYPE_RGB_ALPHA, 16}},
  };
  for (const Rgb background : {white, Rgb{10, 200, 77}})
    for (const auto& [name, t] : cases) {
      INFO(name << ", background " << int(background.r) << " " << int(background.g) << " " << int(background.b));
      const std::string path = dir.file("test.png");
      const RgbImage expected = write_test_png(path, t, background);
      const RgbImage image = read_png(path, background);
      REQUIRE(image.width == test_width);
      REQUIRE(image.height == test_height);
      CHECK(image.pixels == expected.pixels);
    }
}

TEST_CASE("write_png writes RGB that read_png reads back exactly, replacing the file whole", "[image][png]") {
  TempDir dir;
  const std::string path = dir.file("out.png");
  const RgbImage first = pattern_image(33, 17, 1), second = pattern_image(5, 9, 2);
  write_png(path, first);
  CHECK(read_png(path).pixels == first.pixels);
  write_png(path, second);
  const RgbImage back = read_png(path);
  CHECK(back.width == 5);
  CHECK(back.height == 9);
  CHECK(back.pixels == second.pixels);
  CHECK_FALSE(fs::exists(path + ".tmp"));

  const std::string unwritable = dir.file("no-such-directory/out.png");
  CHECK_THAT(error_of([&] { write_png(unwritable, first); }),
             Catch::Contains(unwritable + ".tmp") && Catch::Contains("cannot create"));
  RgbImage inconsistent(4, 4);
  inconsistent.pixels.pop_back();
  CHECK_THROWS_AS(write_png(path, inconsistent), std::invalid_argument);
  CHECK(read_png(path).pixels == second.pixels);
}

TEST_CASE("read_png: a bad file gives one error naming it and what is wrong", "[image][png]") {
  TempDir dir;
  const std::string missing = dir.file("missing.png");
  CHECK_THAT(error_of([&] { read_png(missing); }), Catch::Contains(missing) && Catch::Contains("no such file"));

  const std::string text = dir.file("text.png");
  write_bytes(text, "this is not an image, just some text\n");
  CHECK_THAT(error_of([&] { read_png(text); }), Catch::Contains(text) && Catch::Contains("not a PNG file"));

  const std::string empty = dir.file("empty.png");
  write_bytes(empty, "");
  CHECK_THAT(error_of([&] { read_png(empty); }), Catch::Contains(empty) && Catch::Contains("not a PNG file"));

  CHECK_THAT(error_of([&] { read_png(dir.path.string()); }), Catch::Contains("is a directory"));

  const std::string good = dir.file("good.png");
  write_png(good, pattern_image(40, 40, 3));
  const std::string bytes = read_bytes(good);
  for (const std::size_t keep : {std::size_t(8), std::size_t(20), std::size_t(40), bytes.size() / 2, bytes.size() - 1}) {
    INFO("first " << keep << " of " << bytes.size() << " bytes");
    const std::string truncated = dir.file("truncated.png");
    write_bytes(truncated, bytes.substr(0, keep));
    CHECK_THAT(error_of([&] { read_png(truncated); }), Catch::Contains(truncated) && Catch::Contains("truncated"));
  }

  // A flipped bit in the header: IHDR's checksum no longer matches.
  std::string damaged_bytes = bytes;
  damaged_bytes[18] = char(damaged_bytes[18] ^ 0x01);
  const std::string damaged = dir.file("damaged.png");
  write_bytes(damaged, damaged_bytes);
  CHECK_THAT(error_of([&] { read_png(damaged); }), Catch::Contains(damaged) && Catch::Contains("CRC"));
}

TEST_CASE("resize_area averages 2x2 blocks exactly for 64x64 -> 32x32", "[image][resize]") {
  const RgbImage source = pattern_image(64, 64, 4);
  const RgbImage out = resize_area(source);
  REQUIRE(out.width == 32);
  REQUIRE(out.height == 32);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) {
        const int sum = source.at(2 * x, 2 * y)[c] + source.at(2 * x + 1, 2 * y)[c] + source.at(2 * x, 2 * y + 1)[c] +
                        source.at(2 * x + 1, 2 * y + 1)[c];
        INFO("x " << x << " y " << y << " c " << c);
        CHECK(int(out.at(x, y)[c]) == (sum + 2) / 4);  // the mean rounded, halves up
      }
  CHECK(resize_area(out).pixels == out.pixels);  // 32x32 is left as it is
}

TEST_CASE("resize_area keeps the mean for non-integer ratios and constants constant", "[image][resize]") {
  for (const auto& [w, h] : {std::pair{50, 37}, std::pair{33, 33}, std::pair{100, 71}, std::pair{45, 32}}) {
    INFO(w << " x " << h);
    const RgbImage source = pattern_image(w, h, unsigned(w * h));
    const RgbImage out = resize_area(source);
    for (int c = 0; c < 3; ++c) {
      double in_mean = 0, out_mean = 0;
      for (std::size_t i = std::size_t(c); i < source.pixels.size(); i += 3) in_mean += source.pixels[i];
      for (std::size_t i = std::size_t(c); i < out.pixels.size(); i += 3) out_mean += out.pixels[i];
      in_mean /= double(w * h);
      out_mean /= 1024.0;
      // Each output pixel is its exact area mean rounded; the exact means average to in_mean.
      CHECK(std::abs(out_mean - in_mean) <= 0.5);
    }
    RgbImage constant(w, h);
    for (std::size_t i = 0; i < constant.pixels.size(); ++i) constant.pixels[i] = std::uint8_t(60 + i % 3 * 50);
    const RgbImage flat = resize_area(constant);
    for (std::size_t i = 0; i < flat.pixels.size(); ++i) CHECK(int(flat.pixels[i]) == int(60 + i % 3 * 50));
  }
  CHECK_THROWS_AS(resize_area(RgbImage()), std::invalid_argument);
}

TEST_CASE("image_grid lays images out by columns, scaled by repetition; the file reads back", "[image][resize]") {
  const std::vector<RgbImage> images = {pattern_image(32, 32, 5), pattern_image(32, 32, 6), pattern_image(32, 32, 7)};
  const RgbImage grid = image_grid(images, 2, 3);
  REQUIRE(grid.width == 2 * 32 * 3);
  REQUIRE(grid.height == 2 * 32 * 3);
  for (int y = 0; y < grid.height; ++y)
    for (int x = 0; x < grid.width; ++x) {
      const std::size_t i = std::size_t((y / 96) * 2 + x / 96);
      const std::uint8_t* pixel = grid.at(x, y);
      const std::uint8_t* expected = i < images.size() ? images[i].at(x % 96 / 3, y % 96 / 3) : nullptr;
      for (int c = 0; c < 3; ++c) REQUIRE(int(pixel[c]) == (expected ? int(expected[c]) : 255));
    }
  TempDir dir;
  const std::string path = dir.file("grid.png");
  write_image_grid(path, images, 2, 3);
  CHECK(read_png(path).pixels == grid.pixels);
  const std::vector<RgbImage> mixed = {pattern_image(32, 32, 5), pattern_image(16, 16, 5)};
  CHECK_THROWS_AS(image_grid(mixed, 2, 1), std::invalid_argument);
}

TEST_CASE("pixel tokens and (r, g, b) levels are a bijection over all 512", "[image][quantize]") {
  std::set<int> seen;
  for (int r = 0; r < 8; ++r)
    for (int g = 0; g < 8; ++g)
      for (int b = 0; b < 8; ++b) {
        const int token = pixel_token(r, g, b);
        CHECK(token == r * 64 + g * 8 + b);
        CHECK(token_levels(token) == std::array<int, 3>{r, g, b});
        seen.insert(token);
      }
  CHECK(seen.size() == 512);
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == pixel_tokens - 1);
}

TEST_CASE("quantizing to the nearest level and back errs by at most half a level", "[image][quantize]") {
  const double half_level = 255.0 / 7.0 / 2.0;
  for (int v = 0; v < 256; ++v) {
    const float level = channel_level(std::uint8_t(v));
    CHECK(level == Approx(v * 7.0 / 255.0).epsilon(1e-6));
    const int back = level_value(int(std::lround(level)));
    INFO("value " << v << " level " << level);
    CHECK(std::abs(back - v) <= half_level);
  }
  const int expected_values[8] = {0, 36, 73, 109, 146, 182, 219, 255};
  for (int l = 0; l < 8; ++l) CHECK(int(level_value(l)) == expected_values[l]);

  const RgbImage image = pattern_image(32, 32, 8);
  const std::vector<std::uint16_t> tokens = quantize_image(image, Rounding::nearest);
  REQUIRE(tokens.size() == 1024);
  const RgbImage back = dequantize_image(tokens, 32, 32);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) CHECK(std::abs(int(back.pixels[i]) - int(image.pixels[i])) <= half_level);
  std::vector<std::uint16_t> bad = tokens;
  bad[3] = 512;
  CHECK_THROWS_AS(dequantize_image(bad, 32, 32), std::invalid_argument);
}

TEST_CASE("RandRound yields floor or ceil with the float level as its mean", "[image][quantize]") {
  const int draws = 200000;
  for (const int v : {1, 37, 100, 167, 200, 254}) {
    const float level = channel_level(std::uint8_t(v));
    const double fraction = double(level) - std::floor(double(level));
    const RandRoundKey key{20240611, std::uint64_t(v), 3};
    double sum = 0;
    for (int i = 0; i < draws; ++i) {
      const int rounded = rand_round(level, rand_round_uniform(key, std::uint64_t(i)));
      REQUIRE((rounded == int(std::floor(level)) || rounded == int(std::floor(level)) + 1));
      sum += rounded;
    }
    const double sigma = std::sqrt(fraction * (1 - fraction) / draws);
    INFO("value " << v << " level " << level << " mean " << sum / draws);
    CHECK(std::abs(sum / draws - double(level)) <= 5 * sigma);
  }
  // Whole levels (values 0 and 255) are never moved.
  for (int i = 0; i < 1000; ++i) {
    CHECK(rand_round(channel_level(0), rand_round_uniform({1, 2, 3}, std::uint64_t(i))) == 0);
    CHECK(rand_round(channel_level(255), rand_round_uniform({1, 2, 3}, std::uint64_t(i))) == 7);
  }
}

TEST_CASE("RandRound over an image is reproducible, order-free and keyed by seed, sample and epoch", "[image][quantize]") {
  const RgbImage image = pattern_image(32, 32, 9);
  const RandRoundKey key{7, 11, 2};
  const std::vector<std::uint16_t> tokens = quantize_image(image, Rounding::random, key);
  CHECK(quantize_image(image, Rounding::random, key) == tokens);
  // Each value's draw depends on its index alone, not on the draws before it.
  for (std::size_t p = 1024; p-- > 0;) {
    int levels[3];
    for (int c = 0; c < 3; ++c)
      levels[c] = rand_round(channel_level(image.pixels[3 * p + std::size_t(c)]), rand_round_uniform(key, 3 * p + std::size_t(c)));
    REQUIRE(tokens[p] == pixel_token(levels[0], levels[1], levels[2]));
  }
  CHECK(quantize_image(image, Rounding::random, {8, 11, 2}) != tokens);
  CHECK(quantize_image(image, Rounding::random, {7, 12, 2}) != tokens);
  CHECK(quantize_image(image, Rounding::random, {7, 11, 3}) != tokens);
  // Each channel lands on the floor or the ceiling of its level.
  for (std::size_t p = 0; p < 1024; ++p) {
    const auto levels = token_levels(tokens[p]);
    for (int c = 0; c < 3; ++c) {
      const float level = channel_level(image.pixels[3 * p + std::size_t(c)]);
      CHECK(levels[std::size_t(c)] >= int(std::floor(level)));
      CHECK(levels[std::size_t(c)] <= int(std::ceil(level)));
    }
  }
}

