// Embedding lookup (gather) and its gradient (scatter-add), on x [N, C] and weight [V, C].
//   x[n, :] = weight[tokens[n], :]
//   dweight[tokens[n], :] += dx[n, :]     accumulating, deterministic
// Tokens must lie in [0, V); nothing checks this inside the kernels.
// N = 0 or C = 0 does nothing (dweight as it was); V = 0 has no token: N = 0 only.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/matrix_loops.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/views.hpp>

#include <type_traits>

namespace rwkv {

// Token ids in ExecSpace's memory; non-deduced like ConstMatrix, so callers may pass View<int*>.
template <class ExecSpace>
using ConstTokens = std::type_identity_t<Kokkos::View<const int*, typename ExecSpace::memory_space>>;

template <class ExecSpace, class Scalar>
void embedding_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& x, ConstTokens<ExecSpace> tokens,
                       ConstMatrix<ExecSpace, Scalar> weight) {
  const int C = int(x.extent(1));
  for_each_element("rwkv::embedding_forward", space, int(x.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    x(n, c) = weight(tokens(n), c);
  });
}

// Work split of the backward: a work item owns `width` channels of every vocabulary row whose
// token falls in its bucket (token % buckets).
//   host:   one bucket, 16 channels (a 64-byte run of floats) per item: each item streams dx once.
//   device: one channel per thread (coalesced) and 32 buckets for parallelism; a warp shares its
//           bucket, so the branch on the token does not diverge.
template <class ExecSpace>
struct EmbeddingSplit {
  static constexpr bool host = host_fast_path<ExecSpace>;
  static constexpr int width = host ? 16 : 1;
  static constexpr int buckets = host ? 1 : 32;
};

// No float atomics: each work item walks the rows of dx in order and adds those of its bucket,
// so every dweight element receives its updates in row order, one after another: the same bits
// on every run, whatever the thread count, on every space. The values being accumulated stay in
// registers while consecutive rows of the bucket repeat a token: the same sequence of additions,
// without a round trip through memory for each.
template <class ExecSpace, class Scalar>
void embedding_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dweight,
                        ConstMatrix<ExecSpace, Scalar> dx, ConstTokens<ExecSpace> tokens) {
  using Split = EmbeddingSplit<ExecSpace>;
  const int rows = int(dx.extent(0));
  const int C = int(dx.extent(1));
  const int blocks = (C + Split::width - 1) / Split::width;
  Kokkos::parallel_for(
      "rwkv::embedding_backward", Kokkos::RangePolicy<ExecSpace>(space, 0, Split::buckets * blocks),
      KOKKOS_LAMBDA(int item) {
        const int bucket = item / blocks;
        const int c0 = (item % blocks) * Split::width;
        const int count = min_of(Split::width, C - c0);
        Scalar acc[Split::width];
        int current = -1;
        for (int n = 0; n < rows; ++n) {
          const int v = tokens(n);
          if (v % Split::buckets != bucket) continue;
          if (v != current) {
            for (int j = 0; j < count; ++j) {
              if (current >= 0) dweight(current, c0 + j) = acc[j];
              acc[j] = dweight(v, c0 + j);
            }
            current = v;
          }
          for (int j = 0; j < count; ++j) acc[j] += dx(n, c0 + j);
        }
        if (current >= 0)
          for (int j = 0; j < count; ++j) dweight(current, c0 + j) = acc[j];
      });
}

#define RWKV_EMBEDDING_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                  \
  PREFIX template void embedding_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,        \
                                                        ConstTokens<SPACE>, ConstMatrix<SPACE, SCALAR>);   \
  PREFIX template void embedding_backward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,       \
                                                         ConstMatrix<SPACE, SCALAR>, ConstTokens<SPACE>);

#define RWKV_EMBEDDING_EXTERN(SPACE, SCALAR) RWKV_EMBEDDING_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_EMBEDDING_EXTERN)
#undef RWKV_EMBEDDING_EXTERN

}  // namespace rwkv
