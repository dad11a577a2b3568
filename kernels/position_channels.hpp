// The 2D position channels of image tokens (image/position.hpp) added to the embeddings x [N, C]:
//   x[n, c] += position_channel(positions[n], c)   for c < 66, in every row n with positions[n] >= 0
// Rows with a negative position (text, special tokens) are left as they are. Positions must lie in
// -1..1023 and C must be at least 66; nothing checks this inside the kernel.
// The channels are constants, so the gradient of x passes to the embedding unchanged: there is no
// backward.
#pragma once

#include <rwkv/image/position.hpp>
#include <rwkv/instantiate.hpp>
#include <rwkv/kernels/matrix_loops.hpp>
#include <rwkv/views.hpp>

#include <type_traits>

namespace rwkv {

// One position per row of x, in ExecSpace's memory; non-deduced, so callers may pass View<int*>.
template <class ExecSpace>
using ConstPositions = std::type_identity_t<Kokkos::View<const int*, typename ExecSpace::memory_space>>;

template <class ExecSpace, class Scalar>
void position_channels_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& x,
                               ConstPositions<ExecSpace> positions) {
  for_each_element("rwkv::position_channels_forward", space, int(x.extent(0)), image::position_channels,
                   KOKKOS_LAMBDA(int n, int c) {
                     const int p = positions(n);
                     if (p >= 0) x(n, c) += Scalar(image::position_channel(p, c));
                   });
}

#define RWKV_POSITION_CHANNELS_INSTANTIATE(PREFIX, SPACE, SCALAR)                                   \
  PREFIX template void position_channels_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&, \
                                                                ConstPositions<SPACE>);

#define RWKV_POSITION_CHANNELS_EXTERN(SPACE, SCALAR) RWKV_POSITION_CHANNELS_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_POSITION_CHANNELS_EXTERN)
#undef RWKV_POSITION_CHANNELS_EXTERN

}  // namespace rwkv
