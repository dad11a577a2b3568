#include <rwkv/image/resize.hpp>

#include <rwkv/image/png_io.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace rwkv::image {
namespace {

struct Coverage {
  int source;
  std::uint64_t weight;
};

// Along one axis, in units where a source pixel is out_size long and an output pixel in_size long
// (so both tile [0, in_size * out_size) exactly): the source pixels each output pixel overlaps, and
// by how much. Each output pixel's weights sum to in_size.
std::vector<std::vector<Coverage>> axis_coverage(int in_size, int out_size) {
  std::vector<std::vector<Coverage>> coverage(static_cast<std::size_t>(out_size));
  for (int o = 0; o < out_size; ++o) {
    const std::uint64_t begin = std::uint64_t(o) * in_size, end = begin + in_size;
    for (int s = int(begin / out_size); s < in_size && std::uint64_t(s) * out_size < end; ++s) {
      const std::uint64_t s_begin = std::uint64_t(s) * out_size, s_end = s_begin + out_size;
      const std::uint64_t overlap = std::min(end, s_end) - std::max(begin, s_begin);
      if (overlap > 0) coverage[std::size_t(o)].push_back({s, overlap});
    }
  }
  return coverage;
}

void check_image(const RgbImage& image, const char* what) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * 3)
    throw std::invalid_argument(std::string(what) + ": an image of " + std::to_string(image.width) + " x " +
                                std::to_string(image.height) + " pixels holding " +
                                std::to_string(image.pixels.size()) + " bytes");
}

}  // namespace

RgbImage resize_area(const RgbImage& source, int width, int height) {
  check_image(source, "resize_area");
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("resize_area: output size " + std::to_string(width) + " x " + std::to_string(height));
  const auto columns = axis_coverage(source.width, width);
  const auto rows = axis_coverage(source.height, height);
  // Sums reach 255 * source.width * source.height: within uint64 for any image read_png accepts.
  const std::uint64_t area = std::uint64_t(source.width) * std::uint64_t(source.height);
  RgbImage out(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      std::uint64_t sum[3] = {0, 0, 0};
      for (const Coverage& row : rows[std::size_t(y)])
        for (const Coverage& column : columns[std::size_t(x)]) {
          const std::uint64_t weight = row.weight * column.weight;
          const std::uint8_t* pixel = source.at(column.source, row.source);
          for (int c = 0; c < 3; ++c) sum[c] += weight * pixel[c];
        }
      for (int c = 0; c < 3; ++c) out.at(x, y)[c] = std::uint8_t((2 * sum[c] + area) / (2 * area));
    }
  return out;
}

RgbImage image_grid(std::span<const RgbImage> images, int columns, int scale) {
  if (images.empty()) throw std::invalid_argument("image_grid: no images");
  if (columns <= 0 || scale <= 0)
    throw std::invalid_argument("image_grid: columns " + std::to_string(columns) + ", scale " + std::to_string(scale));
  const int w = images[0].width, h = images[0].height;
  for (const RgbImage& image : images) {
    check_image(image, "image_grid");
    if (image.width != w || image.height != h)
      throw std::invalid_argument("image_grid: images of " + std::to_string(w) + " x " + std::to_string(h) + " and " +
                                  std::to_string(image.width) + " x " + std::to_string(image.height) + " pixels");
  }
  const int n = int(images.size());
  const int used_columns = std::min(columns, n);
  const int grid_rows = (n + columns - 1) / columns;
  RgbImage grid(used_columns * w * scale, grid_rows * h * scale);
  std::fill(grid.pixels.begin(), grid.pixels.end(), std::uint8_t(255));
  for (int i = 0; i < n; ++i) {
    const int x0 = (i % columns) * w * scale, y0 = (i / columns) * h * scale;
    for (int y = 0; y < h * scale; ++y)
      for (int x = 0; x < w * scale; ++x) {
        const std::uint8_t* from = images[std::size_t(i)].at(x / scale, y / scale);
        std::uint8_t* to = grid.at(x0 + x, y0 + y);
        to[0] = from[0];
        to[1] = from[1];
        to[2] = from[2];
      }
  }
  return grid;
}

void write_image_grid(const std::string& path, std::span<const RgbImage> images, int columns, int scale) {
  write_png(path, image_grid(images, columns, scale));
}

}  // namespace rwkv::image
