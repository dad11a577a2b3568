#include <rwkv/kernels/layer_norm.hpp>

namespace rwkv {
#define RWKV_LAYER_NORM_DEFINE(SPACE, SCALAR) RWKV_LAYER_NORM_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_LAYER_NORM_DEFINE)
}  // namespace rwkv
