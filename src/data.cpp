#include <rwkv/data.hpp>
#include <rwkv/core/hash.hpp>
#include <rwkv/core/quote.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace rwkv {
namespace {

// Both formats store little-endian numbers, read here with memcpy.
static_assert(std::endian::native == std::endian::little, "the token file readers assume a little-endian host");

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& file, const std::string& field, const std::string& what) {
  throw std::runtime_error(file + ": " + field + ": " + what);
}

struct InFile {
  std::string path;
  std::ifstream in;
  std::uint64_t size = 0;

  explicit InFile(const std::string& p) : path(p) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (!fs::exists(st)) fail(p, "file", "does not exist");
    if (!fs::is_regular_file(st)) fail(p, "file", "is not a regular file");
    size = fs::file_size(p, ec);
    if (ec) fail(p, "file", "cannot read its size (" + ec.message() + ")");
    in.open(p, std::ios::binary);
    if (!in) fail(p, "file", "cannot be opened for reading");
  }

  // The caller has checked that [offset, offset + n) lies within size.
  void read(std::uint64_t offset, void* dst, std::size_t n, const std::string& field) {
    in.seekg(std::streamoff(offset));
    in.read(static_cast<char*>(dst), std::streamsize(n));
    if (!in || std::size_t(in.gcount()) != n) fail(path, field, "read failed at byte " + std::to_string(offset));
  }
};

template <class T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void check_vocab_argument(int vocab_size) {
  if (vocab_size < 0 || vocab_size > max_vocab_size)
    throw std::invalid_argument("rwkv::data: vocab_size " + std::to_string(vocab_size) + " is outside 0.." +
                                std::to_string(max_vocab_size) + " (0 infers it)");
}

// Reads `count` elements of Src at `offset` into tokens, rejecting values no Token can hold.
template <class Src>
std::vector<Token> read_tokens(InFile& f, std::uint64_t offset, std::size_t count) {
  std::vector<Token> tokens(count);
  if constexpr (std::is_same_v<Src, Token>) {
    f.read(offset, tokens.data(), count * sizeof(Token), "tokens");
  } else {
    std::vector<Src> chunk(std::min<std::size_t>(count, std::size_t(1) << 16));
    for (std::size_t done = 0; done < count;) {
      const std::size_t n = std::min(chunk.size(), count - done);
      f.read(offset + done * sizeof(Src), chunk.data(), n * sizeof(Src), "tokens");
      for (std::size_t i = 0; i < n; ++i) {
        const auto v = std::int64_t(chunk[i]);
        if (v < 0 || v >= max_vocab_size)
          fail(f.path, "tokens", "token " + std::to_string(v) + " at index " + std::to_string(done + i) +
                                     " is outside 0.." + std::to_string(max_vocab_size - 1));
        tokens[done + i] = Token(v);
      }
      done += n;
    }
  }
  return tokens;
}

// Sets vocab_size: the given one, which every token must be below, else `inferred`.
TokenData finish(std::vector<Token> tokens, const std::string& path, int vocab_size, int inferred) {
  if (tokens.empty()) fail(path, "tokens", "the file holds no tokens");
  if (vocab_size > 0) {
    const auto bad = std::find_if(tokens.begin(), tokens.end(), [&](Token t) { return int(t) >= vocab_size; });
    if (bad != tokens.end())
      fail(path, "vocab_size", "token " + std::to_string(*bad) + " at index " + std::to_string(bad - tokens.begin()) +
                                   " is not below the given vocab_size " + std::to_string(vocab_size));
  }
  return TokenData{std::move(tokens), vocab_size > 0 ? vocab_size : inferred, path};
}

int max_plus_one(const std::vector<Token>& tokens) {
  return tokens.empty() ? 0 : int(*std::max_element(tokens.begin(), tokens.end())) + 1;
}

// ---- .npy: magic "\x93NUMPY", version (major, minor), header length (uint16 in 1.0, uint32 in
// 2.0), then a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}.

struct NpyHeader {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<std::uint64_t>> shape;
};

std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// A parser for exactly the literals a .npy header uses: strings, True/False, tuples of integers.
class DictParser {
 public:
  DictParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    expect('{');
    while (!peek('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr" && !h.descr) {
        h.descr = string_literal();
      } else if (key == "fortran_order" && !h.fortran_order) {
        h.fortran_order = boolean();
      } else if (key == "shape" && !h.shape) {
        h.shape = tuple();
      } else {
        fail(path_, "header", "unexpected or repeated key " + quoted_text(key));
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (i_ != s_.size()) error("the end of the header");
    return h;
  }

 private:
  [[noreturn]] void error(const std::string& wanted) {
    fail(path_, "header", "expected " + wanted + " at offset " + std::to_string(i_) + ", found " + quoted_text(s_.substr(i_)));
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool peek(char c) {
    skip_space();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c) {
    if (!peek(c)) error(std::string("'") + c + "'");
    ++i_;
  }
  std::string string_literal() {
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) error("a quoted string");
    const char quote = s_[i_];
    const std::size_t end = s_.find(quote, i_ + 1);
    if (end == std::string_view::npos) error("a closing quote");
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (const bool value : {true, false}) {
      const std::string_view word = value ? "True" : "False";
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return value;
      }
    }
    error("True or False");
  }
  std::vector<std::uint64_t> tuple() {
    std::vector<std::uint64_t> dims;
    expect('(');
    while (!peek(')')) {
      std::uint64_t d = 0;
      const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), d);
      if (ec != std::errc()) error("a dimension (a non-negative integer below 2^64)");
      i_ = std::size_t(end - s_.data());
      dims.push_back(d);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return dims;
  }

  std::string_view s_;
  const std::string& path_;
  std::size_t i_ = 0;
};

// ---- binidx: the .idx holds magic "MMIDIDX\0\0", version uint64 = 1, dtype code uint8, the
// number of sequences and of documents (uint64 each), then int32 sizes[count] (tokens per
// sequence), int64 pointers[count] (byte offsets into the .bin) and int64 doc_idx[doc_count].

constexpr std::string_view idx_magic("MMIDIDX\0\0", 9);
constexpr std::uint64_t idx_header_bytes = 9 + 8 + 1 + 8 + 8;

struct DtypeInfo {
  const char* name;
  std::size_t bytes;
};

// Megatron's integer codes; 6 and 7 are floating point there.
std::optional<DtypeInfo> idx_dtype(unsigned code) {
  switch (code) {
    case 1: return DtypeInfo{"uint8", 1};
    case 2: return DtypeInfo{"int8", 1};
    case 3: return DtypeInfo{"int16", 2};
    case 4: return DtypeInfo{"int32", 4};
    case 5: return DtypeInfo{"int64", 8};
    case 8: return DtypeInfo{"uint16", 2};
    default: return std::nullopt;
  }
}

std::vector<Token> read_idx_tokens(InFile& bin, unsigned code, std::size_t count) {
  switch (code) {
    case 1: return read_tokens<std::uint8_t>(bin, 0, count);
    case 2: return read_tokens<std::int8_t>(bin, 0, count);
    case 3: return read_tokens<std::int16_t>(bin, 0, count);
    case 4: return read_tokens<std::int32_t>(bin, 0, count);
    case 5: return read_tokens<std::int64_t>(bin, 0, count);
    default: return read_tokens<std::uint16_t>(bin, 0, count);
  }
}

bool has_extension(const std::string& path, std::string_view ext) {
  return fs::path(path).extension() == ext;
}

// ---- magic prime: 64-bit modular arithmetic through a 128-bit product.
__extension__ typedef unsigned __int128 uint128;

std::uint64_t mulmod(std::uint64_t a, std::uint64_t b, std::uint64_t m) {
  return std::uint64_t(uint128(a) * b % m);
}

std::uint64_t powmod(std::uint64_t a, std::uint64_t e, std::uint64_t m) {
  std::uint64_t r = 1 % m;
  for (a %= m; e; e >>= 1, a = mulmod(a, a, m))
    if (e & 1) r = mulmod(r, a, m);
  return r;
}

// Miller-Rabin with the first 12 prime bases: exact for every 64-bit n.
bool is_prime(std::uint64_t n) {
  const std::uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  if (n < 2) return false;
  for (const std::uint64_t p : bases)
    if (n % p == 0) return n == p;
  std::uint64_t d = n - 1;
  int s = 0;
  for (; d % 2 == 0; d /= 2) ++s;
  for (const std::uint64_t a : bases) {
    std::uint64_t x = powmod(a, d, n);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int r = 1; r < s && composite; ++r) {
      x = mulmod(x, x, n);
      composite = x != n - 1;
    }
    if (composite) return false;
  }
  return true;
}

void check_ctx_len(int ctx_len) {
  if (ctx_len < 1) throw std::invalid_argument("rwkv::data: ctx_len " + std::to_string(ctx_len) + " must be >= 1");
}

void check_batch_spans(int batch_size, int ctx_len, std::span<std::int32_t> inputs, std::span<std::int32_t> targets) {
  if (batch_size < 1) throw std::invalid_argument("rwkv::data: batch_size " + std::to_string(batch_size) + " must be >= 1");
  const std::size_t n = std::size_t(batch_size) * std::size_t(ctx_len);
  if (inputs.size() != n || targets.size() != n)
    throw std::invalid_argument("rwkv::data: a batch of " + std::to_string(batch_size) + " x " + std::to_string(ctx_len) +
                                " needs inputs and targets of " + std::to_string(n) + " elements, got " +
                                std::to_string(inputs.size()) + " and " + std::to_string(targets.size()));
}

void copy_window(std::span<const Token> tokens, std::size_t start, int T, std::int32_t* in, std::int32_t* tgt) {
  for (int t = 0; t < T; ++t) {
    in[t] = tokens[start + std::size_t(t)];
    tgt[t] = tokens[start + std::size_t(t) + 1];
  }
}

}  // namespace

TokenData read_raw_bytes(const std::string& path, int vocab_size) {
  check_vocab_argument(vocab_size);
  InFile f(path);
  if (f.size == 0) fail(path, "tokens", "the file is empty");
  return finish(read_tokens<std::uint8_t>(f, 0, std::size_t(f.size)), path, vocab_size, 256);
}

TokenData read_npy(const std::string& path, int vocab_size) {
  check_vocab_argument(vocab_size);
  InFile f(path);
  unsigned char pre[12] = {};
  f.read(0, pre, std::size_t(std::min<std::uint64_t>(f.size, sizeof pre)), "magic");
  const std::string_view magic(reinterpret_cast<const char*>(pre), std::size_t(std::min<std::uint64_t>(f.size, 6)));
  if (magic != "\x93NUMPY") fail(path, "magic", quoted_text(magic) + " is not the .npy magic '\\x93NUMPY'");
  if (f.size < 8) fail(path, "version", "the file ends after " + std::to_string(f.size) + " bytes");
  const unsigned major = pre[6], minor = pre[7];
  const std::string version = std::to_string(major) + "." + std::to_string(minor);
  if ((major != 1 && major != 2) || minor != 0) fail(path, "version", version + " is not supported (1.0 and 2.0 are)");
  const std::uint64_t prefix = major == 1 ? 10 : 12;
  if (f.size < prefix) fail(path, "header_len", "the file ends after " + std::to_string(f.size) + " bytes");
  const std::uint64_t header_len = major == 1 ? load_le<std::uint16_t>(pre + 8) : load_le<std::uint32_t>(pre + 8);
  if (prefix + header_len > f.size)
    fail(path, "header_len", std::to_string(header_len) + " runs past the end of the file (" + std::to_string(f.size) +
                                 " bytes)");
  std::string text(std::size_t(header_len), '\0');
  f.read(prefix, text.data(), text.size(), "header");
  const NpyHeader h = DictParser(text, path).parse();

  if (!h.descr) fail(path, "descr", "missing from the header");
  if (!h.fortran_order) fail(path, "fortran_order", "missing from the header");
  if (!h.shape) fail(path, "shape", "missing from the header");
  if (*h.descr != "<u2") fail(path, "descr", quoted_text(*h.descr) + " is not supported (only '<u2', uint16)");
  if (*h.fortran_order) fail(path, "fortran_order", "True is not supported (save a C-order array)");
  const auto& shape = *h.shape;
  if (shape.size() != 1 && shape.size() != 2)
    fail(path, "shape", shape_string(shape) + " has " + std::to_string(shape.size()) + " dimensions (1 or 2 are supported)");
  std::uint64_t count = 1;
  for (const std::uint64_t d : shape) {
    if (d != 0 && count > f.size / d) fail(path, "shape", shape_string(shape) + " holds more tokens than the file has bytes");
    count *= d;
  }
  if (count == 0) fail(path, "shape", shape_string(shape) + " holds no tokens");
  const std::uint64_t data_bytes = f.size - prefix - header_len;
  if (count * sizeof(Token) != data_bytes)
    fail(path, "shape", shape_string(shape) + " needs " + std::to_string(count * sizeof(Token)) +
                            " data bytes after the header, the file has " + std::to_string(data_bytes));
  auto tokens = read_tokens<Token>(f, prefix + header_len, std::size_t(count));
  const int inferred = max_plus_one(tokens);
  return finish(std::move(tokens), path, vocab_size, inferred);
}

TokenData read_binidx(const std::string& path, int vocab_size) {
  check_vocab_argument(vocab_size);
  const bool has_ext = has_extension(path, ".bin") || has_extension(path, ".idx");
  const std::string base = has_ext ? fs::path(path).replace_extension().string() : path;
  InFile idx(base + ".idx");
  const std::string& ip = idx.path;
  unsigned char hdr[idx_header_bytes] = {};
  idx.read(0, hdr, std::size_t(std::min(idx.size, idx_header_bytes)), "header");
  const std::string_view magic(reinterpret_cast<const char*>(hdr), std::size_t(std::min<std::uint64_t>(idx.size, 9)));
  if (magic != idx_magic) fail(ip, "magic", quoted_text(magic) + " is not the binidx magic 'MMIDIDX\\x00\\x00'");
  if (idx.size < idx_header_bytes)
    fail(ip, "header", "the file ends after " + std::to_string(idx.size) + " bytes, inside the " +
                           std::to_string(idx_header_bytes) + "-byte header");
  const auto version = load_le<std::uint64_t>(hdr + 9);
  if (version != 1) fail(ip, "version", std::to_string(version) + " is not supported (only 1)");
  const unsigned code = hdr[17];
  const auto dtype = idx_dtype(code);
  if (!dtype) fail(ip, "dtype", "code " + std::to_string(code) + " is not an integer dtype (1-5 or 8)");
  const auto count = load_le<std::uint64_t>(hdr + 18);
  const auto doc_count = load_le<std::uint64_t>(hdr + 26);
  const std::uint64_t body = idx.size - idx_header_bytes;
  if (count > body / 12) fail(ip, "count", std::to_string(count) + " sequences do not fit in the file");
  if (doc_count > body / 8) fail(ip, "doc_count", std::to_string(doc_count) + " documents do not fit in the file");
  if (12 * count + 8 * doc_count != body)
    fail(ip, "count", std::to_string(count) + " sequences and " + std::to_string(doc_count) + " documents need " +
                          std::to_string(idx_header_bytes + 12 * count + 8 * doc_count) + " bytes, the file has " +
                          std::to_string(idx.size));

  std::vector<std::int32_t> sizes(count);
  std::vector<std::int64_t> pointers(count);
  idx.read(idx_header_bytes, sizes.data(), sizes.size() * 4, "sizes");
  idx.read(idx_header_bytes + 4 * count, pointers.data(), pointers.size() * 8, "pointers");
  InFile bin(base + ".bin");
  // RWKV-LM reads the .bin as one token stream: the sequences must tile it in order.
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string at = "[" + std::to_string(i) + "]";
    if (sizes[i] < 0) fail(ip, "sizes" + at, std::to_string(sizes[i]) + " is negative");
    if (pointers[i] < 0 || std::uint64_t(pointers[i]) != bytes)
      fail(ip, "pointers" + at, std::to_string(pointers[i]) + " is not " + std::to_string(bytes) +
                                    ", the end of the sequences before it");
    bytes += std::uint64_t(sizes[i]) * dtype->bytes;
    if (bytes > bin.size)
      fail(ip, "sizes" + at, "sequences 0.." + std::to_string(i) + " hold " + std::to_string(bytes) + " bytes, " +
                                 bin.path + " has only " + std::to_string(bin.size));
  }
  if (bytes != bin.size)
    fail(bin.path, "sizes", "the sequences in " + ip + " hold " + std::to_string(bytes) + " bytes of " + dtype->name +
                                " tokens, the file has " + std::to_string(bin.size));
  auto tokens = read_idx_tokens(bin, code, std::size_t(bytes / dtype->bytes));
  const int inferred = max_plus_one(tokens);
  return finish(std::move(tokens), bin.path, vocab_size, inferred);
}

TokenData load_tokens(const std::string& path, int vocab_size) {
  if (has_extension(path, ".npy")) return read_npy(path, vocab_size);
  if (has_extension(path, ".bin") || has_extension(path, ".idx")) return read_binidx(path, vocab_size);
  std::error_code ec;
  if (!fs::exists(path, ec) && (fs::exists(path + ".bin", ec) || fs::exists(path + ".idx", ec)))
    return read_binidx(path, vocab_size);
  return read_raw_bytes(path, vocab_size);
}

DataSplit split_train_val(const TokenData& data, int ctx_len, double val_fraction) {
  check_ctx_len(ctx_len);
  if (!(val_fraction >= 0 && val_fraction < 1))
    throw std::invalid_argument("rwkv::data: val_fraction " + std::to_string(val_fraction) + " is outside [0, 1)");
  const std::size_t n = data.tokens.size();
  const std::size_t window = std::size_t(ctx_len) + 1;
  if (n < window)
    fail(data.source, "tokens", std::to_string(n) + " tokens are fewer than ctx_len + 1 = " + std::to_string(window));
  std::size_t val = 0;
  if (val_fraction > 0) {
    val = std::max(std::size_t(std::ceil(double(n) * val_fraction)), window);
    const std::size_t cap = n - window;  // train keeps one window
    if (val > cap) val = cap >= window ? cap : 0;
  }
  const std::span<const Token> all(data.tokens);
  return DataSplit{all.first(n - val), all.last(val)};
}

std::uint64_t magic_prime(std::uint64_t n_windows) {
  if (n_windows < 3) return n_windows;
  std::uint64_t p = n_windows - 1;
  p -= (p + 1) % 3;  // now p % 3 == 2; p reaches 2, a prime, at worst
  while (!is_prime(p)) p -= 3;
  return p;
}

WindowSampler::WindowSampler(std::size_t n_tokens, int ctx_len, std::uint64_t seed) : ctx_len_(ctx_len) {
  check_ctx_len(ctx_len);
  if (n_tokens < std::size_t(ctx_len) + 1)
    throw std::invalid_argument("rwkv::WindowSampler: " + std::to_string(n_tokens) + " tokens hold no window of ctx_len + 1 = " +
                                std::to_string(ctx_len + 1));
  prime_ = magic_prime((n_tokens - 1) / std::size_t(ctx_len));
  // As RWKV-LM computes it, int(p * (sqrt(5) - 1) / 2) in doubles: the same slots for p < 2^53.
  multiplier_ = std::uint64_t(double(prime_) * ((std::sqrt(5.0) - 1) / 2));
  offset_ = mix64(seed) % prime_;  // nearby seeds give unrelated offsets
}

std::size_t WindowSampler::start(std::uint64_t sample_index) const {
  // (i mod p)^3 = i^3 mod p, so reducing first keeps every product below p^2 < 2^128.
  const std::uint64_t i = (sample_index % prime_ + 1 + offset_) % prime_;
  const std::uint64_t slot = mulmod(multiplier_, mulmod(mulmod(i, i, prime_), i, prime_), prime_);
  return std::size_t(slot) * std::size_t(ctx_len_);
}

void fill_train_batch(std::span<const Token> tokens, const WindowSampler& sampler, std::uint64_t step, int batch_size,
                      std::span<std::int32_t> inputs, std::span<std::int32_t> targets) {
  const int T = sampler.ctx_len();
  check_batch_spans(batch_size, T, inputs, targets);
  for (int b = 0; b < batch_size; ++b) {
    const std::size_t start = sampler.start(step * std::uint64_t(batch_size) + std::uint64_t(b));
    if (start + std::size_t(T) >= tokens.size())
      throw std::invalid_argument("rwkv::fill_train_batch: window at " + std::to_string(start) + " runs past the " +
                                  std::to_string(tokens.size()) + " tokens: not the tokens the sampler was built for");
    const std::size_t row = std::size_t(b) * std::size_t(T);
    copy_window(tokens, start, T, inputs.data() + row, targets.data() + row);
  }
}

std::size_t sequential_window_count(std::size_t n_tokens, int ctx_len) {
  check_ctx_len(ctx_len);
  return n_tokens < std::size_t(ctx_len) + 1 ? 0 : (n_tokens - 1) / std::size_t(ctx_len);
}

int fill_sequential_batch(std::span<const Token> tokens, int ctx_len, std::size_t first_window, int batch_size,
                          std::span<std::int32_t> inputs, std::span<std::int32_t> targets) {
  const std::size_t count = sequential_window_count(tokens.size(), ctx_len);
  check_batch_spans(batch_size, ctx_len, inputs, targets);
  const int rows = first_window >= count ? 0 : int(std::min<std::size_t>(std::size_t(batch_size), count - first_window));
  for (int b = 0; b < rows; ++b) {
    const std::size_t row = std::size_t(b) * std::size_t(ctx_len);
    copy_window(tokens, (first_window + std::size_t(b)) * std::size_t(ctx_len), ctx_len, inputs.data() + row,
                targets.data() + row);
  }
  return rows;
}

}  // namespace rwkv
