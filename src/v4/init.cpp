#include <rwkv/v4/init.hpp>

#include "../orthogonal_init.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace rwkv {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool zero_initialized(const std::string& name) {
  return ends_with(name, ".att.key.weight") || ends_with(name, ".att.receptance.weight") ||
         ends_with(name, ".att.output.weight") || ends_with(name, ".ffn.receptance.weight") ||
         ends_with(name, ".ffn.value.weight");
}

}  // namespace

template <class Scalar>
void initialize_weights(v4, const ModelConfig& config, const std::vector<TensorSpec>& specs, std::uint64_t seed,
                        Scalar* host_flat) {
  init::Normal normal{std::mt19937_64(seed)};
  std::mt19937_64 uniform_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  const int L = config.n_layer;
  for (const TensorSpec& s : specs) {
    Scalar* p = host_flat + s.offset;
    const std::string& n = s.name;
    if (n == "emb.weight") {
      std::uniform_real_distribution<double> u(-1e-4, 1e-4);
      for (std::size_t i = 0; i < s.size(); ++i) p[i] = Scalar(u(uniform_rng));
      continue;
    }
    if (s.is_matrix()) {
      if (zero_initialized(n)) {
        std::fill(p, p + s.size(), Scalar(0));
        continue;
      }
      double gain = s.rows > s.cols ? std::sqrt(double(s.rows) / s.cols) : 1.0;
      if (n == "head.weight") gain *= 0.5;
      init::orthogonal(p, s.rows, s.cols, gain, normal);
      continue;
    }
    if (ends_with(n, ".weight")) {  // layer norms
      std::fill(p, p + s.size(), Scalar(1));
      continue;
    }
    if (ends_with(n, ".bias")) {
      std::fill(p, p + s.size(), Scalar(0));
      continue;
    }
    // Per-layer curves: "blocks.<i>.(att|ffn).time_*".
    const int layer = std::stoi(n.substr(7, n.find('.', 7) - 7));
    const double r01 = L > 1 ? double(layer) / (L - 1) : 0.0;
    const double r10 = 1.0 - double(layer) / L;
    const int C = s.rows;
    for (int c = 0; c < C; ++c) {
      const double d = double(c) / C;
      double value;
      if (ends_with(n, "att.time_decay"))
        value = -5 + 8 * std::pow(C > 1 ? double(c) / (C - 1) : 0.0, 0.7 + 1.3 * r01);
      else if (ends_with(n, "att.time_first"))
        value = std::log(0.3) + 0.5 * ((c + 1) % 3 - 1);
      else if (ends_with(n, "att.time_mix_v"))
        value = std::pow(d, r10) + 0.3 * r01;
      else if (ends_with(n, "att.time_mix_r"))
        value = std::pow(d, 0.5 * r10);
      else  // att.time_mix_k, ffn.time_mix_k, ffn.time_mix_r
        value = std::pow(d, r10);
      p[c] = Scalar(value);
    }
  }
}

template void initialize_weights<float>(v4, const ModelConfig&, const std::vector<TensorSpec>&, std::uint64_t, float*);
template void initialize_weights<double>(v4, const ModelConfig&, const std::vector<TensorSpec>&, std::uint64_t, double*);

}  // namespace rwkv
