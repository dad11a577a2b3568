// The Tokenizer interface's shared parts, the byte tokenizer, and load_tokenizer's detection.
// The BPE and World tokenizers live in tokenizer_bpe.cpp and tokenizer_world.cpp.
#include <rwkv/tokenizer.hpp>
#include <rwkv/core/quote.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace rwkv {

std::string_view Tokenizer::known_piece(Token token) const {
  const std::optional<std::string_view> p = piece(token);
  if (!p)
    throw std::invalid_argument(name() + ": token " + std::to_string(token) + " is not in the vocabulary (size " +
                                std::to_string(vocab_size()) + ")");
  return *p;
}

std::string Tokenizer::token_bytes(Token token) const { return std::string(known_piece(token)); }

std::string Tokenizer::decode(std::span<const Token> tokens) const {
  std::string out;
  for (const Token t : tokens) out += known_piece(t);
  return out;
}

namespace {

class ByteTokenizer final : public Tokenizer {
 public:
  ByteTokenizer() {
    for (int b = 0; b < 256; ++b) bytes_[b] = char(b);
  }
  std::vector<Token> encode(std::string_view text) const override {
    std::vector<Token> out(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) out[i] = Token(static_cast<unsigned char>(text[i]));
    return out;
  }
  int vocab_size() const override { return 256; }
  std::string name() const override { return "bytes"; }

 protected:
  std::optional<std::string_view> piece(Token token) const override {
    if (token >= 256) return std::nullopt;
    return std::string_view(&bytes_[token], 1);
  }

 private:
  char bytes_[256];
};

// An RWKV World vocab line starts with digits, one space and a str or bytes literal.
bool looks_like_world_vocab(const std::string& head) {
  std::size_t i = 0;
  while (i < head.size() && std::isdigit(static_cast<unsigned char>(head[i]))) ++i;
  if (i == 0 || i + 2 >= head.size() || head[i] != ' ') return false;
  const char q = head[i + 1] == 'b' ? head[i + 2] : head[i + 1];
  return q == '\'' || q == '"';
}

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& spec) {
  if (spec == "bytes") return make_byte_tokenizer();
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(spec, ec);
  const std::string kinds = " (a tokenizer is 'bytes', a Hugging Face tokenizer.json or an RWKV World vocab .txt)";
  if (!fs::exists(st)) throw std::runtime_error(spec + ": file: does not exist" + kinds);
  if (!fs::is_regular_file(st)) throw std::runtime_error(spec + ": file: is not a regular file" + kinds);
  std::ifstream in(spec, std::ios::binary);
  if (!in) throw std::runtime_error(spec + ": file: cannot be opened for reading");
  std::string head(256, '\0');
  in.read(head.data(), std::streamsize(head.size()));
  head.resize(std::size_t(in.gcount()));
  const std::size_t first = head.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && head[first] == '{') return load_bpe_tokenizer(spec);
  if (looks_like_world_vocab(head)) return load_world_tokenizer(spec);
  throw std::runtime_error(spec + ": file: neither a Hugging Face tokenizer.json (a JSON object) nor an RWKV World " +
                           "vocab (lines '<id> <literal> <length>'); it starts with " + quoted_text(head, 40));
}

}  // namespace rwkv
