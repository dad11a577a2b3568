#include <rwkv/evaluate.hpp>

#include <cmath>
#include <vector>

namespace rwkv {

double unigram_bits(std::span<const Token> train, std::span<const Token> val, int vocab_size) {
  std::vector<double> counts(vocab_size, 1.0);
  for (Token t : train) counts[t] += 1;
  const double total = double(train.size()) + vocab_size;
  double bits = 0;
  for (Token t : val) bits -= std::log2(counts[t] / total);
  return bits / double(val.size());
}

}  // namespace rwkv
