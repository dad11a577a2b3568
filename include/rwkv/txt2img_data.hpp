// An image data set as the txt2img task trains on it: its training and held-out images, the
// sample options and order of the run, and the device views a batch of samples goes to.
#pragma once

#include <rwkv/image/image_dataset.hpp>
#include <rwkv/image/txt2img_batches.hpp>

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace rwkv {

struct Txt2ImgData {
  image::ImageDataset set;
  std::vector<std::size_t> train, heldout;  // indices into `set`
  image::SampleOptions options;
  image::SampleOrder order;                 // of the training images
  image::Txt2ImgBatch batch;                // this rank's samples of the step
};

// Reads the data set at `path`; std::runtime_error naming it when every image is held out.
Txt2ImgData load_txt2img_data(const std::string& path, const image::SampleOptions& options);

// The device views a model's training step reads, for the rows of a batch.
template <class ModelT>
struct Txt2ImgViews {
  typename ModelT::TokenView tokens, targets;
  typename ModelT::PositionView positions;
  typename ModelT::LevelView soft_levels;  // empty without soft targets

  Txt2ImgViews(int rows, int T, bool soft)
      : tokens("txt2img_tokens", std::size_t(rows) * T), targets("txt2img_targets", std::size_t(rows) * T),
        positions("txt2img_positions", std::size_t(rows) * T),
        soft_levels("txt2img_soft_levels", soft ? std::size_t(rows) * T : 0, 3) {}

  // `batch` (as many rows as the views hold) to the device.
  void load(const image::Txt2ImgBatch& batch) {
    const std::size_t n = tokens.extent(0);
    using Host = Kokkos::View<const int*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    Kokkos::deep_copy(tokens, Host(batch.tokens.data(), n));
    Kokkos::deep_copy(targets, Host(batch.targets.data(), n));
    Kokkos::deep_copy(positions, Host(batch.positions.data(), n));
    if (soft_levels.extent(0) > 0)
      Kokkos::deep_copy(soft_levels, Kokkos::View<const float**, Kokkos::LayoutRight, Kokkos::HostSpace,
                                                  Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                         batch.soft_levels.data(), n, 3));
  }
};

}  // namespace rwkv
