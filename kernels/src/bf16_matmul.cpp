#include <rwkv/kernels/bf16_matmul.hpp>

namespace rwkv {
#define RWKV_BF16_MATMUL_DEFINE(SPACE, SCALAR) RWKV_BF16_MATMUL_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_BF16_MATMUL_DEFINE)
}  // namespace rwkv
