// UTF-8 decoding and encoding, and the letter / number / white space classes of the BPE
// pre-tokenizer, against facts from the Unicode standard.
#include <rwkv/core/unicode.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

using namespace rwkv;

Utf8Char first_char(const std::string& s) { return decode_utf8(s, 0); }

}  // namespace

TEST_CASE("unicode: UTF-8 decoding of valid characters", "[unicode]") {
  struct Case {
    std::string bytes;
    char32_t code_point;
    int length;
  };
  for (const Case& c : {Case{"A", U'A', 1}, Case{"\x7f", 0x7f, 1}, Case{"\xc2\x80", 0x80, 2}, Case{"\xc3\xa9", 0xe9, 2},
                        Case{"\xdf\xbf", 0x7ff, 2}, Case{"\xe0\xa0\x80", 0x800, 3}, Case{"\xe2\x82\xac", 0x20ac, 3},
                        Case{"\xef\xbf\xbf", 0xffff, 3}, Case{"\xf0\x90\x80\x80", 0x10000, 4},
                        Case{"\xf0\x9f\x98\x80", 0x1f600, 4}, Case{"\xf4\x8f\xbf\xbf", 0x10ffff, 4}}) {
    CAPTURE(c.bytes);
    const Utf8Char ch = first_char(c.bytes + "z");
    CHECK(ch.valid);
    CHECK(ch.code_point == c.code_point);
    CHECK(ch.length == c.length);
  }
  CHECK(decode_utf8("a\xe2\x82\xac", 1).code_point == 0x20ac);
}

TEST_CASE("unicode: invalid UTF-8 gives one byte at a time", "[unicode]") {
  for (const std::string bad : {
           "\x80",              // lone continuation byte
           "\xbf",              //
           "\xc0\x80",          // overlong NUL
           "\xc1\xbf",          // overlong 0x7f
           "\xe0\x80\x80",      // overlong
           "\xe0\x9f\xbf",      // overlong 0x7ff
           "\xf0\x80\x80\x80",  // overlong
           "\xed\xa0\x80",      // surrogate U+D800
           "\xed\xbf\xbf",      // surrogate U+DFFF
           "\xf4\x90\x80\x80",  // U+110000
           "\xf5\x80\x80\x80",  //
           "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
           "\xe2\x82",      // truncated at the end
           "\xe2\x82z",     // truncated before ASCII
           "\xf0\x9f\x98",  //
           "\xc3",          //
       }) {
    CAPTURE(bad);
    const Utf8Char ch = first_char(bad);
    CHECK_FALSE(ch.valid);
    CHECK(ch.length == 1);
    CHECK(ch.code_point == char32_t(static_cast<unsigned char>(bad[0])));
    CHECK_FALSE(is_valid_utf8(bad));
  }
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
}

TEST_CASE("unicode: append_utf8 and decode_utf8 agree on every scalar value", "[unicode]") {
  int mismatches = 0;
  std::string s;
  for (char32_t c = 0; c <= 0x10ffff; ++c) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    s.clear();
    append_utf8(s, c);
    const int expected_length = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    const Utf8Char ch = decode_utf8(s, 0);
    if (!ch.valid || ch.code_point != c || ch.length != expected_length || int(s.size()) != expected_length)
      ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("unicode: letters, numbers and white space", "[unicode]") {
  // ASCII: letters are exactly A-Z a-z, numbers 0-9.
  for (char32_t c = 0; c < 0x80; ++c) {
    CAPTURE(int(c));
    CHECK(is_unicode_letter(c) == ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')));
    CHECK(is_unicode_number(c) == (c >= '0' && c <= '9'));
  }
  // Letters of each kind (Lu, Ll, Lt, Lm, Lo) and the edges of a range: U+00D7 (multiplication
  // sign) sits between the letters U+00D6 and U+00D8.
  for (const char32_t c : {0xe9, 0xdf, 0xd6, 0xd8, 0x1c5, 0x2b0, 0x3a9, 0x416, 0x5d0, 0x627, 0x905, 0x3042, 0x30ab,
                           0x4e2d, 0x9fa5, 0xac00, 0x1d400, 0x20000}) {
    CAPTURE(int(c));
    CHECK(is_unicode_letter(c));
    CHECK_FALSE(is_unicode_number(c));
  }
  // Numbers: Nd (Arabic-Indic, Devanagari, fullwidth digits), Nl (Roman numeral twelve), No
  // (superscript two, vulgar fraction one half, circled one).
  for (const char32_t c : {0x661, 0x966, 0xff10, 0x216b, 0xb2, 0xbd, 0x2460, 0x1d7ce}) {
    CAPTURE(int(c));
    CHECK(is_unicode_number(c));
    CHECK_FALSE(is_unicode_letter(c));
  }
  // Neither: the multiplication sign, combining acute accent (Mn), CJK full stop, an emoji, the
  // zero width space, the ideographic space, a private use code point.
  for (const char32_t c : {0xd7, 0x301, 0x3002, 0x1f600, 0x200b, 0x3000, 0xe000}) {
    CAPTURE(int(c));
    CHECK_FALSE(is_unicode_letter(c));
    CHECK_FALSE(is_unicode_number(c));
  }
  // White_Space: not U+001C..U+001F (which C's isspace takes) nor U+200B or U+180E.
  for (const char32_t c :
       {0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000})
    CHECK(is_unicode_whitespace(c));
  for (const char32_t c : {0x0, 0x8, 0xe, 0x1c, 0x1f, 0x21, 0x84, 0x86, 0x180e, 0x200b, 0x200c, 0x2060, 0xfeff})
    CHECK_FALSE(is_unicode_whitespace(c));
}
