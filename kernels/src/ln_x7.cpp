#include <rwkv/kernels/ln_x7.hpp>

namespace rwkv {
#define RWKV_LN_X7_DEFINE(SPACE, SCALAR) RWKV_LN_X7_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LN_X7_DEFINE)
}  // namespace rwkv
