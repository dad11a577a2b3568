// The vendor backends of gemm_vendor.cpp, one file each (gemm_openblas.cpp, gemm_onednn.cpp,
// gemm_cublas.cpp); private to the library.
#pragma once

#include <rwkv/kernels/gemm_vendor.hpp>

namespace rwkv::gemm_backends {

void openblas_gemm(const GemmShape& shape, const float* A, const float* B, float beta, float* C);
void openblas_gemm(const GemmShape& shape, const double* A, const double* B, double beta, double* C);

void onednn_gemm(const GemmShape& shape, const float* A, const float* B, float beta, float* C);

}  // namespace rwkv::gemm_backends
