// Sampling from a txt2img model (the vocabulary of image/vocabulary.hpp, the sample layout of
// image/sequence.hpp) in RNN mode, many sequences side by side in the slots of one state:
//   images:   prompt [TxtFirst] caption padded with End to caption_bytes [Img], then 1024 tokens
//             drawn among the image tokens only, each fed back with its raster position 0..1023
//   captions: prompt [ImgFirst] 1024 pixel tokens (nearest levels, positions 0..1023) [Txt], then
//             tokens drawn among the bytes and End, up to End or caption_bytes bytes
// Each slot's prompt runs as one parallel prefill in a one-slot state that is then copied into the
// slot (a slot whose prompt equals the previous slot's copies that slot instead). Slot s draws its
// uniforms from the stream seed + s (as Sampler seeds its slots), so slot s of a batch gives the
// tokens that generating it alone with seed + s gives, up to the rounding differences between
// batch sizes.
#pragma once

#include <rwkv/arch.hpp>
#include <rwkv/config.hpp>
#include <rwkv/image/rgb_image.hpp>
#include <rwkv/image/sequence.hpp>
#include <rwkv/kernels/sampling.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv {

struct Txt2ImgOptions {
  int caption_bytes = image::default_caption_bytes;  // the caption field of the training samples
  SamplerConfig sampling;
  std::uint64_t seed = 42;  // slot s: stream seed + s
};

// Called after each sampled token of every slot: (tokens drawn per slot so far, at most per slot).
using Txt2ImgProgress = std::function<void(int done, int total)>;

// Throws std::invalid_argument unless the config has the txt2img vocabulary's 773 tokens.
void require_txt2img_vocabulary(const ModelConfig& config);

// The config of a txt2img checkpoint (std::invalid_argument naming the file when its vocabulary is
// not 773), and its caption field: caption_bytes when positive, else that of the checkpoint's
// txt2img training run (its /train state), else image::default_caption_bytes (e.g. for files
// rwkv-export wrote).
ModelConfig read_txt2img_config(const std::string& checkpoint, int& caption_bytes);

// [TxtFirst] fit_caption(caption) padded with End to caption_bytes [Img]
std::vector<int> image_prompt(std::string_view caption, int caption_bytes);
// [ImgFirst] the 1024 pixel tokens of a 32x32 image (nearest levels) [Txt]; another size throws
// std::invalid_argument.
std::vector<int> caption_prompt(const image::RgbImage& image);

// One image per caption (slot): 1024 vocabulary tokens each, all image tokens, in raster order.
template <class Version, class ExecSpace, class Scalar>
std::vector<std::vector<int>> generate_images(Model<Version, ExecSpace, Scalar>& model, std::span<const std::string> captions,
                                              const Txt2ImgOptions& options, const Txt2ImgProgress& progress = {});

// One caption per 32x32 image (slot): its bytes, without the End that closed it.
template <class Version, class ExecSpace, class Scalar>
std::vector<std::string> generate_captions(Model<Version, ExecSpace, Scalar>& model,
                                           std::span<const image::RgbImage> images, const Txt2ImgOptions& options,
                                           const Txt2ImgProgress& progress = {});

#define RWKV_TXT2IMG_GENERATE_INSTANTIATE(PREFIX, VERSION, SPACE, SCALAR)                                             \
  PREFIX template std::vector<std::vector<int>> generate_images<VERSION, SPACE, SCALAR>(                               \
      Model<VERSION, SPACE, SCALAR>&, std::span<const std::string>, const Txt2ImgOptions&, const Txt2ImgProgress&);    \
  PREFIX template std::vector<std::string> generate_captions<VERSION, SPACE, SCALAR>(                                  \
      Model<VERSION, SPACE, SCALAR>&, std::span<const image::RgbImage>, const Txt2ImgOptions&, const Txt2ImgProgress&);

#define RWKV_TXT2IMG_GENERATE_EXTERN_VERSION(VERSION, SPACE, SCALAR) \
  RWKV_TXT2IMG_GENERATE_INSTANTIATE(extern, VERSION, SPACE, SCALAR)
#define RWKV_TXT2IMG_GENERATE_EXTERN(SPACE, SCALAR) \
  RWKV_FOR_EACH_VERSION(RWKV_TXT2IMG_GENERATE_EXTERN_VERSION, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TXT2IMG_GENERATE_EXTERN)
#undef RWKV_TXT2IMG_GENERATE_EXTERN
#undef RWKV_TXT2IMG_GENERATE_EXTERN_VERSION

}  // namespace rwkv
