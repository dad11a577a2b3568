// PNG files through libpng (whose headers stay in png_io.cpp).
//   read_png: any PNG (palette, grey, grey + alpha, RGB, RGBA; 1 to 16 bits, interlaced or not)
//   becomes 8-bit RGB; 16-bit samples are scaled (v * 255 / 65535, rounded), transparency is
//   composited onto `background`. No gamma or colour-profile conversion: samples are taken as they
//   are stored.
//   write_png: 8-bit RGB, written to path + ".tmp", synced, then renamed over path, so path holds
//   either its old content or the whole new image.
// Errors in files throw std::runtime_error("<file>: <what is wrong>"); an inconsistent RgbImage
// throws std::invalid_argument.
#pragma once

#include <rwkv/image/rgb_image.hpp>

#include <cstdint>
#include <string>

namespace rwkv::image {

// Larger images are refused before any pixel is read (a 16384 x 16384 image needs 1 GiB as RGBA).
inline constexpr std::uint64_t max_png_pixels = std::uint64_t(1) << 28;

RgbImage read_png(const std::string& path, Rgb background = white);
void write_png(const std::string& path, const RgbImage& image);

}  // namespace rwkv::image
