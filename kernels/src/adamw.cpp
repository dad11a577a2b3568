#include <rwkv/kernels/adamw.hpp>

namespace rwkv {
#define RWKV_ADAMW_DEFINE(SPACE, SCALAR) RWKV_ADAMW_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_ADAMW_DEFINE)
}  // namespace rwkv
