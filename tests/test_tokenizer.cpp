// The three tokenizers: bytes; GPT-NeoX BPE on the real 20B_tokenizer.json (which
// scripts/setup.sh installs: missing, these tests fail) and on small files written here; RWKV World
// on a small vocab written here in the rwkv_vocab_v20230424.txt format. Round trips on all three.
#include <rwkv/tokenizer.hpp>
#include <rwkv/core/unicode.hpp>

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using rwkv::test::TempDir;

using namespace rwkv;
namespace fs = std::filesystem;
using json = nlohmann::json;

const std::string neox_path = std::string(RWKV_DEPS_DATA_DIR) + "/20B_tokenizer.json";

// Loaded once: parsing 2.4 MB of JSON is the slow part.
const Tokenizer& neox() {
  static const std::unique_ptr<Tokenizer> t = [] {
    INFO(neox_path << " is installed by scripts/setup.sh");
    REQUIRE(fs::is_regular_file(neox_path));
    return load_tokenizer(neox_path);
  }();
  return *t;
}

const json& neox_json() {
  neox();  // fails clearly when the file is missing
  static const json j = json::parse(std::ifstream(neox_path));
  return j;
}

// 0xc0, 0xc1 and 0xf5..0xff: GPT-NeoX's vocabulary has no token for them.
bool never_in_utf8(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b == 0xc0 || b == 0xc1 || b >= 0xf5;
}

std::vector<Token> ids(std::initializer_list<int> v) { return std::vector<Token>(v.begin(), v.end()); }

// GPT-2's byte -> character map, spelled out: printable Latin-1 bytes stand for themselves, the
// others take U+0100, U+0101, ... in byte order.
std::string spell(const std::string& bytes) {
  std::string out;
  for (const char ch : bytes) {
    const int b = static_cast<unsigned char>(ch);
    int c = b, shifted = 256;
    const auto printable = [](int x) { return (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174; };
    if (!printable(b)) {
      for (int k = 0; k < b; ++k) shifted += printable(k) ? 0 : 1;
      c = shifted;
    }
    if (c < 0x80) {
      out += char(c);
    } else {
      out += char(0xc0 | (c >> 6));
      out += char(0x80 | (c & 0x3f));
    }
  }
  return out;
}

// A byte-level BPE tokenizer.json: ids 0..255 are the bytes, then `extra` (byte strings) in
// order; merges are pairs of byte strings, by rank.
std::string bpe_json(const std::vector<std::string>& extra,
                     const std::vector<std::pair<std::string, std::string>>& merges,
                     const json& added = json::array()) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[spell(std::string(1, char(b)))] = b;
  for (std::size_t i = 0; i < extra.size(); ++i) vocab[spell(extra[i])] = 256 + int(i);
  json m = json::array();
  for (const auto& [a, b] : merges) m.push_back(spell(a) + " " + spell(b));
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}};
  return json{{"version", "1.0"},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", byte_level},
              {"post_processor", byte_level},
              {"decoder", byte_level},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", m}}}}
      .dump();
}

// Python's repr of a one-byte token as rwkv_vocab_v20230424.txt writes it.
std::string py_byte_literal(int b) {
  static const char hex[] = "0123456789abcdef";
  const std::string x = std::string("\\x") + hex[b >> 4] + hex[b & 15];
  if (b >= 0x80) return "b'" + x + "'";
  if (b == '\t') return "'\\t'";
  if (b == '\n') return "'\\n'";
  if (b == '\r') return "'\\r'";
  if (b == '\'') return "\"'\"";
  if (b == '\\') return "'\\\\'";
  if (b < 0x20 || b == 0x7f) return "'" + x + "'";
  return "'" + std::string(1, char(b)) + "'";
}

// Ids 1..256 are the bytes 0..255, as in the real file; then tokens exercising each literal form.
// Id 300 leaves ids 271..299 unused.
std::string world_vocab(const std::string& extra_lines = "") {
  std::string v;
  for (int b = 0; b < 256; ++b) v += std::to_string(b + 1) + " " + py_byte_literal(b) + " 1\n";
  v += "257 'ab' 2\n"
       "258 'abc' 3\n"
       "259 ' the' 4\n"
       "260 \"'s\" 2\n"
       "261 '\\n\\n' 2\n"
       "262 '\xe4\xbd\xa0\xe5\xa5\xbd' 6\n"  // 你好, written as UTF-8
       "263 '\\u4e16' 3\n"                   // 世
       "264 '\xf0\x9f\x98\x80' 4\n"          // 😀
       "265 '\\U0001f600\\U0001f600' 8\n"
       "266 b'\\xe4\\xbd' 2\n"  // the first two bytes of 你
       "267 '\\xe9t\\xe9' 5\n"  // été: \xe9 in a str is U+00E9, two bytes in UTF-8
       "268 '\"\\'' 2\n"
       "269 '  ' 2\n"
       "270 '\\\\n' 2\n"
       "300 'xyz' 3\n";
  return v + extra_lines;
}

Token byte_id(char c) { return Token(static_cast<unsigned char>(c) + 1); }

// Strings every tokenizer must give back exactly.
const std::vector<std::string>& round_trip_cases() {
  static const std::vector<std::string> cases = {
      "",
      "Hello world",
      "The quick brown fox jumps over the lazy dog. It's 3.14159; they're 'quoted'!",
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88",  // 日本語のテキスト
      "\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d"
      "\xf0\x9f\x91\xa7",                        // 😀👍🏽 👨‍👩‍👧
      "e\xcc\x81 a\xcc\x88\xcc\x81 n\xcc\x83o",  // combining marks, not NFC
      "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",  // Привет مرحبا
      "\x80",
      "\xbf\xbf",
      "\xc3",
      "\xe2\x82",
      "\xf0\x9f\x98",
      "\xff",
      "\xfe\xff",
      "\xc0\x80",
      "\xed\xa0\x80",
      "a\xff"
      "b\x80 c\xe2\x82 d\xf0\x9f\x98\x80\x80",
      std::string(1000, ' '),
      std::string(77, '\n') + std::string(30, ' ') + "\t\t\r\n  \xe3\x80\x80\xc2\xa0 x   ",
      "  leading and trailing  ",
      "<|endoftext|>",
      "x<|endoftext|><|padding|>y <|endoftext",
      "    def f(x):\n        return x\n",
      std::string("nul\0inside", 10),
  };
  return cases;
}

// Random strings: raw bytes, and mixtures of fragments that reach every path of the BPE splitter.
std::vector<std::string> random_cases(std::uint32_t seed, int count) {
  static const std::vector<std::string> fragments = {" ",
                                                     "  ",
                                                     "\n",
                                                     "\t",
                                                     "a",
                                                     "the",
                                                     " world",
                                                     "'s",
                                                     "'ll",
                                                     "123",
                                                     " 45",
                                                     "!?",
                                                     "...",
                                                     "\xc3\xa9",
                                                     "\xe4\xb8\xad",
                                                     "\xf0\x9f\x98\x80",
                                                     "\xcc\x81",
                                                     "\x80",
                                                     "\xff",
                                                     "\xe2\x82",
                                                     "<|endoftext|>",
                                                     "\xc2\xa0"};
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s;
    const int n = int(rng() % 48);
    const bool raw = i % 2 == 0;
    for (int k = 0; k < n; ++k) s += raw ? std::string(1, char(rng() & 0xff)) : fragments[rng() % fragments.size()];
    out.push_back(s);
  }
  return out;
}

// For GPT-NeoX, strings holding a byte it has no token for must throw instead.
void check_round_trips(const Tokenizer& t, const std::vector<std::string>& cases, bool lacks_non_utf8_bytes) {
  for (const std::string& s : cases) {
    CAPTURE(s);
    if (lacks_non_utf8_bytes && std::any_of(s.begin(), s.end(), never_in_utf8)) {
      CHECK_THROWS_AS(t.encode(s), std::invalid_argument);
      continue;
    }
    const std::vector<Token> tokens = t.encode(s);
    for (const Token id : tokens) REQUIRE(int(id) < t.vocab_size());
    CHECK(t.decode(tokens) == s);
    std::string streamed;
    for (const Token id : tokens) streamed += t.token_bytes(id);
    CHECK(streamed == s);
  }
}

}  // namespace

TEST_CASE("tokenizer: bytes", "[tokenizer]") {
  const auto t = load_tokenizer("bytes");
  CHECK(t->name() == "bytes");
  CHECK(t->vocab_size() == 256);
  CHECK(t->encode("A\xff\n") == ids({65, 255, 10}));
  CHECK(t->decode(ids({104, 105, 0, 200})) == std::string("hi\0\xc8", 4));
  CHECK(t->token_bytes(255) == "\xff");
  CHECK_THROWS_AS(t->token_bytes(256), std::invalid_argument);
  CHECK_THROWS_WITH(t->decode(ids({65, 300})), Catch::Contains("bytes: token 300 is not in the vocabulary"));
}

TEST_CASE("tokenizer: GPT-NeoX BPE on 20B_tokenizer.json matches its vocabulary", "[tokenizer]") {
  const Tokenizer& t = neox();
  CHECK(t.name() == "bpe:" + neox_path);
  CHECK(t.vocab_size() == 50277);  // the RWKV-4 Pile models' V
  const json& vocab = neox_json()["model"]["vocab"];
  // "Ġ" spells the space byte.
  CHECK(t.encode("Hello world") == ids({vocab["Hello"].get<int>(), vocab["\xc4\xa0world"].get<int>()}));
  CHECK(t.encode("Hello") == ids({vocab["Hello"].get<int>()}));
  CHECK(t.token_bytes(Token(vocab["\xc4\xa0world"].get<int>())) == " world");
  // A single byte is its own token, except the 13 that never occur in UTF-8, which the vocabulary
  // lacks: those cannot be encoded.
  for (int b = 0; b < 256; ++b) {
    CAPTURE(b);
    const std::string byte(1, char(b));
    if (never_in_utf8(byte[0])) {
      CHECK_FALSE(vocab.contains(spell(byte)));
      CHECK_THROWS_WITH(t.encode("ok" + byte), Catch::Contains("at offset 2 has no token"));
    } else {
      CHECK(t.encode(byte) == ids({vocab[spell(byte)].get<int>()}));
    }
  }
  // Added tokens: the specials and the runs of 2..24 spaces (ids 50276 down to 50254).
  CHECK(t.encode("<|endoftext|>") == ids({0}));
  CHECK(t.encode("<|padding|>") == ids({1}));
  for (int n = 2; n <= 24; ++n) CHECK(t.encode(std::string(std::size_t(n), ' ')) == ids({50278 - n}));
}

TEST_CASE("tokenizer: GPT-NeoX BPE gives the Hugging Face library's ids", "[tokenizer]") {
  // Each expectation was produced by the Hugging Face tokenizers library (0.23.2, its Node
  // binding) on the same 20B_tokenizer.json. Together they exercise every branch of the GPT-2
  // pattern, the added tokens (leftmost longest) and multi-byte text.
  const std::vector<std::pair<std::string, std::vector<Token>>> cases = {
      {"Hello    world", ids({12092, 50274, 10186})},
      {"<|endoftext|>The end<|padding|>", ids({0, 510, 990, 1})},
      {"it's they're we've I'm you'll he'd 'LL",
       ids({262, 434, 597, 1472, 359, 1849, 309, 1353, 368, 1833, 344, 1871, 686, 2293})},
      {"  leading spaces\n\n\ttabs\r\n", ids({50276, 16378, 8470, 535, 186, 33754, 2379})},
      {"1234567 apples, 3.14!", ids({42594, 2251, 28580, 13, 495, 15, 1047, 2})},
      {"I've 123abc", ids({42, 1849, 15567, 19758})},
      {"x'S", ids({89, 8, 52})},
      {"the 1990's and 80's", ids({783, 7901, 434, 285, 5096, 434})},  // \p{N}+ ends before 's
      {"def f():\n    return 1\n", ids({1545, 269, 14850, 187, 50274, 2309, 337, 187})},
      {"x" + std::string(30, ' ') + "y", ids({89, 50254, 50272, 90})},
      {" ", ids({209})},
      {"\n \n", ids({19668})},
      {"a\xc2\xa0\xc2\xa0"
       "b",
       ids({66, 575, 575, 67})},  // U+00A0 is white space: not merged
      {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88",
       ids({49868, 19119, 241, 3917, 28656, 33548, 38206})},
      {"na\xc3\xafve caf\xc3\xa9 \xf0\x9f\x98\x80 emoji", ids({2072, 30180, 36241, 49042, 211, 802, 80, 8020})},
      {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80",
       ids({21715, 1697, 16423, 7508, 8277, 20650})},
  };
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    CHECK(neox().encode(text) == expected);
  }
}

TEST_CASE("tokenizer: GPT-NeoX BPE merges words as the textbook algorithm does", "[tokenizer]") {
  // The reference: split a word into bytes, then repeatedly merge every occurrence of the adjacent
  // pair with the lowest rank in 20B_tokenizer.json's merges, until no pair has a rank.
  const json& j = neox_json();
  std::map<std::pair<std::string, std::string>, int> rank;
  const json& merges = j["model"]["merges"];
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const std::string m = merges[r].get<std::string>();
    rank.emplace(std::make_pair(m.substr(0, m.find(' ')), m.substr(m.find(' ') + 1)), int(r));
  }
  const auto reference = [&](const std::string& word) {
    std::vector<std::string> parts;
    for (const char c : word) parts.push_back(spell(std::string(1, c)));
    for (;;) {
      int best = -1;
      std::pair<std::string, std::string> best_pair;
      for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const auto it = rank.find({parts[i], parts[i + 1]});
        if (it != rank.end() && (best < 0 || it->second < best)) best = it->second, best_pair = it->first;
      }
      if (best < 0) break;
      std::vector<std::string> merged;
      for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i + 1 < parts.size() && parts[i] == best_pair.first && parts[i + 1] == best_pair.second) {
          merged.push_back(parts[i] + parts[i + 1]);
          ++i;
        } else {
          merged.push_back(parts[i]);
        }
      }
      parts = merged;
    }
    std::vector<Token> out;
    for (const std::string& p : parts) out.push_back(Token(j["model"]["vocab"][p].get<int>()));
    return out;
  };
  // Words that are one piece each for the GPT-2 pattern: a letter run with an optional leading
  // space; known words and seeded random ones, which split into several tokens.
  std::vector<std::string> words = {
      "Hello",   " world", "tokenization", " antidisestablishment", "supercalifragilistic",
      " RWKV",   "Kokkos", " lowercase",   "aaaaaaaaaaaaaaaa",      "ababababab",
      " zzzzqqq"};
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string w = rng() % 2 ? " " : "";
    const int n = 1 + int(rng() % 14);
    for (int k = 0; k < n; ++k) w += char((rng() % 3 ? 'a' : 'A') + rng() % 26);
    words.push_back(w);
  }
  int multi_token = 0;
  for (const std::string& w : words) {
    CAPTURE(w);
    const std::vector<Token> expected = reference(w);
    CHECK(neox().encode(w) == expected);
    multi_token += expected.size() > 1;
  }
  CHECK(multi_token > 100);  // the comparison saw real merging, not just whole-word tokens
}

TEST_CASE("tokenizer: BPE applies merges by rank, leftmost first", "[tokenizer]") {
  TempDir dir;
  const std::vector<std::string> extra = {"ab", "bc", "aa", "aaaa", "a1"};  // ids 256..260
  const Token ab = 256, bc = 257, aa = 258, aaaa = 259, a = 'a', b = 'b', c = 'c', one = '1';
  // "ab" ranks before "bc", or after it: the lower rank wins where they compete.
  const auto ab_first = load_bpe_tokenizer(dir.write("ab.json", bpe_json(extra, {{"a", "b"}, {"b", "c"}})));
  const auto bc_first = load_bpe_tokenizer(dir.write("bc.json", bpe_json(extra, {{"b", "c"}, {"a", "b"}})));
  CHECK(ab_first->encode("abc") == std::vector<Token>{ab, c});
  CHECK(bc_first->encode("abc") == std::vector<Token>{a, bc});
  CHECK(bc_first->encode("abcabc") == std::vector<Token>{a, bc, a, bc});
  // Equal pairs merge from the left; a merged pair can merge again.
  const auto aas = load_bpe_tokenizer(dir.write("aa.json", bpe_json(extra, {{"a", "a"}, {"aa", "aa"}})));
  CHECK(aas->encode("aaa") == std::vector<Token>{aa, a});
  CHECK(aas->encode("aaaa") == std::vector<Token>{aaaa});
  CHECK(aas->encode("aaaaa") == std::vector<Token>{aaaa, a});
  // Merges never cross the GPT-2 pattern's pieces: letters and digits are separate pieces.
  const auto a1 = load_bpe_tokenizer(dir.write("a1.json", bpe_json(extra, {{"a", "1"}})));
  CHECK(a1->encode("a1") == std::vector<Token>{a, one});
  CHECK(a1->vocab_size() == 261);
  // An invalid UTF-8 byte is a character outside letters, numbers and white space: it never joins
  // a letter's piece but does join punctuation's.
  const auto inv =
      load_bpe_tokenizer(dir.write("inv.json", bpe_json({"a\x80", "!\x80"}, {{"a", "\x80"}, {"!", "\x80"}})));
  CHECK(inv->encode("a\x80") == std::vector<Token>{a, 0x80});
  CHECK(inv->encode("!\x80") == std::vector<Token>{257});
  CHECK(inv->encode(" !\x80") == std::vector<Token>{' ', 257});
  // Added tokens are cut out before merging and decode to their text. Those with normalized =
  // false are found first: "a<" (normalized) loses to "<s>" in "a<s>" though it starts further left.
  const json added = json::array({{{"id", 261}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                                  {{"id", 262}, {"content", "a<"}, {"special", false}, {"normalized", true}}});
  const auto with_added = load_bpe_tokenizer(dir.write("added.json", bpe_json(extra, {{"a", "b"}}, added)));
  CHECK(with_added->encode("a<s>b ab") == std::vector<Token>{a, 261, b, ' ', ab});
  CHECK(with_added->encode("a<b") == std::vector<Token>{262, b});
  CHECK(with_added->token_bytes(261) == "<s>");
  CHECK(with_added->vocab_size() == 263);
}

TEST_CASE("tokenizer: BPE file errors name the file and the field", "[tokenizer]") {
  TempDir dir;
  const std::vector<std::string> extra = {"ab"};
  const auto message = [&](const std::string& name, const std::string& content) {
    try {
      load_bpe_tokenizer(dir.write(name, content));
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string good = bpe_json(extra, {{"a", "b"}});
  CHECK_THAT(message("bad.json", "{\"model\": "), Catch::Contains("bad.json: file: is not valid JSON"));
  CHECK_THAT(message("missing_merge.json", bpe_json(extra, {{"a", "b"}, {"x", "y"}})),
             Catch::Contains("missing_merge.json: model.merges[1]: \"x y\": 'xy' is not in the vocabulary"));
  json j = json::parse(good);
  j["model"]["type"] = "WordPiece";
  CHECK_THAT(message("wordpiece.json", j.dump()), Catch::Contains("wordpiece.json: model.type: \"WordPiece\""));
  j = json::parse(good);
  j["pre_tokenizer"]["add_prefix_space"] = true;
  CHECK_THAT(message("prefix.json", j.dump()), Catch::Contains("prefix.json: pre_tokenizer.add_prefix_space"));
  j = json::parse(good);
  j["normalizer"] = {{"type", "Lowercase"}};
  CHECK_THAT(message("lower.json", j.dump()), Catch::Contains("lower.json: normalizer:"));
  j = json::parse(good);
  j["model"]["vocab"].erase(spell("\x07"));
  CHECK_THAT(message("nobyte.json", j.dump()),
             Catch::Contains("nobyte.json: model.vocab: no token for byte 7, which UTF-8 text uses"));
  // A byte UTF-8 never holds may be missing (GPT-NeoX lacks 13): only inputs holding it fail.
  j = json::parse(good);
  j["model"]["vocab"].erase(spell("\xff"));
  const auto no_ff = load_bpe_tokenizer(dir.write("noff.json", j.dump()));
  CHECK(no_ff->encode("\xfe") == ids({0xfe}));
  CHECK_THROWS_WITH(no_ff->encode("ab\xff"), Catch::Contains("byte 0xff at offset 2 has no token"));
  j = json::parse(good);
  j["model"]["vocab"]["big"] = 70000;
  CHECK_THAT(message("big.json", j.dump()), Catch::Contains("is not in 0..65535"));
  j = json::parse(good);
  j["model"]["vocab"]["dup"] = 3;
  CHECK_THAT(message("dup.json", j.dump()), Catch::Contains("id 3 is used twice"));
  j = json::parse(good);
  j["added_tokens"] = json::array({{{"id", 300}, {"content", "<x>"}, {"lstrip", true}}});
  CHECK_THAT(message("lstrip.json", j.dump()), Catch::Contains("lstrip.json: added_tokens[0].lstrip"));
  CHECK_THROWS_WITH(load_bpe_tokenizer((dir.path / "absent.json").string()),
                    Catch::Contains("absent.json: file: does not exist"));
}

TEST_CASE("tokenizer: RWKV World takes the longest match", "[tokenizer]") {
  TempDir dir;
  const auto t = load_world_tokenizer(dir.write("vocab.txt", world_vocab()));
  CHECK(t->name() == "world:" + (dir.path / "vocab.txt").string());
  CHECK(t->vocab_size() == 301);
  CHECK(t->encode("abcab") == ids({258, 257}));
  CHECK(t->encode("abd") == ids({257, byte_id('d')}));
  CHECK(t->encode(" the cat's") == ids({259, byte_id(' '), byte_id('c'), byte_id('a'), byte_id('t'), 260}));
  // 你好世界: 界 has no token of its own, so its three bytes go one by one.
  CHECK(t->encode("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c") ==
        ids({262, 263, byte_id('\xe7'), byte_id('\x95'), byte_id('\x8c')}));
  CHECK(t->encode("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80") == ids({265, 264}));
  CHECK(t->encode("\xe4\xbd\xa0") == ids({266, byte_id('\xa0')}));  // 你 alone: the bytes token, then one byte
  CHECK(t->encode("\xc3\xa9t\xc3\xa9!") == ids({267, byte_id('!')}));
  CHECK(t->encode("\"'") == ids({268}));
  CHECK(t->encode("   ") == ids({269, byte_id(' ')}));
  CHECK(t->encode("\\n\n\n\n") == ids({270, 261, byte_id('\n')}));
  CHECK(t->encode("") == ids({}));
  CHECK(t->token_bytes(264) == "\xf0\x9f\x98\x80");
  CHECK(t->token_bytes(1) == std::string(1, '\0'));
  CHECK(t->token_bytes(256) == "\xff");
  CHECK_THROWS_WITH(t->token_bytes(280), Catch::Contains("token 280 is not in the vocabulary (size 301)"));
  CHECK_THROWS_AS(t->token_bytes(0), std::invalid_argument);  // the real file has no id 0 either
}

TEST_CASE("tokenizer: RWKV World vocab errors name the file, the line and the token", "[tokenizer]") {
  TempDir dir;
  const auto message = [&](const std::string& content) {
    const std::string file = dir.write("vocab.txt", content);
    try {
      load_world_tokenizer(file);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string file = (dir.path / "vocab.txt").string();
  // The extra lines come after 256 + 15 lines.
  CHECK(message(world_vocab("301 'hey' 4\n")) == file + ": line 272: token 301: literal is 3 bytes, the line says 4");
  CHECK(message(world_vocab("301 '\xc3\xa9' 1\n")) ==
        file + ": line 272: token 301: literal is 2 bytes, the line says 1");
  CHECK_THAT(message(world_vocab("257 'zz' 2\n")), Catch::Contains("line 272: token 257: id is used twice"));
  CHECK_THAT(message(world_vocab("301 'a' 1\n")), Catch::Contains("line 272: token 301: same bytes as token 98"));
  CHECK_THAT(message(world_vocab("301 'ab 3\n")),
             Catch::Contains("line 272: token 301: literal is not a quoted Python str or bytes literal"));
  CHECK_THAT(message(world_vocab("301 'a'b' 3\n")),
             Catch::Contains("line 272: token 301: literal has an unescaped quote"));
  CHECK_THAT(message(world_vocab("301 b'\xc3\xa9' 2\n")), Catch::Contains("bytes literal holds a non-ASCII character"));
  CHECK_THAT(message(world_vocab("301 '\\ud800' 3\n")),
             Catch::Contains("line 272: token 301: literal escape names a surrogate"));
  CHECK_THAT(message(world_vocab("301 '\\N{BULLET}' 3\n")), Catch::Contains("\\N{...} escapes are not supported"));
  CHECK_THAT(message(world_vocab("301 '\\x4g' 1\n")), Catch::Contains("bad hex digit"));
  CHECK_THAT(message(world_vocab("301 '\\x4' 1\n")), Catch::Contains("truncated \\x, \\u or \\U escape"));
  CHECK_THAT(message(world_vocab("65536 'zz' 2\n")),
             Catch::Contains("line 272: id '65536' is not an integer in 0..65535"));
  CHECK_THAT(message(world_vocab("x1 'zz' 2\n")), Catch::Contains("line 272: id 'x1' is not an integer"));
  CHECK_THAT(message(world_vocab("301 'zz' two\n")),
             Catch::Contains("line 272: token 301: length 'two' is not an integer"));
  CHECK_THAT(message(world_vocab("301\n")), Catch::Contains("line 272: is not '<id> <literal> <length>'"));
  std::string no_a = world_vocab();
  no_a.erase(no_a.find("66 'A' 1\n"), 9);
  CHECK(message(no_a) == file + ": file: no token for the single byte 65 (the vocabulary must hold all 256)");
  // Octal escapes and unknown escapes read as Python reads them; CRLF line ends are accepted.
  CHECK(message(world_vocab("301 '\\101\\q' 3\r\n")) == "no error");
  CHECK(load_world_tokenizer(dir.write("v2.txt", world_vocab("301 '\\101\\q' 3\n")))->token_bytes(301) == "A\\q");
}

TEST_CASE("tokenizer: decode(encode(s)) == s on all three tokenizers", "[tokenizer]") {
  TempDir dir;
  const auto bytes = load_tokenizer("bytes");
  const auto world = load_tokenizer(dir.write("vocab.txt", world_vocab()));
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += char(b);
  std::vector<std::string> cases = round_trip_cases();
  cases.push_back(all_bytes);
  const std::vector<std::string> random = random_cases(12345, 400);
  cases.insert(cases.end(), random.begin(), random.end());
  for (const Tokenizer* t : std::vector<const Tokenizer*>{bytes.get(), &neox(), world.get()}) {
    INFO(t->name());
    check_round_trips(*t, cases, t == &neox());
  }
  // The random byte strings again with the bytes GPT-NeoX lacks moved to continuation bytes, so
  // all of them reach its encoder: they hold invalid UTF-8 of every other kind.
  std::vector<std::string> encodable = random;
  int invalid = 0;
  for (std::string& s : encodable) {
    for (char& c : s)
      if (never_in_utf8(c)) c = char(0x80 | (c & 0x3f));
    invalid += !is_valid_utf8(s);
  }
  CHECK(invalid > 100);
  check_round_trips(neox(), encodable, true);
  // The added tokens' text comes back as the added token.
  CHECK(neox().encode("a<|endoftext|>b") == ids({66, 0, 67}));
}

TEST_CASE("tokenizer: load_tokenizer tells the kinds apart and rejects the rest", "[tokenizer]") {
  TempDir dir;
  CHECK(load_tokenizer("bytes")->name() == "bytes");
  CHECK(load_tokenizer(neox_path)->name() == "bpe:" + neox_path);
  const std::string vocab = dir.write("vocab.txt", world_vocab());
  CHECK(load_tokenizer(vocab)->name() == "world:" + vocab);
  const std::string missing = (dir.path / "missing.json").string();
  CHECK_THROWS_WITH(load_tokenizer(missing),
                    Catch::Contains(missing + ": file: does not exist") && Catch::Contains("'bytes'"));
  CHECK_THROWS_WITH(load_tokenizer(dir.path.string()), Catch::Contains(": file: is not a regular file"));
  const std::string text = dir.write("notes.txt", "just some text\n");
  CHECK_THROWS_WITH(load_tokenizer(text), Catch::Contains(text + ": file: neither a Hugging Face tokenizer.json") &&
                                              Catch::Contains("it starts with 'just some text\\x0a'"));
  const std::string broken = dir.write("broken.json", "{ \"model\": [");
  CHECK_THROWS_WITH(load_tokenizer(broken), Catch::Contains(broken + ": file: is not valid JSON"));
}
