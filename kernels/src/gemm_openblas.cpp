// Host GEMM on OpenBLAS's CBLAS interface (the OpenMP build of OpenBLAS: see cmake/host_gemm.cmake).
#include "gemm_backends.hpp"

#include <cblas.h>

namespace rwkv::gemm_backends {

namespace {
CBLAS_TRANSPOSE op(bool trans) { return trans ? CblasTrans : CblasNoTrans; }
}  // namespace

void openblas_gemm(const GemmShape& s, const float* A, const float* B, float beta, float* C) {
  cblas_sgemm(CblasRowMajor, op(s.trans_a), op(s.trans_b), s.M, s.N, s.K, 1.0f, A, s.lda, B, s.ldb, beta, C, s.ldc);
}

void openblas_gemm(const GemmShape& s, const double* A, const double* B, double beta, double* C) {
  cblas_dgemm(CblasRowMajor, op(s.trans_a), op(s.trans_b), s.M, s.N, s.K, 1.0, A, s.lda, B, s.ldb, beta, C, s.ldc);
}

}  // namespace rwkv::gemm_backends
