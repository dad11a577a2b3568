// One txt2img training sample: a 32x32 image and its caption as one token sequence, in either order
//   [TxtFirst] caption [Img] pixel_0 .. pixel_1023 [End]
//   [ImgFirst] pixel_0 .. pixel_1023 [Txt] caption [End]
// (tokens from vocabulary.hpp). The caption field is always caption_bytes long: shorter captions
// are padded with End, longer ones cut at the last UTF-8 character boundary that fits. With the
// final End, the model also learns where an image or a caption stops. The sequence is T + 1 tokens,
// T = sample_length(caption_bytes) = 1024 + caption_bytes + 2; the model reads its first T tokens
// and predicts its last T (targets[t] = tokens[t + 1]).
// Which order a sample gets, and how its pixels are rounded (RandRound), are pure functions of
// (seed, sample, epoch): a run is reproducible in any order and on any thread.
#pragma once

#include <rwkv/image/quantize.hpp>
#include <rwkv/image/resize.hpp>
#include <rwkv/image/rgb_image.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv::image {

inline constexpr int image_tokens = image_side * image_side;  // 1024
inline constexpr int default_caption_bytes = 96;

// Positions the model reads (and predicts) per sample.
inline constexpr int sample_length(int caption_bytes) { return image_tokens + caption_bytes + 2; }

struct SampleOptions {
  int caption_bytes = default_caption_bytes;
  double text_first_ratio = 0.5;  // probability of [TxtFirst] caption [Img] image; 1 = always
  Rounding rounding = Rounding::random;
  std::uint64_t seed = 0;
};

struct Sample {
  bool text_first = true;
  std::vector<std::int32_t> tokens;     // [T] the model's input
  std::vector<std::int32_t> targets;    // [T] the next token: targets[t] = tokens[t + 1]
  std::vector<std::int32_t> positions;  // [T] raster index 0 .. 1023 where tokens[t] is an image token, else -1
  // [3 T] where targets[t] is an image token, the float levels (value / 255 * 7, before rounding)
  // of that pixel's r, g, b at 3 t .. 3 t + 2, for soft targets; else -1.
  std::vector<float> soft_levels;
};

// The caption as it goes into a sample: cut to at most caption_bytes bytes, never inside a UTF-8
// character (a cut that would split one drops the whole character).
std::string fit_caption(std::string_view caption, int caption_bytes);

// Whether sample `sample` of epoch `epoch` puts its caption first.
bool text_first(const SampleOptions& options, std::uint64_t sample, std::uint64_t epoch);

// The sample of a 32x32 image and its caption (std::invalid_argument for another size, or
// caption_bytes < 1, or a ratio outside [0, 1]).
Sample build_sample(const RgbImage& image, std::string_view caption, const SampleOptions& options,
                    std::uint64_t sample, std::uint64_t epoch);

// The image of 1024 image tokens (vocabulary tokens, 256 .. 767), dequantized; another count or a
// token that is not an image token is a std::invalid_argument naming its index.
RgbImage decode_image_tokens(std::span<const std::int32_t> tokens);

// The caption bytes of a token sequence: the byte tokens after its first TxtFirst or Txt, up to the
// first token that is not a byte (End, Img, ...). std::invalid_argument when it has neither marker.
std::string caption_of(std::span<const std::int32_t> tokens);

}  // namespace rwkv::image
