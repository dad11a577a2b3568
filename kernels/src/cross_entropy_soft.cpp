#include <rwkv/kernels/cross_entropy_soft.hpp>

#include <stdexcept>
#include <string>

namespace rwkv {

namespace detail {
void check_soft_targets(int rows, int V, long level_rows, long level_cols, int offset) {
  if (level_rows != rows || level_cols != 3)
    throw std::invalid_argument("soft-target cross-entropy: levels of shape [" + std::to_string(level_rows) + ", " +
                                std::to_string(level_cols) + "] for " + std::to_string(rows) +
                                " rows of logits (expected [rows, 3])");
  if (offset < 0 || long(offset) + soft_target_classes > V)
    throw std::invalid_argument("soft-target cross-entropy: image tokens " + std::to_string(offset) + ".." +
                                std::to_string(long(offset) + soft_target_classes - 1) +
                                " do not fit the vocabulary of " + std::to_string(V));
}
}  // namespace detail

#define RWKV_CROSS_ENTROPY_SOFT_DEFINE(SPACE, SCALAR) RWKV_CROSS_ENTROPY_SOFT_INSTANTIATE(, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_CROSS_ENTROPY_SOFT_DEFINE)
}  // namespace rwkv
