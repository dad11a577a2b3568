// Text from a user's file quoted for an error message: bytes outside printable ASCII as \xNN, cut
// at max_chars, so a message about a garbage header stays on one readable line.
#pragma once

#include <string>
#include <string_view>

namespace rwkv {

inline std::string quoted_text(std::string_view s, std::size_t max_chars = 60) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + (s.size() > max_chars ? "'..." : "'");
}

}  // namespace rwkv
