// Which host backend runs a product: the configure-time choice (RWKV_HOST_GEMM_DEFAULT, set by
// cmake/host_gemm.cmake) and the backends compiled in (RWKV_HAVE_ONEDNN).
#include "gemm_backends.hpp"

#include <stdexcept>
#include <string>

namespace rwkv {

const char* host_gemm_name(HostGemm backend) { return backend == HostGemm::onednn ? "onednn" : "openblas"; }

HostGemm host_gemm_default() { return HostGemm::RWKV_HOST_GEMM_DEFAULT; }

bool host_gemm_available(HostGemm backend) {
  switch (backend) {
    case HostGemm::openblas: return true;
    case HostGemm::onednn: return RWKV_HAVE_ONEDNN;
  }
  return false;
}

namespace {
void require_available(HostGemm backend) {
  if (!host_gemm_available(backend))
    throw std::invalid_argument(std::string("host GEMM backend '") + host_gemm_name(backend) +
                                "' is not in this build (configure with -DRWKV_HOST_GEMM=" + host_gemm_name(backend) +
                                ")");
}
}  // namespace

void host_gemm(HostGemm backend, const GemmShape& shape, const float* A, const float* B, float beta, float* C) {
  require_available(backend);
#if RWKV_HAVE_ONEDNN
  if (backend == HostGemm::onednn) return gemm_backends::onednn_gemm(shape, A, B, beta, C);
#endif
  gemm_backends::openblas_gemm(shape, A, B, beta, C);
}

void host_gemm(HostGemm backend, const GemmShape& shape, const double* A, const double* B, double beta, double* C) {
  require_available(backend);
  gemm_backends::openblas_gemm(shape, A, B, beta, C);
}

bool host_gemm_bf16_available() {
#if RWKV_HAVE_ONEDNN
  static const bool available = gemm_backends::onednn_bf16_supported();
  return available;
#else
  return false;
#endif
}

void host_gemm_bf16(const GemmShape& shape, const std::uint16_t* A, const std::uint16_t* B, float beta, float* C) {
  if (!host_gemm_bf16_available())
    throw std::invalid_argument(std::string("host bfloat16 GEMM: ") +
                                (RWKV_HAVE_ONEDNN ? "this CPU lacks AVX-512 BF16" : "this build has no oneDNN"));
#if RWKV_HAVE_ONEDNN
  gemm_backends::onednn_gemm_bf16(shape, A, B, beta, C);
#endif
}

}  // namespace rwkv
