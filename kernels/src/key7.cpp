#include <rwkv/kernels/key7.hpp>

namespace rwkv {
#define RWKV_KEY7_DEFINE(SPACE, SCALAR) RWKV_KEY7_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_KEY7_DEFINE)
}  // namespace rwkv
