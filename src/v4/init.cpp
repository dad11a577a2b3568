#include <rwkv/v4/init.hpp>

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

// Standard normal numbers by Box-Muller: the same sequence on every platform for a seed.
struct Normal {
  std::mt19937_64 rng;
  double next() {
    const double u1 = (double(rng() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(rng() >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

// `count` orthonormal vectors of length `length` (count <= length), row-major, by modified
// Gram-Schmidt on Gaussian vectors: the same distribution as QR of a Gaussian matrix.
std::vector<double> orthonormal_rows(int count, int length, Normal& normal) {
  std::vector<double> q(std::size_t(count) * length);
  for (auto& x : q) x = normal.next();
  for (int i = 0; i < count; ++i) {
    double* qi = &q[std::size_t(i) * length];
    for (int j = 0; j < i; ++j) {
      const double* qj = &q[std::size_t(j) * length];
      double dot = 0;
      for (int t = 0; t < length; ++t) dot += qi[t] * qj[t];
      for (int t = 0; t < length; ++t) qi[t] -= dot * qj[t];
    }
    double norm = 0;
    for (int t = 0; t < length; ++t) norm += qi[t] * qi[t];
    norm = std::sqrt(norm);
    for (int t = 0; t < length; ++t) qi[t] /= norm;
  }
  return q;
}

template <class Scalar>
void orthogonal(Scalar* out, int rows, int cols, double gain, Normal& normal) {
  if (rows <= cols) {
    const auto q = orthonormal_rows(rows, cols, normal);
    for (std::size_t i = 0; i < q.size(); ++i) out[i] = Scalar(gain * q[i]);
  } else {  // orthonormal columns: build rows of the transpose
    const auto q = orthonormal_rows(cols, rows, normal);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) out[std::size_t(r) * cols + c] = Scalar(gain * q[std::size_t(c) * rows + r]);
  }
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
  Normal normal{std::mt19937_64(seed)};
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
      orthogonal(p, s.rows, s.cols, gain, normal);
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
