// The RWKV World tokenizer: greedy longest match over a vocabulary of byte strings.
// Vocab file (rwkv_vocab_v20230424.txt): one token a line, `<id> <literal> <length>`, where the
// literal is everything between the first and the last space: a Python str ('...' or "...",
// encoded as UTF-8) or bytes (b'...'), as Python's repr writes them, and length is its size in
// bytes. The real file has ids 1..65529 and holds every single byte, so any input encodes.
// Encoding walks a byte trie from each position and takes the longest token that matches.
#include <rwkv/tokenizer.hpp>
#include <rwkv/core/unicode.hpp>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unordered_map>

namespace rwkv {
namespace {

[[noreturn]] void fail(const std::string& file, const std::string& where, const std::string& what) {
  throw std::runtime_error(file + ": " + where + ": " + what);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The bytes of a Python str or bytes literal; throws std::runtime_error(reason) when it is not one
// this format uses (no prefixes other than b, no triple quotes, no \N{...}).
std::string parse_python_literal(std::string_view lit) {
  const bool is_bytes = !lit.empty() && (lit[0] == 'b' || lit[0] == 'B');
  if (is_bytes) lit.remove_prefix(1);
  if (lit.size() < 2 || (lit[0] != '\'' && lit[0] != '"') || lit.back() != lit[0])
    throw std::runtime_error("is not a quoted Python str or bytes literal");
  const char quote = lit[0];
  const std::string_view body = lit.substr(1, lit.size() - 2);
  std::string out;
  // A str's escapes name code points (encoded as UTF-8); a bytes literal's name bytes.
  const auto put_code = [&](char32_t c) {
    if (is_bytes) {
      out += char(c);
    } else {
      if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        throw std::runtime_error("escape names a surrogate or a value past U+10FFFF, which UTF-8 cannot encode");
      append_utf8(out, c);
    }
  };
  const auto read_hex = [&](std::size_t& i, int digits) {
    if (i + std::size_t(digits) > body.size()) throw std::runtime_error("truncated \\x, \\u or \\U escape");
    char32_t v = 0;
    for (int d = 0; d < digits; ++d) {
      const int h = hex_value(body[i + std::size_t(d)]);
      if (h < 0) throw std::runtime_error("bad hex digit in an escape");
      v = v * 16 + char32_t(h);
    }
    i += std::size_t(digits);
    return v;
  };
  for (std::size_t i = 0; i < body.size();) {
    const char c = body[i++];
    if (c == quote) throw std::runtime_error("has an unescaped quote inside");
    if (c != '\\') {
      if (is_bytes && static_cast<unsigned char>(c) >= 0x80)
        throw std::runtime_error("bytes literal holds a non-ASCII character");
      out += c;
      continue;
    }
    if (i == body.size()) throw std::runtime_error("ends in a lone backslash");
    const char e = body[i++];
    switch (e) {
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': put_code(read_hex(i, 2)); break;
      case 'u':
      case 'U':
        if (is_bytes) {  // not escapes in bytes: kept as written, as Python does
          out += '\\';
          out += e;
        } else {
          put_code(read_hex(i, e == 'u' ? 4 : 8));
        }
        break;
      case 'N':
        if (!is_bytes) throw std::runtime_error("\\N{...} escapes are not supported");
        out += "\\N";
        break;
      default:
        if (e >= '0' && e <= '7') {  // up to three octal digits
          char32_t v = char32_t(e - '0');
          for (int d = 0; d < 2 && i < body.size() && body[i] >= '0' && body[i] <= '7'; ++d)
            v = v * 8 + char32_t(body[i++] - '0');
          if (is_bytes && v > 0xff) throw std::runtime_error("octal escape past \\377 in a bytes literal");
          put_code(v);
        } else {  // an unknown escape stays as written, as in Python
          out += '\\';
          out += e;
        }
    }
  }
  if (!is_bytes && !is_valid_utf8(out)) throw std::runtime_error("str literal is not valid UTF-8");
  return out;
}

class WorldTokenizer final : public Tokenizer {
 public:
  explicit WorldTokenizer(const std::string& path);

  std::vector<Token> encode(std::string_view text) const override {
    std::vector<Token> out;
    for (std::size_t pos = 0; pos < text.size();) {
      // Every single byte is a token (checked on load), so the walk always finds one.
      std::uint32_t node = 0;
      std::size_t best_length = 0;
      Token best = 0;
      for (std::size_t i = pos; i < text.size(); ++i) {
        const auto it = edges_.find(edge_key(node, static_cast<unsigned char>(text[i])));
        if (it == edges_.end()) break;
        node = it->second;
        if (node_token_[node] >= 0) {
          best = Token(node_token_[node]);
          best_length = i + 1 - pos;
        }
      }
      out.push_back(best);
      pos += best_length;
    }
    return out;
  }
  int vocab_size() const override { return int(pieces_.size()); }
  std::string name() const override { return "world:" + path_; }

 protected:
  std::optional<std::string_view> piece(Token token) const override {
    if (token >= pieces_.size() || !has_piece_[token]) return std::nullopt;
    return std::string_view(pieces_[token]);
  }

 private:
  static std::uint64_t edge_key(std::uint32_t node, unsigned char byte) { return (std::uint64_t(node) << 8) | byte; }

  std::string path_;
  std::vector<std::string> pieces_;
  std::vector<char> has_piece_;
  // The trie: node 0 is the root; edges by (node, byte); the token ending at a node, or -1.
  std::unordered_map<std::uint64_t, std::uint32_t> edges_;
  std::vector<std::int32_t> node_token_{-1};
};

WorldTokenizer::WorldTokenizer(const std::string& path) : path_(path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    fail(path, "file", fs::exists(path, ec) ? "is not a regular file" : "does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "file", "cannot be opened for reading");
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    const std::string where = "line " + std::to_string(line_number);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::size_t first = line.find(' '), last = line.rfind(' ');
    if (first == std::string::npos || first == last) fail(path, where, "is not '<id> <literal> <length>'");
    int id = -1, length = -1;
    const auto parse_int = [&](std::string_view s, int& v) {
      const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      return r.ec == std::errc() && r.ptr == s.data() + s.size();
    };
    const std::string_view view(line);
    if (!parse_int(view.substr(0, first), id) || id < 0 || id >= max_vocab_size)
      fail(path, where,
           "id '" + line.substr(0, first) + "' is not an integer in 0.." + std::to_string(max_vocab_size - 1));
    const std::string id_text = "token " + std::to_string(id);
    if (!parse_int(view.substr(last + 1), length))
      fail(path, where, id_text + ": length '" + line.substr(last + 1) + "' is not an integer");
    std::string bytes;
    try {
      bytes = parse_python_literal(view.substr(first + 1, last - first - 1));
    } catch (const std::runtime_error& e) {
      fail(path, where, id_text + ": literal " + e.what());
    }
    if (int(bytes.size()) != length) {
      const std::string sizes = std::to_string(bytes.size()) + " bytes, the line says " + std::to_string(length);
      fail(path, where, id_text + ": literal is " + sizes);
    }
    if (bytes.empty()) fail(path, where, id_text + ": is empty");
    if (std::size_t(id) < has_piece_.size() && has_piece_[id]) fail(path, where, id_text + ": id is used twice");
    if (std::size_t(id) >= pieces_.size()) {
      pieces_.resize(std::size_t(id) + 1);
      has_piece_.resize(std::size_t(id) + 1, 0);
    }
    std::uint32_t node = 0;
    for (const char c : bytes) {
      const auto [it, added] =
          edges_.try_emplace(edge_key(node, static_cast<unsigned char>(c)), std::uint32_t(node_token_.size()));
      if (added) node_token_.push_back(-1);
      node = it->second;
    }
    if (node_token_[node] >= 0)
      fail(path, where, id_text + ": same bytes as token " + std::to_string(node_token_[node]));
    node_token_[node] = id;
    pieces_[id] = std::move(bytes);
    has_piece_[id] = 1;
  }
  if (in.bad()) fail(path, "file", "read error");
  for (int b = 0; b < 256; ++b) {
    const auto it = edges_.find(edge_key(0, static_cast<unsigned char>(b)));
    if (it == edges_.end() || node_token_[it->second] < 0)
      fail(path, "file", "no token for the single byte " + std::to_string(b) + " (the vocabulary must hold all 256)");
  }
}

}  // namespace

std::unique_ptr<Tokenizer> load_world_tokenizer(const std::string& vocab_path) {
  return std::make_unique<WorldTokenizer>(vocab_path);
}

}  // namespace rwkv
