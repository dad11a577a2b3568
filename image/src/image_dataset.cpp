#include <rwkv/image/image_dataset.hpp>
#include <rwkv/image/resize.hpp>
#include <rwkv/core/hash.hpp>
#include <rwkv/core/hdf5_support.hpp>
#include <rwkv/core/unicode.hpp>

#include <algorithm>
#include <stdexcept>

namespace rwkv::image {
namespace {

using hdf5::fail;
using hdf5::Handle;

constexpr hsize_t image_bytes = hsize_t(image_side) * image_side * 3;

// SplitMix64 spreads FNV's weak high bits.
std::uint64_t caption_hash(std::string_view caption) { return mix64(fnv1a64(bytes_of(caption))); }

void check_consistent(const ImageDataset& set) {
  const auto fail_set = [](const std::string& what) { throw std::invalid_argument("image data set: " + what); };
  if (set.images.empty()) fail_set("no images");
  if (set.captions.size() != set.size() || set.heldout.size() != set.size())
    fail_set(std::to_string(set.size()) + " images, " + std::to_string(set.captions.size()) + " captions, " +
             std::to_string(set.heldout.size()) + " heldout flags");
  for (std::size_t i = 0; i < set.size(); ++i) {
    const RgbImage& image = set.images[i];
    if (image.width != image_side || image.height != image_side || image.pixels.size() != image_bytes)
      fail_set("image " + std::to_string(i) + " is " + std::to_string(image.width) + " x " +
               std::to_string(image.height) + ", not 32 x 32");
    if (!is_valid_utf8(set.captions[i])) fail_set("caption " + std::to_string(i) + " is not valid UTF-8");
    if (set.heldout[i] > 1) fail_set("heldout flag " + std::to_string(i) + " is " + std::to_string(set.heldout[i]));
  }
}

Handle utf8_string_type() {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  return type;
}

// Variable-length strings, contiguous: HDF5 applies no filter (so no checksum) to them.
void write_captions(hid_t file, const std::string& path, const std::vector<const char*>& texts) {
  const Handle type = utf8_string_type();
  const hsize_t n = texts.size();
  const Handle space{H5Screate_simple(1, &n, nullptr), H5Sclose};
  const Handle set{H5Dcreate2(file, "captions", type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
  if (!set.valid() || H5Dwrite(set.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()) < 0)
    fail(path, "cannot write dataset 'captions'");
}

// The shape of dataset `name`, which must exist and be a dataset.
std::vector<hsize_t> shape_of(hid_t file, const std::string& path, const std::string& name) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) fail(path, "missing dataset '" + name + "'");
  Handle set{H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose};
  if (!set.valid() || H5Iget_type(set.id()) != H5I_DATASET) fail(path, "'" + name + "' is not a dataset");
  Handle space{H5Dget_space(set.id()), H5Sclose};
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.id()) : -1;
  std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
  if (rank < 0 || H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr) < 0)
    fail(path, "dataset '" + name + "': cannot read its shape");
  return dims;
}

// Fails unless the dataset holds unsigned 8-bit integers, in full where its layout records a size
// (a corrupt file must not make HDF5 read past its storage).
void check_uint8_dataset(hid_t dataset, const std::string& path, const std::string& name) {
  const Handle type{H5Dget_type(dataset), H5Tclose};
  if (!type.valid() || H5Tget_class(type.id()) != H5T_INTEGER || H5Tget_size(type.id()) != 1 ||
      H5Tget_sign(type.id()) != H5T_SGN_NONE)
    fail(path, "dataset '" + name + "': stored as " + (type.valid() ? hdf5::describe_type(type.id()) : "?") +
                   ", expected unsigned 8-bit integers");
  const Handle space{H5Dget_space(dataset), H5Sclose};
  const Handle plist{H5Dget_create_plist(dataset), H5Pclose};
  const hssize_t elements = space.valid() ? H5Sget_simple_extent_npoints(space.id()) : -1;
  const H5D_layout_t layout = plist.valid() ? H5Pget_layout(plist.id()) : H5D_LAYOUT_ERROR;
  if (elements < 0 || layout == H5D_LAYOUT_ERROR ||
      ((layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) && H5Dget_storage_size(dataset) != hsize_t(elements)))
    fail(path, "dataset '" + name + "': not stored in full (truncated or corrupt)");
}

std::vector<std::string> read_captions(hid_t file, const std::string& path, hsize_t n) {
  Handle set = hdf5::open_dataset(file, path, "captions", {n});
  const Handle stored{H5Dget_type(set.id()), H5Tclose};
  if (!stored.valid() || H5Tget_class(stored.id()) != H5T_STRING || H5Tis_variable_str(stored.id()) <= 0)
    fail(path, "dataset 'captions': not variable-length strings");
  const Handle memory = utf8_string_type();
  H5Tset_cset(memory.id(), H5Tget_cset(stored.id()));  // ASCII or UTF-8: the bytes as stored
  std::vector<char*> texts(n, nullptr);
  hdf5::read_dataset(set.id(), path, "captions", memory.id(), texts.data());
  std::vector<std::string> captions(n);
  for (hsize_t i = 0; i < n; ++i) {
    if (texts[i]) captions[i] = texts[i];
    H5free_memory(texts[i]);
  }
  for (hsize_t i = 0; i < n; ++i)
    if (!is_valid_utf8(captions[i])) fail(path, "dataset 'captions': caption " + std::to_string(i) + " is not valid UTF-8");
  return captions;
}

}  // namespace

std::size_t ImageDataset::heldout_count() const { return std::size_t(std::count(heldout.begin(), heldout.end(), 1)); }

bool is_heldout(std::string_view caption, double heldout_percent) {
  if (!(heldout_percent >= 0.0 && heldout_percent <= 100.0))
    throw std::invalid_argument("held-out percent must be in [0, 100], not " + std::to_string(heldout_percent));
  return double(caption_hash(caption) >> 11) * 0x1.0p-53 * 100.0 < heldout_percent;
}

void add_image(ImageDataset& set, RgbImage image, std::string caption, double heldout_percent) {
  set.heldout.push_back(is_heldout(caption, heldout_percent) ? 1 : 0);
  set.images.push_back(std::move(image));
  set.captions.push_back(std::move(caption));
}

void write_image_dataset(const std::string& path, const ImageDataset& set) {
  check_consistent(set);
  const hsize_t n = set.size();
  std::vector<std::uint8_t> pixels;
  pixels.reserve(n * image_bytes);
  for (const RgbImage& image : set.images) pixels.insert(pixels.end(), image.pixels.begin(), image.pixels.end());
  std::vector<const char*> texts;
  for (const std::string& caption : set.captions) texts.push_back(caption.c_str());

  hdf5::write_atomically(path, [&](hid_t file, const std::string& tmp) {
    hdf5::write_string(file, tmp, "format", image_dataset_format);
    hdf5::write_int(file, tmp, "version", image_dataset_version);
    hdf5::write_dataset(file, tmp, "images", {n, hsize_t(image_side), hsize_t(image_side), 3}, H5T_STD_U8LE,
                        H5T_NATIVE_UINT8, pixels.data());
    write_captions(file, tmp, texts);
    hdf5::write_dataset(file, tmp, "heldout", {n}, H5T_STD_U8LE, H5T_NATIVE_UINT8, set.heldout.data());
  });
}

ImageDataset read_image_dataset(const std::string& path) {
  const Handle file = hdf5::open_for_reading(path);
  const std::string format = hdf5::read_string(file.id(), path, "", "format");
  if (format != image_dataset_format)
    fail(path, "attribute 'format' is '" + format + "', expected '" + image_dataset_format + "'");
  const long version = hdf5::read_int(file.id(), path, "", "version");
  if (version != image_dataset_version)
    fail(path, "attribute 'version' is " + std::to_string(version) + ", this program reads version " +
                   std::to_string(image_dataset_version));

  const std::vector<hsize_t> shape = shape_of(file.id(), path, "images");
  if (shape.size() != 4 || shape[0] == 0 || shape[1] != hsize_t(image_side) || shape[2] != hsize_t(image_side) ||
      shape[3] != 3)
    fail(path, "dataset 'images' has shape " + hdf5::shape_text(shape) + ", expected [N, 32, 32, 3] with N >= 1");
  const hsize_t n = shape[0];

  ImageDataset set;
  {
    Handle images = hdf5::open_dataset(file.id(), path, "images", shape);
    check_uint8_dataset(images.id(), path, "images");
    std::vector<std::uint8_t> pixels(n * image_bytes);
    hdf5::read_dataset(images.id(), path, "images", H5T_NATIVE_UINT8, pixels.data());
    set.images.reserve(n);
    for (hsize_t i = 0; i < n; ++i) {
      RgbImage& image = set.images.emplace_back(image_side, image_side);
      std::copy_n(pixels.begin() + std::ptrdiff_t(i * image_bytes), image_bytes, image.pixels.begin());
    }
  }
  set.captions = read_captions(file.id(), path, n);
  {
    Handle heldout = hdf5::open_dataset(file.id(), path, "heldout", {n});
    check_uint8_dataset(heldout.id(), path, "heldout");
    set.heldout.resize(n);
    hdf5::read_dataset(heldout.id(), path, "heldout", H5T_NATIVE_UINT8, set.heldout.data());
    for (hsize_t i = 0; i < n; ++i)
      if (set.heldout[i] > 1)
        fail(path, "dataset 'heldout': value " + std::to_string(set.heldout[i]) + " at index " + std::to_string(i) +
                       " (expected 0 or 1)");
  }
  return set;
}

}  // namespace rwkv::image
