#include <rwkv/kernels/lora7.hpp>

namespace rwkv {
#define RWKV_LORA7_DEFINE(SPACE, SCALAR) RWKV_LORA7_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LORA7_DEFINE)
}  // namespace rwkv
