#include <rwkv/kernels/time_mix.hpp>

namespace rwkv {
#define RWKV_TIME_MIX_DEFINE(SPACE, SCALAR) RWKV_TIME_MIX_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TIME_MIX_DEFINE)
}  // namespace rwkv
