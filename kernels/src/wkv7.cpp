#include <rwkv/kernels/wkv7.hpp>

namespace rwkv {
#define RWKV_WKV7_DEFINE(SPACE, SCALAR) RWKV_WKV7_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_WKV7_DEFINE)
}  // namespace rwkv
