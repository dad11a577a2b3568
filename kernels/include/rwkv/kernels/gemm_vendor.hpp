// The vendor GEMM libraries behind gemm.hpp, called directly on raw row-major arrays (the part of
// Kokkos Kernels' TPL layer this library used, without Kokkos Kernels):
//   C [M, N] = op(A) op(B) + beta C,   op(X) = X^T where trans, leading dimensions in elements.
// Host: OpenBLAS (float and double) and oneDNN (float; its double calls go to OpenBLAS). The build
// compiles in every one it finds; RWKV_HOST_GEMM picks the one matmul_forward / matmul_backward use
// (host_gemm_default), and benchmarks and tests may call any available one. Both run on the OpenMP
// runtime Kokkos::OpenMP uses (libgomp), so they share its threads instead of starting their own.
// CUDA: cuBLAS on the space's stream. HIP and other spaces use the portable kernel (gemm.hpp).
// Callers handle empty products (gemm.hpp does): M, N and K are at least 1 here.
// The bfloat16 products (A and B as bfloat16 bit patterns, core/bfloat16.hpp; C and the sums in
// float) behind gemm_bf16.hpp: oneDNN's matmul on the host, cuBLAS's GemmEx on CUDA.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace rwkv {

enum class HostGemm { openblas, onednn };

// "openblas" or "onednn".
const char* host_gemm_name(HostGemm backend);
// The backend matmul_forward / matmul_backward call on host spaces (configure option RWKV_HOST_GEMM).
HostGemm host_gemm_default();
// Whether this build links the backend.
bool host_gemm_available(HostGemm backend);

struct GemmShape {
  bool trans_a, trans_b;
  int M, N, K;
  int lda, ldb, ldc;
};

// Throws std::invalid_argument for a backend this build lacks, std::runtime_error if it fails.
void host_gemm(HostGemm backend, const GemmShape& shape, const float* A, const float* B, float beta, float* C);
void host_gemm(HostGemm backend, const GemmShape& shape, const double* A, const double* B, double beta, double* C);

// Whether host_gemm_bf16 runs here: a build with oneDNN on a CPU with AVX-512 BF16 (without it
// oneDNN 2.6 would multiply bfloat16 on a reference loop far slower than float).
bool host_gemm_bf16_available();
// C = op(A) op(B) + beta C on bfloat16 A and B; throws std::invalid_argument where
// host_gemm_bf16_available() is false, std::runtime_error if oneDNN fails.
void host_gemm_bf16(const GemmShape& shape, const std::uint16_t* A, const std::uint16_t* B, float beta, float* C);

#if defined(KOKKOS_ENABLE_CUDA)
// Asynchronous on the space's stream; throws std::runtime_error if cuBLAS refuses the call.
void cuda_gemm(const Kokkos::Cuda& space, const GemmShape& shape, const float* A, const float* B, float beta, float* C);
void cuda_gemm(const Kokkos::Cuda& space, const GemmShape& shape, const double* A, const double* B, double beta,
               double* C);
// bfloat16 A and B, float C, sums in float (cublasGemmEx, CUBLAS_COMPUTE_32F).
void cuda_gemm_bf16(const Kokkos::Cuda& space, const GemmShape& shape, const std::uint16_t* A, const std::uint16_t* B,
                    float beta, float* C);
#endif

}  // namespace rwkv
