#include <rwkv/kernels/gemm_bf16.hpp>

namespace rwkv {
#define RWKV_GEMM_BF16_DEFINE(SPACE, SCALAR) RWKV_GEMM_BF16_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_GEMM_BF16_DEFINE)
}  // namespace rwkv
