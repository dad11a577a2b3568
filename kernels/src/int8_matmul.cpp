#include <rwkv/kernels/int8_matmul.hpp>

namespace rwkv {
#define RWKV_INT8_MATMUL_DEFINE(SPACE, SCALAR) RWKV_INT8_MATMUL_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_INT8_MATMUL_DEFINE)
}  // namespace rwkv
