// The 2D position channels of image tokens added to the embeddings x [N, C]. Token p of a 32x32
// image (raster order) sits at x = p % 32, y = p / 32 and sets
//   channel x        to 1   (one-hot x, channels 0..31)
//   channel 32 + y   to 1   (one-hot y, channels 32..63)
//   channel 64       to x / 31
//   channel 65       to y / 31
// and leaves every other channel 0, so n_embd must be at least 66:
//   x[n, c] += position_channel(positions[n], c)   for c < 66, in every row n with positions[n] >= 0
// Rows with a negative position (text, special tokens) are left as they are. Positions must lie in
// -1..1023 and C must be at least 66; nothing checks this inside the kernel. N = 0 does nothing.
// The channels are constants, so the gradient of x passes to the embedding unchanged: there is no
// backward.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/matrix_loops.hpp>
#include <rwkv/core/views.hpp>

#include <type_traits>

namespace rwkv {

inline constexpr int position_side = 32;
inline constexpr int position_count = position_side * position_side;
inline constexpr int position_channel_count = 2 * position_side + 2;

// Channel `channel` for position `position` (both in range): pure, no library calls, and marked
// for the device too (CUDA builds lack --expt-relaxed-constexpr, so constexpr alone would not do).
KOKKOS_INLINE_FUNCTION constexpr float position_channel(int position, int channel) {
  const int x = position % position_side, y = position / position_side;
  if (channel < position_side) return channel == x ? 1.0f : 0.0f;
  if (channel < 2 * position_side) return channel - position_side == y ? 1.0f : 0.0f;
  if (channel == 2 * position_side) return float(x) / float(position_side - 1);
  if (channel == 2 * position_side + 1) return float(y) / float(position_side - 1);
  return 0.0f;
}

// One position per row of x, in ExecSpace's memory; non-deduced, so callers may pass View<int*>.
template <class ExecSpace>
using ConstPositions = std::type_identity_t<Kokkos::View<const int*, typename ExecSpace::memory_space>>;

template <class ExecSpace, class Scalar>
void position_channels_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& x,
                               ConstPositions<ExecSpace> positions) {
  for_each_element("rwkv::position_channels_forward", space, int(x.extent(0)), position_channel_count,
                   KOKKOS_LAMBDA(int n, int c) {
                     const int p = positions(n);
                     if (p >= 0) x(n, c) += Scalar(position_channel(p, c));
                   });
}

#define RWKV_POSITION_CHANNELS_INSTANTIATE(PREFIX, SPACE, SCALAR)                                   \
  PREFIX template void position_channels_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&, \
                                                                ConstPositions<SPACE>);

#define RWKV_POSITION_CHANNELS_EXTERN(SPACE, SCALAR) RWKV_POSITION_CHANNELS_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_POSITION_CHANNELS_EXTERN)
#undef RWKV_POSITION_CHANNELS_EXTERN

}  // namespace rwkv
