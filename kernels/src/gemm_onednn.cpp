// Host GEMM on oneDNN's dnnl_sgemm (row-major, float only), which generates its kernels for the
// CPU it runs on; Debian's libdnnl threads with OpenMP.
#include "gemm_backends.hpp"

#include <oneapi/dnnl/dnnl.h>

#include <stdexcept>
#include <string>

namespace rwkv::gemm_backends {

void onednn_gemm(const GemmShape& s, const float* A, const float* B, float beta, float* C) {
  const dnnl_status_t status = dnnl_sgemm(s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', s.M, s.N, s.K, 1.0f, A,
                                          s.lda, B, s.ldb, beta, C, s.ldc);
  if (status != dnnl_success)
    throw std::runtime_error("dnnl_sgemm failed (status " + std::to_string(int(status)) + ") for M=" +
                             std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K));
}

}  // namespace rwkv::gemm_backends
