// An 8-bit RGB image in memory: row-major, 3 bytes per pixel (r, g, b), no padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rwkv::image {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

inline constexpr Rgb white{255, 255, 255};

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // width * height * 3

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), pixels(std::size_t(w) * std::size_t(h) * 3, 0) {}

  std::uint8_t* at(int x, int y) { return pixels.data() + (std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3; }
  const std::uint8_t* at(int x, int y) const {
    return pixels.data() + (std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3;
  }
};

}  // namespace rwkv::image
