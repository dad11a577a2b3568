// Byte-level BPE from a Hugging Face tokenizer.json (GPT-NeoX's 20B_tokenizer.json, GPT-2's).
//   1. Added tokens are cut out first, leftmost longest: those with normalized = false, then, in
//      the text between them, those with normalized = true (the library's two passes).
//   2. The rest is split by the GPT-2 pattern, matched by hand:
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      An invalid UTF-8 byte is a character of its own, outside L, N and \s.
//   3. Each piece starts as the tokens of its bytes; the adjacent pair of lowest merge rank
//      (leftmost among equals) is merged until no adjacent pair has a rank.
// Vocabulary strings spell bytes through GPT-2's byte -> character map (printable Latin-1 bytes
// stand for themselves, the other 68 shift to U+0100 onward in byte order); decoding inverts it.
#include <rwkv/tokenizer.hpp>
#include <rwkv/core/unicode.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace rwkv {
namespace {

using json = nlohmann::json;

std::array<char32_t, 256> gpt2_byte_to_char() {
  std::array<char32_t, 256> map{};
  char32_t shifted = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map[b] = printable ? char32_t(b) : shifted++;
  }
  return map;
}

// The bytes a vocabulary string spells; the string itself when a character is outside the map
// (as the library's byte-level decoder does).
std::string spelled_bytes(const std::string& s, const std::unordered_map<char32_t, char>& char_to_byte) {
  std::string out;
  for (std::size_t pos = 0; pos < s.size();) {
    const Utf8Char ch = decode_utf8(s, pos);
    const auto it = char_to_byte.find(ch.code_point);
    if (!ch.valid || it == char_to_byte.end()) return s;
    out += it->second;
    pos += std::size_t(ch.length);
  }
  return out;
}

// One pass of added-token matching: candidates by first byte, longest first, so the first that
// matches at a position is the longest there.
class AddedTokenMatcher {
 public:
  void add(const std::string& content, Token id) {
    auto& list = by_first_byte_[static_cast<unsigned char>(content[0])];
    list.emplace_back(content, id);
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }
  // The length and id of the longest token at text[pos...]; length 0 when none.
  std::pair<std::size_t, Token> match(std::string_view text, std::size_t pos) const {
    for (const auto& [content, id] : by_first_byte_[static_cast<unsigned char>(text[pos])])
      if (text.substr(pos, content.size()) == content) return {content.size(), id};
    return {0, 0};
  }

 private:
  std::array<std::vector<std::pair<std::string, Token>>, 256> by_first_byte_;
};

// Calls on_text(piece) for the text between matches and on_token(id) for each match, in order.
template <class OnText, class OnToken>
void split_added(std::string_view text, const AddedTokenMatcher& matcher, OnText on_text, OnToken on_token) {
  std::size_t start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto [length, id] = matcher.match(text, pos);
    if (length == 0) {
      ++pos;
      continue;
    }
    if (pos > start) on_text(text.substr(start, pos - start));
    on_token(id);
    pos += length;
    start = pos;
  }
  if (start < text.size()) on_text(text.substr(start));
}

enum class CharClass : std::uint8_t { letter, number, space, other };

struct Char {
  std::size_t begin;
  std::size_t end;
  CharClass cls;
  char32_t ascii;  // the character when it is valid ASCII, else 0
};

// The GPT-2 pattern's matches, in order; together they cover the text.
template <class OnPiece>
void pre_tokenize(std::string_view text, std::vector<Char>& cs, OnPiece on_piece) {
  cs.clear();
  for (std::size_t pos = 0; pos < text.size();) {
    const Utf8Char ch = decode_utf8(text, pos);
    CharClass cls = CharClass::other;
    if (ch.valid) {
      if (is_unicode_letter(ch.code_point))
        cls = CharClass::letter;
      else if (is_unicode_number(ch.code_point))
        cls = CharClass::number;
      else if (is_unicode_whitespace(ch.code_point))
        cls = CharClass::space;
    }
    const std::size_t end = pos + std::size_t(ch.length);
    cs.push_back({pos, end, cls, ch.valid && ch.code_point < 0x80 ? ch.code_point : 0});
    pos = end;
  }
  const std::size_t n = cs.size();
  const auto ascii = [&](std::size_t k) { return k < n ? cs[k].ascii : char32_t(0); };
  for (std::size_t i = 0; i < n;) {
    std::size_t j;  // the match is characters [i, j)
    const char32_t c1 = ascii(i + 1), c2 = ascii(i + 2);
    if (ascii(i) == '\'' && (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')) {
      j = i + 2;
    } else if (ascii(i) == '\'' && (((c1 == 'r' || c1 == 'v') && c2 == 'e') || (c1 == 'l' && c2 == 'l'))) {
      j = i + 3;
    } else {
      // " ?X+" for the class X of the first character after an optional space.
      const std::size_t k = ascii(i) == ' ' && i + 1 < n && cs[i + 1].cls != CharClass::space ? i + 1 : i;
      if (cs[k].cls != CharClass::space) {
        j = k + 1;
        while (j < n && cs[j].cls == cs[k].cls) ++j;
      } else {
        // \s+(?!\S): a run followed by a non-space gives its last character to the next match,
        // unless the run is that one character (then \s+ takes it).
        j = i;
        while (j < n && cs[j].cls == CharClass::space) ++j;
        if (j < n && j - i >= 2) --j;
      }
    }
    on_piece(text.substr(cs[i].begin, cs[j - 1].end - cs[i].begin));
    i = j;
  }
}

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(const std::string& path);

  std::vector<Token> encode(std::string_view text) const override {
    for (std::size_t i = 0; i < text.size(); ++i)
      if (byte_token_[static_cast<unsigned char>(text[i])] < 0) unencodable(text, i);
    std::vector<Token> out;
    std::vector<Char> chars;
    const auto push = [&](Token id) { out.push_back(id); };
    const auto words = [&](std::string_view piece) {
      pre_tokenize(piece, chars, [&](std::string_view word) { bpe(word, out); });
    };
    split_added(
        text, added_raw_, [&](std::string_view piece) { split_added(piece, added_normalized_, words, push); }, push);
    return out;
  }
  int vocab_size() const override { return int(pieces_.size()); }
  std::string name() const override { return "bpe:" + path_; }

 protected:
  std::optional<std::string_view> piece(Token token) const override {
    if (token >= pieces_.size() || !has_piece_[token]) return std::nullopt;
    return std::string_view(pieces_[token]);
  }

 private:
  struct Merge {
    int rank;
    Token merged;
  };
  static std::uint32_t pair_key(Token a, Token b) { return (std::uint32_t(a) << 16) | b; }

  void bpe(std::string_view word, std::vector<Token>& out) const;
  [[noreturn]] void unencodable(std::string_view text, std::size_t i) const {
    static const char hex[] = "0123456789abcdef";
    const auto b = static_cast<unsigned char>(text[i]);
    throw std::invalid_argument(name() + ": byte 0x" + hex[b >> 4] + hex[b & 15] + " at offset " + std::to_string(i) +
                                " has no token: the vocabulary lacks some of the bytes that never occur in UTF-8 " +
                                "(0xc0, 0xc1, 0xf5..0xff), so this input cannot be encoded");
  }
  void load(const json& j);
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw std::runtime_error(path_ + ": " + where + ": " + what);
  }
  const json& field(const json& object, const std::string& where, const char* key) const {
    if (!object.is_object() || !object.contains(key)) fail(where, std::string("no field '") + key + "'");
    return object[key];
  }
  // A field that is absent, null or equal to the value the tokenizer supports.
  void expect(const json& object, const std::string& where, const char* key, const json& supported) const {
    if (object.contains(key) && !object[key].is_null() && object[key] != supported)
      fail(where + "." + key, object[key].dump() + " is not supported (only " + supported.dump() + ")");
  }

  std::string path_;
  std::vector<std::string> pieces_;  // the bytes of each id
  std::vector<char> has_piece_;
  // The token of each byte; -1 for a byte valid UTF-8 never holds that the vocabulary lacks
  // (GPT-NeoX's has no 0xc0, 0xc1, 0xf5..0xff).
  std::array<std::int32_t, 256> byte_token_{};
  std::unordered_map<std::uint32_t, Merge> merges_;
  AddedTokenMatcher added_raw_, added_normalized_;
  bool ignore_merges_ = false;  // newer files: a word in the vocabulary is one token, merges or not
  std::unordered_map<std::string, Token> word_token_;  // filled only for ignore_merges_

  // Words repeat, so their tokens are kept; the cache is emptied when it grows past a bound.
  static constexpr std::size_t cache_limit = 1 << 16;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<Token>> cache_;
};

BpeTokenizer::BpeTokenizer(const std::string& path) : path_(path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("file", fs::exists(path, ec) ? "is not a regular file" : "does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("file", "cannot be opened for reading");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail("file", std::string("is not valid JSON (") + e.what() + ")");
  }
  try {
    load(j);
  } catch (const json::exception& e) {
    fail("file", std::string("unexpected JSON type (") + e.what() + ")");
  }
}

void BpeTokenizer::load(const json& j) {
  if (!j.is_object()) fail("file", "is not a JSON object");
  // Only the GPT-2 style pipeline is implemented; anything else would silently give other ids.
  const json& normalizer = field(j, "tokenizer", "normalizer");
  if (!normalizer.is_null() && field(normalizer, "normalizer", "type") != "NFC")
    fail("normalizer", normalizer.dump() + " is not supported (only none, or NFC, which is not applied)");
  for (const char* stage : {"pre_tokenizer", "decoder"}) {
    const json& s = field(j, "tokenizer", stage);
    if (field(s, stage, "type") != "ByteLevel") fail(stage, s.dump() + " is not supported (only ByteLevel)");
    expect(s, stage, "use_regex", true);
  }
  const json& pre = j["pre_tokenizer"];
  if (field(pre, "pre_tokenizer", "add_prefix_space") != false)
    fail("pre_tokenizer.add_prefix_space", "true is not supported");
  const json& post = field(j, "tokenizer", "post_processor");
  if (!post.is_null() && field(post, "post_processor", "type") != "ByteLevel")
    fail("post_processor", post.dump() + " is not supported (only none or ByteLevel)");

  const json& model = field(j, "tokenizer", "model");
  expect(model, "model", "type", "BPE");
  expect(model, "model", "dropout", 0.0);
  expect(model, "model", "continuing_subword_prefix", "");
  expect(model, "model", "end_of_word_suffix", "");
  ignore_merges_ = model.value("ignore_merges", false);

  // Ids of the vocabulary strings, kept while the merges are read.
  const json& vocab = field(model, "model", "vocab");
  if (!vocab.is_object() || vocab.empty()) fail("model.vocab", "is not a non-empty object");
  std::unordered_map<std::string, Token> id_of;
  const auto check_id = [&](const json& v, const std::string& where) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() >= max_vocab_size)
      fail(where, "id " + v.dump() + " is not in 0.." + std::to_string(max_vocab_size - 1));
    return Token(v.get<int>());
  };
  const auto set_piece = [&](Token id, std::string bytes) {
    if (id >= pieces_.size()) {
      pieces_.resize(std::size_t(id) + 1);
      has_piece_.resize(std::size_t(id) + 1, 0);
    }
    pieces_[id] = std::move(bytes);
    has_piece_[id] = 1;
  };
  const std::array<char32_t, 256> to_char = gpt2_byte_to_char();
  std::unordered_map<char32_t, char> to_byte;
  for (int b = 0; b < 256; ++b) to_byte[to_char[b]] = char(b);
  for (const auto& [text, v] : vocab.items()) {
    const Token id = check_id(v, "model.vocab[\"" + text + "\"]");
    if (id < has_piece_.size() && has_piece_[id])
      fail("model.vocab[\"" + text + "\"]", "id " + v.dump() + " is used twice");
    id_of[text] = id;
    set_piece(id, spelled_bytes(text, to_byte));
    if (ignore_merges_) word_token_[pieces_[id]] = id;
  }
  for (int b = 0; b < 256; ++b) {
    std::string spelled;
    append_utf8(spelled, to_char[b]);
    const auto it = id_of.find(spelled);
    const bool in_utf8 = b < 0xc0 || (b >= 0xc2 && b <= 0xf4);
    if (it == id_of.end() && in_utf8)
      fail("model.vocab", "no token for byte " + std::to_string(b) + ", which UTF-8 text uses");
    byte_token_[b] = it == id_of.end() ? -1 : it->second;
  }

  const json& merges = field(model, "model", "merges");
  if (!merges.is_array()) fail("model.merges", "is not an array");
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string where = "model.merges[" + std::to_string(rank) + "]";
    const json& m = merges[rank];
    // "left right" (older files) or ["left", "right"].
    std::string left, right;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const std::size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        fail(where, m.dump() + " is not two tokens separated by one space");
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      fail(where, m.dump() + " is not a pair of tokens");
    }
    const auto a = id_of.find(left), b = id_of.find(right), ab = id_of.find(left + right);
    if (a == id_of.end() || b == id_of.end() || ab == id_of.end())
      fail(where, m.dump() + ": '" +
                      (a == id_of.end()   ? left
                       : b == id_of.end() ? right
                                          : left + right) +
                      "' is not in the vocabulary");
    // A pair listed twice keeps its first (lowest) rank.
    merges_.try_emplace(pair_key(a->second, b->second), Merge{int(rank), ab->second});
  }

  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const json& added = j["added_tokens"];
    if (!added.is_array()) fail("added_tokens", "is not an array");
    for (std::size_t i = 0; i < added.size(); ++i) {
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      const json& t = added[i];
      const Token id = check_id(field(t, where, "id"), where + ".id");
      const std::string content = field(t, where, "content").get<std::string>();
      if (content.empty()) fail(where + ".content", "is empty");
      for (const char* flag : {"single_word", "lstrip", "rstrip"}) expect(t, where, flag, false);
      // Matched and decoded as written: the round trip then holds whatever the content is.
      set_piece(id, content);
      (t.value("normalized", !t.value("special", false)) ? added_normalized_ : added_raw_).add(content, id);
    }
  }
}

void BpeTokenizer::bpe(std::string_view word, std::vector<Token>& out) const {
  {
    const std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<Token> tokens;
  const auto whole = ignore_merges_ ? word_token_.find(std::string(word)) : word_token_.end();
  if (whole != word_token_.end()) {
    tokens.push_back(whole->second);
  } else {
    // Symbols form a linked list; candidate merges wait in a heap ordered by (rank, position) and
    // are dropped when popped if either side has changed since they were pushed.
    struct Symbol {
      Token id;
      int prev, next;
      bool alive;
    };
    struct Candidate {
      int rank, left;
      Token a, b, merged;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    const int n = int(word.size());
    std::vector<Symbol> sym(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      sym[i] = {Token(byte_token_[static_cast<unsigned char>(word[i])]), i - 1, i + 1 < n ? i + 1 : -1, true};
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    const auto offer = [&](int left) {
      if (left < 0 || sym[left].next < 0) return;
      const Token a = sym[left].id, b = sym[sym[left].next].id;
      const auto it = merges_.find(pair_key(a, b));
      if (it != merges_.end()) heap.push({it->second.rank, left, a, b, it->second.merged});
    };
    for (int i = 0; i + 1 < n; ++i) offer(i);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      Symbol& left = sym[c.left];
      if (!left.alive || left.id != c.a || left.next < 0 || sym[left.next].id != c.b) continue;
      Symbol& right = sym[left.next];
      left.id = c.merged;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) sym[left.next].prev = c.left;
      offer(left.prev);
      offer(c.left);
    }
    for (int i = n > 0 ? 0 : -1; i >= 0; i = sym[i].next) tokens.push_back(sym[i].id);
  }
  out.insert(out.end(), tokens.begin(), tokens.end());
  const std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= cache_limit) cache_.clear();
  cache_.emplace(std::string(word), std::move(tokens));
}

}  // namespace

std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::string& tokenizer_json_path) {
  return std::make_unique<BpeTokenizer>(tokenizer_json_path);
}

}  // namespace rwkv
