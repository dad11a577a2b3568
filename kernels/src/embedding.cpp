#include <rwkv/kernels/embedding.hpp>

namespace rwkv {
#define RWKV_EMBEDDING_DEFINE(SPACE, SCALAR) RWKV_EMBEDDING_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_EMBEDDING_DEFINE)
}  // namespace rwkv
