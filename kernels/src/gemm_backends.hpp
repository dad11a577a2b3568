// The vendor backends of gemm_vendor.cpp, one file each (gemm_openblas.cpp, gemm_onednn.cpp,
// gemm_cublas.cpp); private to the library.
#pragma once

#include <rwkv/kernels/gemm_vendor.hpp>

namespace rwkv::gemm_backends {

void openblas_gemm(const GemmShape& shape, const float* A, const float* B, float beta, float* C);
void openblas_gemm(const GemmShape& shape, const double* A, const double* B, double beta, double* C);

void onednn_gemm(const GemmShape& shape, const float* A, const float* B, float beta, float* C);
// Whether the CPU runs oneDNN's bfloat16 kernels (AVX-512 BF16), and the product on them.
bool onednn_bf16_supported();
void onednn_gemm_bf16(const GemmShape& shape, const std::uint16_t* A, const std::uint16_t* B, float beta, float* C);

}  // namespace rwkv::gemm_backends
