// Seeded random initialization on the host, private to the library (src/v4/init.cpp,
// src/v7/init.cpp): the same numbers on every platform for a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

namespace rwkv::init {

// Standard normal numbers by Box-Muller.
struct Normal {
  std::mt19937_64 rng;
  double next();
};

// out [rows, cols] row-major = gain * a random matrix with orthonormal rows (rows <= cols) or
// columns (rows > cols), as PyTorch's nn.init.orthogonal_: Gram-Schmidt on Gaussian vectors, the
// same distribution as QR of a Gaussian matrix.
template <class Scalar>
void orthogonal(Scalar* out, int rows, int cols, double gain, Normal& normal);

}  // namespace rwkv::init
