#include <rwkv/v7/init.hpp>

#include "../orthogonal_init.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>

namespace rwkv {
namespace {

// A tensor's name split as "blocks.<layer>.<part>"; layer -1 and part = name for the others.
struct NamePart {
  int layer = -1;
  std::string part;
};

NamePart split_name(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return {-1, name};
  const std::size_t dot = name.find('.', 7);
  return {std::stoi(name.substr(7, dot - 7)), name.substr(dot + 1)};
}

}  // namespace

template <class Scalar>
void initialize_weights(v7, const ModelConfig& config, const std::vector<TensorSpec>& specs, std::uint64_t seed,
                        Scalar* host_flat) {
  init::Normal normal{std::mt19937_64(seed)};
  std::mt19937_64 uniform_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  const int L = config.n_layer, C = config.n_embd, N = config.head_size;
  const double lerp_powers[] = {0.2, 0.9, 0.7, 0.7, 0.9, 0.2};
  const std::map<std::string, int> lerps = {{"att.x_r", 0}, {"att.x_w", 1}, {"att.x_k", 2},
                                            {"att.x_v", 3}, {"att.x_a", 4}, {"att.x_g", 5}};
  const std::map<std::string, double> matrix_gains = {
      {"att.w2", 0.1}, {"att.a2", 0.1},  {"att.v2", 0.1},         {"att.g2", 0.1},   {"att.receptance.weight", 1.0},
      {"att.key.weight", 0.1}, {"att.value.weight", 1.0}, {"ffn.key.weight", 1.0}, {"head.weight", 0.5}};
  for (const TensorSpec& s : specs) {
    Scalar* p = host_flat + s.offset;
    const auto [layer, part] = split_name(s.name);
    const auto fill = [&](double value) { std::fill(p, p + s.size(), Scalar(value)); };
    if (part == "emb.weight") {
      std::uniform_real_distribution<double> u(-1e-4, 1e-4);
      for (std::size_t i = 0; i < s.size(); ++i) p[i] = Scalar(u(uniform_rng));
    } else if (part == "att.r_k") {
      fill(-0.04);
    } else if (s.is_matrix()) {
      const auto gain = matrix_gains.find(part);
      if (gain == matrix_gains.end()) {  // the LoRAs' first matrices, att.output, ffn.value
        fill(0);
      } else {
        const double shape_gain = s.rows > s.cols ? std::sqrt(double(s.rows) / s.cols) : 1.0;
        init::orthogonal(p, s.rows, s.cols, shape_gain * gain->second, normal);
      }
    } else if (part == "att.ln_x.weight") {
      fill(std::pow(double(1 + layer) / L, 0.7));
    } else if (part.size() > 7 && part.compare(part.size() - 7, 7, ".weight") == 0) {  // layer norms
      fill(1);
    } else if (part.size() > 5 && part.compare(part.size() - 5, 5, ".bias") == 0) {
      fill(0);
    } else if (part == "att.k_a") {
      fill(1.02);
    } else {  // per-channel curves
      const double r0 = L > 1 ? double(layer) / (L - 1) : 0.0;
      const double r1 = 1.0 - double(layer) / L;
      const auto lerp = lerps.find(part);
      for (int n = 0; n < C; ++n) {
        const double ddd = double(n) / C;
        const double linear = C > 1 ? double(n) / (C - 1) - 0.5 : -0.5;
        const double z = N > 1 ? ((n % N) - (N - 1) / 2.0) / ((N - 1) / 2.0) : 0.0;
        const double zigzag = z * std::abs(z);
        double value;
        if (lerp != lerps.end())
          value = 1 - std::pow(ddd, lerp_powers[lerp->second] * r1);
        else if (part == "att.w0")
          value = -6 + 6 * std::pow(C > 1 ? double(n) / (C - 1) : 0.0, 1 + std::pow(r0, 0.3)) + 0.5 + 2.5 * zigzag;
        else if (part == "att.a0")
          value = -0.19 + 0.3 * zigzag + 0.4 * linear;
        else if (part == "att.v0")
          value = 0.73 - 0.4 * linear;
        else if (part == "att.k_k")
          value = 0.71 - 0.1 * linear;
        else  // ffn.x_k
          value = 1 - std::pow(ddd, std::pow(r1, 4));
        p[n] = Scalar(value);
      }
    }
  }
}

template void initialize_weights<float>(v7, const ModelConfig&, const std::vector<TensorSpec>&, std::uint64_t, float*);
template void initialize_weights<double>(v7, const ModelConfig&, const std::vector<TensorSpec>&, std::uint64_t, double*);

}  // namespace rwkv
