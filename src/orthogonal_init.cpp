#include "orthogonal_init.hpp"

#include <cmath>
#include <vector>

namespace rwkv::init {

double Normal::next() {
  const double u1 = (double(rng() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double u2 = double(rng() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

namespace {

// `count` orthonormal vectors of length `length` (count <= length), row-major, by modified
// Gram-Schmidt.
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

}  // namespace

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

template void orthogonal<float>(float*, int, int, double, Normal&);
template void orthogonal<double>(double*, int, int, double, Normal&);

}  // namespace rwkv::init
