// The txt2img vocabulary: caption bytes, image tokens, then the special tokens that mark where a
// caption or an image starts and pad a caption to its fixed length.
//   0 .. 255     caption bytes (UTF-8)
//   256 .. 767   image tokens: 256 + pixel token (pixel token = r * 64 + g * 8 + b, see quantize.hpp)
//   768 .. 772   TxtFirst, ImgFirst (start of a sample, naming what comes first), Img, Txt (start
//                of the image or the caption that follows), End (padding after a caption)
#pragma once

#include <rwkv/image/quantize.hpp>

namespace rwkv::image::vocab {

inline constexpr int byte_tokens = 256;
inline constexpr int image_first = byte_tokens;                      // 256
inline constexpr int image_last = image_first + pixel_tokens - 1;    // 767
inline constexpr int TxtFirst = image_last + 1;                      // 768
inline constexpr int ImgFirst = TxtFirst + 1;                        // 769
inline constexpr int Img = ImgFirst + 1;                             // 770
inline constexpr int Txt = Img + 1;                                  // 771
inline constexpr int End = Txt + 1;                                  // 772
inline constexpr int size = End + 1;                                 // 773

static_assert(size == 773, "the txt2img vocabulary is 256 bytes + 512 image tokens + 5 special tokens");

inline constexpr bool is_byte_token(int token) { return token >= 0 && token < byte_tokens; }
inline constexpr bool is_image_token(int token) { return token >= image_first && token <= image_last; }
// The token of pixel token `pixel` (0 .. 511), and back (only for image tokens).
inline constexpr int image_token(int pixel) { return image_first + pixel; }
inline constexpr int pixel_of(int token) { return token - image_first; }

}  // namespace rwkv::image::vocab
