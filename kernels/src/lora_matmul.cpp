#include <rwkv/kernels/lora_matmul.hpp>

namespace rwkv {
#define RWKV_LORA_MATMUL_DEFINE(SPACE, SCALAR) RWKV_LORA_MATMUL_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LORA_MATMUL_DEFINE)
}  // namespace rwkv
