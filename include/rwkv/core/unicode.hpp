// UTF-8 decoding and encoding, and the Unicode character classes the GPT-2 pre-tokenizer splits
// text on: letters (\p{L}), numbers (\p{N}) and white space (\s).
// The classes come from a table of code point ranges generated from Unicode 14.0 (the version of
// the regex engine the Hugging Face tokenizers library uses); see scripts/unicode-ranges.py.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rwkv {

// One character of UTF-8 at a position. An invalid sequence (a stray continuation byte, a
// truncated or overlong sequence, a surrogate, a value past U+10FFFF, the bytes 0xc0, 0xc1 and
// 0xf5..0xff) gives valid = false and length 1: the first byte stands alone, and decoding goes on
// at the next byte, so every byte string splits into characters and invalid bytes.
struct Utf8Char {
  char32_t code_point = 0;  // the byte itself when !valid
  int length = 1;
  bool valid = false;
};

// pos < s.size().
Utf8Char decode_utf8(std::string_view s, std::size_t pos);

// True when s is entirely valid UTF-8.
bool is_valid_utf8(std::string_view s);

// Appends the UTF-8 encoding of c; c is a Unicode scalar value (not a surrogate, <= U+10FFFF).
void append_utf8(std::string& out, char32_t c);

// General category L (Lu, Ll, Lt, Lm, Lo).
bool is_unicode_letter(char32_t c);
// General category N (Nd, Nl, No).
bool is_unicode_number(char32_t c);
// The White_Space property: what \s matches in the tokenizers' regex engine.
bool is_unicode_whitespace(char32_t c);

}  // namespace rwkv
