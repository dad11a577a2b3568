// Downscaling by area averaging, and a grid of many small images in one PNG.
//   resize_area: each output pixel is the mean of the source area it covers (a box filter with
//   fractional coverage at its edges), rounded to nearest, halves up; for integer ratios it is the
//   plain block mean (64x64 -> 32x32 averages 2x2 blocks). Upscaling repeats pixels.
//   image_grid: images of one size laid out `columns` per row, each scaled up `scale` times by
//   pixel repetition (nearest neighbour); cells without an image stay white.
#pragma once

#include <rwkv/image/rgb_image.hpp>

#include <span>
#include <string>

namespace rwkv::image {

inline constexpr int image_side = 32;

RgbImage resize_area(const RgbImage& source, int width = image_side, int height = image_side);

RgbImage image_grid(std::span<const RgbImage> images, int columns, int scale);
// image_grid written with write_png.
void write_image_grid(const std::string& path, std::span<const RgbImage> images, int columns, int scale);

}  // namespace rwkv::image
