// CUDA GEMM on cuBLAS, on the calling space's stream. cuBLAS is column-major: the row-major
// C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so the operands swap places.
#include <rwkv/kernels/gemm_vendor.hpp>

#if defined(KOKKOS_ENABLE_CUDA)

#include <cublas_v2.h>

#include <stdexcept>
#include <string>

namespace rwkv {

namespace {

void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + " failed: cuBLAS status " + std::to_string(int(status)));
}

// One handle for the process, created on first use and destroyed when Kokkos finalizes (before
// the CUDA context goes).
cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t created;
    check(cublasCreate(&created), "cublasCreate");
    Kokkos::push_finalize_hook([created] { cublasDestroy(created); });
    return created;
  }();
  return h;
}

cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

void cuda_gemm(const Kokkos::Cuda& space, const GemmShape& s, const float* A, const float* B, float beta, float* C) {
  const cublasHandle_t h = handle();
  check(cublasSetStream(h, space.cuda_stream()), "cublasSetStream");
  const float one = 1;
  check(cublasSgemm(h, op(s.trans_b), op(s.trans_a), s.N, s.M, s.K, &one, B, s.ldb, A, s.lda, &beta, C, s.ldc),
        "cublasSgemm");
}

void cuda_gemm(const Kokkos::Cuda& space, const GemmShape& s, const double* A, const double* B, double beta,
               double* C) {
  const cublasHandle_t h = handle();
  check(cublasSetStream(h, space.cuda_stream()), "cublasSetStream");
  const double one = 1;
  check(cublasDgemm(h, op(s.trans_b), op(s.trans_a), s.N, s.M, s.K, &one, B, s.ldb, A, s.lda, &beta, C, s.ldc),
        "cublasDgemm");
}

void cuda_gemm_bf16(const Kokkos::Cuda& space, const GemmShape& s, const std::uint16_t* A, const std::uint16_t* B,
                    float beta, float* C) {
  const cublasHandle_t h = handle();
  check(cublasSetStream(h, space.cuda_stream()), "cublasSetStream");
  const float one = 1;
  check(cublasGemmEx(h, op(s.trans_b), op(s.trans_a), s.N, s.M, s.K, &one, B, CUDA_R_16BF, s.ldb, A, CUDA_R_16BF,
                     s.lda, &beta, C, CUDA_R_32F, s.ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx (bfloat16)");
}

}  // namespace rwkv

#endif
