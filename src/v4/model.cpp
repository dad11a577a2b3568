#include "model_impl.hpp"

namespace rwkv {
#define RWKV_MODEL_V4_DEFINE(SPACE, SCALAR) template class Model<v4, SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_MODEL_V4_DEFINE)
}  // namespace rwkv
