#include <rwkv/kernels/token_mask.hpp>

namespace rwkv {
#define RWKV_TOKEN_MASK_DEFINE(SPACE, SCALAR) RWKV_TOKEN_MASK_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TOKEN_MASK_DEFINE)
}  // namespace rwkv
