#include <rwkv/kernels/sampling.hpp>

#include <rwkv/core/hash.hpp>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace rwkv {

namespace {

template <class T>
void check_field(bool ok, const char* field, T value, const char* requirement) {
  if (ok) return;
  std::ostringstream message;
  message << "SamplerConfig: " << field << " = " << value << " " << requirement;
  throw std::invalid_argument(message.str());
}

}  // namespace

void validate(const SamplerConfig& c) {
  check_field(std::isfinite(c.temperature) && c.temperature >= 0, "temperature", c.temperature,
              "must be finite and >= 0 (0: greedy)");
  check_field(c.top_k >= 0, "top_k", c.top_k, "must be >= 0 (0: off)");
  check_field(c.top_p > 0 && c.top_p <= 1, "top_p", c.top_p, "must lie in (0, 1] (1: off)");
  check_field(std::isfinite(c.top_a) && c.top_a >= 0, "top_a", c.top_a, "must be finite and >= 0 (0: off)");
  check_field(std::isfinite(c.top_a_power) && c.top_a_power > 0, "top_a_power", c.top_a_power,
              "must be finite and > 0");
  check_field(c.top_p_x >= 0 && c.top_p_x < 1, "top_p_x", c.top_p_x, "must lie in [0, 1) (0: off)");
  check_field(std::isfinite(c.presence_penalty), "presence_penalty", c.presence_penalty, "must be finite");
  check_field(std::isfinite(c.frequency_penalty), "frequency_penalty", c.frequency_penalty, "must be finite");
}

double UniformStream::next() { return double(splitmix64(seed_, ++position_) >> 11) * 0x1.0p-53; }

namespace detail {

void require(bool ok, const char* message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace detail

#define RWKV_SAMPLING_DEFINE(SPACE, SCALAR) RWKV_SAMPLING_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_SAMPLING_DEFINE)
#define RWKV_TOKEN_COUNTS_DEFINE(SPACE, SCALAR) RWKV_TOKEN_COUNTS_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE(RWKV_TOKEN_COUNTS_DEFINE, int)

}  // namespace rwkv
