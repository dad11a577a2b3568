#include <rwkv/kernels/cross_entropy.hpp>

namespace rwkv {
#define RWKV_CROSS_ENTROPY_DEFINE(SPACE, SCALAR) RWKV_CROSS_ENTROPY_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_CROSS_ENTROPY_DEFINE)
}  // namespace rwkv
