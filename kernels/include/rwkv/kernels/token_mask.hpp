// Restricting sampling to part of the vocabulary: every logit outside the kept tokens is set to the
// lowest finite Scalar, so no sampler setting (temperature, filters, greedy) can pick it.
//   keep_tokens(space, logits [rows, V], first, last, extra):
//     logits[r, t] = lowest   for t outside [first, last), except t == extra (-1: no extra token)
// A txt2img model samples image tokens only while it draws an image, and bytes or End while it
// writes a caption. The sampler computes in double, so lowest - max stays finite there.
// Zero rows or V = 0 does nothing.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/matrix_loops.hpp>
#include <rwkv/core/views.hpp>

#include <limits>

namespace rwkv {

template <class ExecSpace, class Scalar>
void keep_tokens(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& logits, int first, int last, int extra = -1) {
  const Scalar lowest = std::numeric_limits<Scalar>::lowest();
  for_each_element("rwkv::keep_tokens", space, int(logits.extent(0)), int(logits.extent(1)),
                   KOKKOS_LAMBDA(int r, int t) {
                     if ((t < first || t >= last) && t != extra) logits(r, t) = lowest;
                   });
}

#define RWKV_TOKEN_MASK_INSTANTIATE(PREFIX, SPACE, SCALAR) \
  PREFIX template void keep_tokens<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&, int, int, int);

#define RWKV_TOKEN_MASK_EXTERN(SPACE, SCALAR) RWKV_TOKEN_MASK_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_TOKEN_MASK_EXTERN)
#undef RWKV_TOKEN_MASK_EXTERN

}  // namespace rwkv
