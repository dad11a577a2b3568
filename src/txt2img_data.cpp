#include <rwkv/txt2img_data.hpp>

#include <stdexcept>
#include <utility>

namespace rwkv {

Txt2ImgData load_txt2img_data(const std::string& path, const image::SampleOptions& options) {
  image::ImageDataset set = image::read_image_dataset(path);
  auto train = image::split_indices(set, false), heldout = image::split_indices(set, true);
  if (train.empty()) throw std::runtime_error(path + ": no training images (all " + std::to_string(set.size()) + " are held out)");
  image::SampleOrder order(train.size(), options.seed);
  return Txt2ImgData{std::move(set), std::move(train), std::move(heldout), options, order, {}};
}

}  // namespace rwkv
