#include <rwkv/kernels/gemm.hpp>

namespace rwkv {
#define RWKV_GEMM_DEFINE(SPACE, SCALAR)                 \
  RWKV_GEMM_PORTABLE_INSTANTIATE(, SPACE, SCALAR)       \
  RWKV_GEMM_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_GEMM_DEFINE)
}  // namespace rwkv
