#include <rwkv/kernels/token_shift7.hpp>

namespace rwkv {
#define RWKV_TOKEN_SHIFT7_DEFINE(SPACE, SCALAR) RWKV_TOKEN_SHIFT7_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TOKEN_SHIFT7_DEFINE)
}  // namespace rwkv
