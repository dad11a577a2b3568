#include <rwkv/kernels/wkv.hpp>

namespace rwkv {
#define RWKV_WKV_DEFINE(SPACE, SCALAR) RWKV_WKV_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WKV_DEFINE)
}  // namespace rwkv
