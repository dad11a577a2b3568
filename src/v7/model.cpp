#include "model_impl.hpp"
#include "model_passes.hpp"

namespace rwkv {
#define RWKV_MODEL_V7_DEFINE(SPACE, SCALAR) template class Model<v7, SPACE, SCALAR>;
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_MODEL_V7_DEFINE)
}  // namespace rwkv
