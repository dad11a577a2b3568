// Image data sets in HDF5: N 32x32 RGB images, their captions and a fixed held-out split.
//   images    uint8 [N, 32, 32, 3]  row-major RGB
//   captions  [N] variable-length UTF-8 strings (h5py reads them as str); HDF5 filters no
//             variable-length data, so only images and heldout carry Fletcher-32 checksums
//   heldout   uint8 [N]             1 = held out of training (for validation), else 0
//   attributes format = "rwkv-image-dataset", version = 1
// The split is a property of the caption, not of the file order: an image is held out when a
// 64-bit hash of its caption (FNV-1a, then SplitMix64's finalizer), as a fraction in [0, 1),
// is below heldout_percent / 100. Equal captions land on the same side.
// Writes are atomic (path.tmp, flushed, fsynced, renamed). Reading checks every field and throws
// std::runtime_error("<file>: <field>: <what is wrong>") for a bad file.
#pragma once

#include <rwkv/image/rgb_image.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::image {

inline constexpr const char* image_dataset_format = "rwkv-image-dataset";
inline constexpr int image_dataset_version = 1;
inline constexpr double default_heldout_percent = 10.0;

struct ImageDataset {
  std::vector<RgbImage> images;  // each 32x32
  std::vector<std::string> captions;
  std::vector<std::uint8_t> heldout;  // 0 or 1

  std::size_t size() const { return images.size(); }
  std::size_t heldout_count() const;
};

// The split rule above; heldout_percent in [0, 100].
bool is_heldout(std::string_view caption, double heldout_percent);

// Appends an image (which must be 32x32) and its caption, held out by is_heldout.
void add_image(ImageDataset& set, RgbImage image, std::string caption, double heldout_percent);

// std::invalid_argument for an inconsistent set (no images, sizes differ, an image not 32x32, a
// caption not valid UTF-8, a heldout flag not 0 or 1); std::runtime_error for I/O failures.
void write_image_dataset(const std::string& path, const ImageDataset& set);
ImageDataset read_image_dataset(const std::string& path);

}  // namespace rwkv::image
