// Text <-> token ids on the host, behind one interface.
//   bytes: vocabulary 256, token = byte.
//   GPT-NeoX BPE (the RWKV-4 Pile models' 20B_tokenizer.json): a Hugging Face tokenizer.json with a
//     byte-level BPE model. Added tokens (<|endoftext|>, the runs of spaces) are matched first,
//     leftmost longest; the rest is split by the GPT-2 pattern and each piece merged by rank.
//   RWKV World (rwkv_vocab_v20230424.txt): lines `<id> <Python str or bytes literal> <byte length>`;
//     encoding takes the longest vocabulary entry matching the bytes at each position.
// All three work on bytes, so decode(encode(s)) == s for every byte string s they can encode,
// valid UTF-8 or not. bytes and World encode any bytes. GPT-NeoX's vocabulary has no token for the
// 13 bytes that never occur in UTF-8 (0xc0, 0xc1, 0xf5..0xff): encode throws std::invalid_argument
// on them, as no id the model knows could stand for them.
// One difference from the Hugging Face library: its NFC normalizer is not applied (it would break
// that round trip), so text not in NFC (e.g. "e" + U+0301) tokenizes differently; NFC text gets the
// same ids.
// Errors in files throw std::runtime_error("<file>: <where>: <what is wrong>"); a token outside the
// vocabulary given to decode or token_bytes throws std::invalid_argument.
#pragma once

#include <rwkv/data.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rwkv {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // UTF-8 text or any bytes (but see the GPT-NeoX exception above).
  virtual std::vector<Token> encode(std::string_view text) const = 0;
  std::string decode(std::span<const Token> tokens) const;
  // The bytes of one token, for printing tokens as they are generated: a UTF-8 character may be
  // split over several tokens, so a caller that needs whole characters buffers.
  std::string token_bytes(Token token) const;
  // One more than the largest id; ids below it may still be unused (RWKV World has no id 0).
  virtual int vocab_size() const = 0;
  // "bytes", "bpe:<path>" or "world:<path>".
  virtual std::string name() const = 0;

 protected:
  // The bytes of a token; nullopt when the vocabulary has no such id.
  virtual std::optional<std::string_view> piece(Token token) const = 0;

 private:
  std::string_view known_piece(Token token) const;  // piece, or std::invalid_argument
};

std::unique_ptr<Tokenizer> make_byte_tokenizer();
std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::string& tokenizer_json_path);
std::unique_ptr<Tokenizer> load_world_tokenizer(const std::string& vocab_path);

// spec: "bytes", a tokenizer.json, or an RWKV World vocab; files are told apart by their content.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& spec);

}  // namespace rwkv
