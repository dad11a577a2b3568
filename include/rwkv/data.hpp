// Training data on the host: token files, the train/validation split, and the windows a step
// trains on.
//   Files: raw bytes (vocabulary 256), RWKV-LM's binidx (.bin + .idx) and NumPy .npy uint16.
//   Split: the last val_fraction of the tokens is held out for validation.
//   Training windows: ctx_len + 1 tokens (inputs, then the targets shifted by one), in RWKV-LM's
//   "magic prime" order: with p prime and p % 3 == 2, i -> i^3 mod p permutes 0..p-1, so sample i
//   starts at slot (floor(p * golden) * i^3) mod p, times ctx_len; every p samples visit each of
//   the p slots once.
// Errors in files throw std::runtime_error("<file>: <field>: <what is wrong>"); wrong arguments
// throw std::invalid_argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rwkv {

// uint16 holds every id of a vocabulary up to 65536 (RWKV World's size) at half int32's memory.
using Token = std::uint16_t;
inline constexpr int max_vocab_size = 65536;
inline constexpr double default_val_fraction = 0.01;

struct TokenData {
  std::vector<Token> tokens;
  int vocab_size = 0;
  std::string source;  // the file the tokens were read from (the .bin for binidx)
};

// vocab_size = 0 infers it: 256 for raw bytes, max token + 1 otherwise. A given vocab_size
// (1..max_vocab_size) must exceed every token.
TokenData read_raw_bytes(const std::string& path, int vocab_size = 0);
TokenData read_npy(const std::string& path, int vocab_size = 0);
// path is "name", "name.bin" or "name.idx"; the tokens are the documents of name.bin in order.
TokenData read_binidx(const std::string& path, int vocab_size = 0);
// By extension: .npy, .bin or .idx; a path that is no file while path.bin or path.idx is one
// names binidx; anything else is raw bytes.
TokenData load_tokens(const std::string& path, int vocab_size = 0);

// Views into TokenData::tokens (valid while it lives): train is the head, val the tail.
struct DataSplit {
  std::span<const Token> train;
  std::span<const Token> val;
};

// val holds ceil(n * val_fraction) tokens, at least ctx_len + 1 (one window) while train keeps
// ctx_len + 1; if the data cannot hold a window on each side, val is empty. val_fraction = 0:
// no validation. Throws std::runtime_error naming data.source when n < ctx_len + 1.
DataSplit split_train_val(const TokenData& data, int ctx_len, double val_fraction = default_val_fraction);

// The largest prime p <= n_windows - 1 with p % 3 == 2; n_windows itself (1 or 2, where cubing
// is a bijection too) when there is none.
std::uint64_t magic_prime(std::uint64_t n_windows);

// Start of the window of each training sample over n_tokens tokens, n_windows = (n_tokens - 1) /
// ctx_len slots. Sample k (0-based) is RWKV-LM's sample i = k + 1 + offset, offset drawn from the
// seed in [0, p): different seeds give different orders. A pure function of k, so a resumed run
// continues from the sample index alone; any p consecutive samples cover p distinct slots.
class WindowSampler {
 public:
  WindowSampler(std::size_t n_tokens, int ctx_len, std::uint64_t seed);
  std::size_t start(std::uint64_t sample_index) const;
  std::uint64_t prime() const { return prime_; }
  std::uint64_t offset() const { return offset_; }
  int ctx_len() const { return ctx_len_; }

 private:
  int ctx_len_;
  std::uint64_t prime_, multiplier_, offset_;
};

// Fills inputs and targets [batch_size, T] (row-major, element b * T + t) for micro-batch
// `step`: row b is sample step * batch_size + b, inputs = window[0, T), targets = window[1, T].
// tokens must be the ones the sampler was built for.
void fill_train_batch(std::span<const Token> tokens, const WindowSampler& sampler, std::uint64_t step,
                      int batch_size, std::span<std::int32_t> inputs, std::span<std::int32_t> targets);

// Validation windows: window k starts at token k * ctx_len, so inputs (and targets) of successive
// windows do not overlap and each token after the first is predicted exactly once.
std::size_t sequential_window_count(std::size_t n_tokens, int ctx_len);

// Fills rows of [batch_size, ctx_len] with windows first_window, first_window + 1, ... while they
// exist; returns the number of rows filled (rows after them are left as they were).
int fill_sequential_batch(std::span<const Token> tokens, int ctx_len, std::size_t first_window, int batch_size,
                          std::span<std::int32_t> inputs, std::span<std::int32_t> targets);

}  // namespace rwkv
