// int8 weights for inference, after the RWKV README's scheme for matrices with outliers: a weight
// W [out, in] is stored as int8 q with a factor per column and one per row,
//   W[i, j] ~ q[i, j] * col[j] * row[i],    q in [-127, 127]
// so that y = x W^T is computed as y[n, i] = row[i] * sum_j q[i, j] * (col[j] * x[n, j]).
// An outlier column or row gets its own large factor instead of coarsening every other weight.
// The rounding error of W[i, j] is at most col[j] * row[i] / 2, so the squared error of (W v)[i]
// grows with row[i]^2 sum_j col[j]^2 v[j]^2: the factors should be as small as
// |W[i, j]| <= 127 col[j] row[i] allows, for every row and column at once. quantize_int8 fits
// them from two starts and keeps the fit whose weights lose least relative to their own size.
// A line of an empty matrix gets the factor 1; N = 0 or out = 0 writes no y, in = 0 gives y = 0.
#pragma once

#include <rwkv/core/execution.hpp>
#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/int8_dot.hpp>
#include <rwkv/kernels/matrix_loops.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

namespace rwkv {

template <class ExecSpace, class Scalar>
struct Int8Matrix {
  Kokkos::View<std::int8_t**, Kokkos::LayoutRight, typename ExecSpace::memory_space> q;  // [out, in]
  Vector<ExecSpace, Scalar> col;  // [in]
  Vector<ExecSpace, Scalar> row;  // [out]

  Int8Matrix() = default;
  Int8Matrix(const std::string& label, int out, int in)
      : q(Kokkos::view_alloc(label + ".q", Kokkos::WithoutInitializing), out, in), col(label + ".col", in),
        row(label + ".row", out) {}
  // q in `storage` (out * in bytes of the caller's, which must outlive the matrix).
  Int8Matrix(const std::string& label, std::int8_t* storage, int out, int in)
      : q(storage, out, in), col(label + ".col", in), row(label + ".row", out) {}
  std::size_t bytes() const { return q.size() + (col.size() + row.size()) * sizeof(Scalar); }
};

inline constexpr int int8_factor_rounds = 4;

namespace int8_detail {

// Coordinate descent from one side: that side's factors start at its lines' largest |W| (an
// outlier line there keeps its large factor to itself), then each side in turn is set to the
// least factors the bound allows given the other. columns_first false: rows start.
template <class ExecSpace, class Scalar>
void fit_factors(const ExecSpace& space, const Vector<ExecSpace, Scalar>& col, const Vector<ExecSpace, Scalar>& row,
                 ConstMatrix<ExecSpace, Scalar> W, bool columns_first) {
  const int rows = int(W.extent(0)), cols = int(W.extent(1));
  // start: factor = the line's largest |W|; else the least with |W| <= 127 * factor * other.
  // An all-zero line gets 1.
  const auto fit_cols = [&](bool start) {
    Kokkos::parallel_for(
        "rwkv::quantize_int8_cols", Kokkos::RangePolicy<ExecSpace>(space, 0, cols), KOKKOS_LAMBDA(int j) {
          Scalar m = 0;
          for (int i = 0; i < rows; ++i) m = max_of(m, kmath::fabs(W(i, j)) / (start ? Scalar(1) : row(i)));
          col(j) = m > Scalar(0) ? (start ? m : m / Scalar(127)) : Scalar(1);
        });
  };
  const auto fit_rows = [&](bool start) {
    Kokkos::parallel_for(
        "rwkv::quantize_int8_rows", Kokkos::RangePolicy<ExecSpace>(space, 0, rows), KOKKOS_LAMBDA(int i) {
          Scalar m = 0;
          for (int j = 0; j < cols; ++j) m = max_of(m, kmath::fabs(W(i, j)) / (start ? Scalar(1) : col(j)));
          row(i) = m > Scalar(0) ? (start ? m : m / Scalar(127)) : Scalar(1);
        });
  };
  if (columns_first)
    fit_cols(true);
  else
    fit_rows(true);
  for (int round = 0; round < int8_factor_rounds; ++round) {
    if (columns_first) {
      fit_rows(false);
      fit_cols(false);
    } else {
      fit_cols(false);
      fit_rows(false);
    }
  }
}

// sum_ij min(1, (step_ij / W_ij)^2) with step_ij = col_j row_i: the squared relative rounding
// error bound of every weight, capped at 1 (a weight rounded to zero loses all of itself).
template <class ExecSpace, class Scalar>
double relative_error(const ExecSpace& space, ConstVector<ExecSpace, Scalar> col, ConstVector<ExecSpace, Scalar> row,
                      ConstMatrix<ExecSpace, Scalar> W) {
  const int cols = int(W.extent(1));
  double total = 0;
  Kokkos::parallel_reduce(
      "rwkv::quantize_int8_error", Kokkos::RangePolicy<ExecSpace>(space, 0, int(W.extent(0))),
      KOKKOS_LAMBDA(int i, double& acc) {
        for (int j = 0; j < cols; ++j) {
          const double step = double(col(j)) * double(row(i)), w = kmath::fabs(double(W(i, j)));
          acc += step >= w ? 1.0 : (step / w) * (step / w);
        }
      },
      total);
  return total;
}

}  // namespace int8_detail

// Fits the factors starting from each side and keeps the pair with the smaller relative error:
// starting from the columns isolates outlier columns, starting from the rows outlier rows.
template <class ExecSpace, class Scalar>
void quantize_int8(const ExecSpace& space, const Int8Matrix<ExecSpace, Scalar>& out, ConstMatrix<ExecSpace, Scalar> W) {
  const int rows = int(W.extent(0)), cols = int(W.extent(1));
  Vector<ExecSpace, Scalar> other_col("int8_col", cols), other_row("int8_row", rows);
  int8_detail::fit_factors(space, out.col, out.row, W, true);
  int8_detail::fit_factors(space, other_col, other_row, W, false);
  if (int8_detail::relative_error<ExecSpace, Scalar>(space, other_col, other_row, W) <
      int8_detail::relative_error<ExecSpace, Scalar>(space, out.col, out.row, W)) {
    Kokkos::deep_copy(space, out.col, other_col);
    Kokkos::deep_copy(space, out.row, other_row);
  }
  const auto q = out.q;
  const auto col = out.col, row = out.row;
  for_each_element("rwkv::quantize_int8", space, rows, cols, KOKKOS_LAMBDA(int i, int j) {
    const Scalar scaled = W(i, j) / (col(j) * row(i));
    const Scalar clamped = min_of(Scalar(127), max_of(Scalar(-127), scaled));
    q(i, j) = std::int8_t(clamped < Scalar(0) ? clamped - Scalar(0.5) : clamped + Scalar(0.5));
  });
}

// The activations of an int8 product, quantized row by row to int16:
//   col[j] * x[n, j] ~ a[n, j] * scale[n],   scale[n] = max_j |col[j] x[n, j]| / 32767,
// so each row keeps 15 bits relative to its largest entry, far finer than the weights' 7. The
// buffers grow to the largest product seen and are reused.
template <class ExecSpace, class Scalar>
struct Int8Activations {
  Kokkos::View<std::int16_t*, typename ExecSpace::memory_space> values;  // a, row-major [N, in]
  Vector<ExecSpace, Scalar> scale;                                        // [N]

  void reserve(int N, int in) {
    if (values.size() < std::size_t(N) * std::size_t(in))
      values = decltype(values)(Kokkos::view_alloc("int8_activations", Kokkos::WithoutInitializing), std::size_t(N) * in);
    if (int(scale.extent(0)) < N) scale = Vector<ExecSpace, Scalar>("int8_activation_scale", N);
  }
};

inline constexpr int int16_activation_max = 32767;

// v in [-32767, 32767] rounded half away from zero (a select and a truncation: vectorizes).
template <class Scalar>
KOKKOS_INLINE_FUNCTION std::int16_t round_to_int16(Scalar v) {
  return std::int16_t(v < Scalar(0) ? v - Scalar(0.5) : v + Scalar(0.5));
}

// Fills work's first N rows from x and W.col (one thread, or team, per row).
template <class ExecSpace, class Scalar>
void quantize_activations(const ExecSpace& space, Int8Activations<ExecSpace, Scalar>& work, ConstMatrix<ExecSpace, Scalar> x,
                          ConstVector<ExecSpace, Scalar> col) {
  const int N = int(x.extent(0)), in = int(x.extent(1));
  work.reserve(N, in);
  const auto values = work.values;
  const auto scale = work.scale;
  if constexpr (host_fast_path<ExecSpace>) {
    const auto quantize_row = KOKKOS_LAMBDA(int n) {
      const Scalar *xn = &x(n, 0), *c = col.data();
      std::int16_t* an = values.data() + std::size_t(n) * in;
      Scalar largest = 0;
      RWKV_HOST_SIMD_REDUCTION(max : largest)
      for (int j = 0; j < in; ++j) largest = max_of(largest, kmath::fabs(c[j] * xn[j]));
      const Scalar to_int = largest > Scalar(0) ? Scalar(int16_activation_max) / largest : Scalar(0);
      RWKV_HOST_SIMD
      for (int j = 0; j < in; ++j) an[j] = round_to_int16(c[j] * xn[j] * to_int);
      scale(n) = largest / Scalar(int16_activation_max);
    };
    for_each_host_row("rwkv::int8_quantize_activations", space, N, quantize_row);
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "rwkv::int8_quantize_activations", Kokkos::TeamPolicy<ExecSpace>(space, N, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int n = team.league_rank();
          Scalar largest = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, in),
              [&](int j, Scalar& m) { m = max_of(m, kmath::fabs(col(j) * x(n, j))); }, Kokkos::Max<Scalar>(largest));
          const Scalar to_int = largest > Scalar(0) ? Scalar(int16_activation_max) / largest : Scalar(0);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, in), [&](int j) {
            values(std::size_t(n) * in + j) = round_to_int16(col(j) * x(n, j) * to_int);
          });
          Kokkos::single(Kokkos::PerTeam(team), [&]() { scale(n) = largest / Scalar(int16_activation_max); });
        });
  }
}

// y = x W^T with W in int8 (overwrites y); x [N, in], y [N, out]. The activations are quantized
// into `work` (Int8Activations), then y[n, i] = row[i] * scale[n] * sum_j q[i, j] a[n, j], the
// sum exact in integers (int8_dot.hpp).
//   device: a team per output row i, its threads across the inputs;
//   host:   a work item per output row; each thread reads a contiguous run of rows as one stream
//           (faster than rows side by side: docs/PERFORMANCE.md#one-stream-a-thread).
template <class ExecSpace, class Scalar>
void int8_matmul_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> x,
                         const Int8Matrix<ExecSpace, Scalar>& W, Int8Activations<ExecSpace, Scalar>& work) {
  const int N = int(x.extent(0)), in = int(x.extent(1)), out = int(W.q.extent(0));
  quantize_activations(space, work, x, ConstVector<ExecSpace, Scalar>(W.col));
  const auto q = W.q;
  const auto row = W.row;
  const auto values = work.values;
  const auto scale = work.scale;
  if constexpr (host_fast_path<ExecSpace>) {
    // Raw pointers and a kernel of its own for one row of x, as matmul_forward_few_rows.
    const std::int8_t* qp = q.data();
    const std::int16_t* ap = values.data();
    const Scalar* row_factor = row.data();
    Scalar* yp = y.data();
    const std::size_t q_stride = q.stride(0);
#if defined(RWKV_OPENMP_LOOPS)
    if constexpr (std::is_same_v<ExecSpace, Kokkos::OpenMP>) {
      if (N == 1) {
        // A plain OpenMP loop with the guided schedule; the activations were quantized in place,
        // so their scale is ready. The float products' row sharing (row_shares.hpp) ran this loop
        // slower (docs/PERFORMANCE.md#int8-step).
        const Scalar a_scale = scale(0);
#pragma omp parallel for schedule(guided) num_threads(space.concurrency())
        for (int i = 0; i < out; ++i)
          yp[i] = row_factor[i] * a_scale * Scalar(int8_detail::row_dot_int8_int16(qp + i * q_stride, ap, in));
        return;
      }
    }
#endif
    if (N == 1) {
      const Scalar* scale_p = scale.data();
      Kokkos::parallel_for(
          "rwkv::int8_matmul_forward", Kokkos::RangePolicy<ExecSpace>(space, 0, out), KOKKOS_LAMBDA(int i) {
            yp[i] = row_factor[i] * scale_p[0] * Scalar(int8_detail::row_dot_int8_int16(qp + i * q_stride, ap, in));
          });
    } else {
      const std::size_t y_stride = y.stride(0);
      Kokkos::parallel_for(
          "rwkv::int8_matmul_forward", Kokkos::RangePolicy<ExecSpace>(space, 0, out), KOKKOS_LAMBDA(int i) {
            for (int n = 0; n < N; ++n)
              yp[n * y_stride + i] = row_factor[i] * scale(n) *
                                     Scalar(int8_detail::row_dot_int8_int16(qp + i * q_stride, ap + std::size_t(n) * in, in));
          });
    }
  } else {
    using Team = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
    Kokkos::parallel_for(
        "rwkv::int8_matmul_forward", Kokkos::TeamPolicy<ExecSpace>(space, out, Kokkos::AUTO),
        KOKKOS_LAMBDA(const Team& team) {
          const int i = team.league_rank();
          for (int n = 0; n < N; ++n) {
            long long sum = 0;
            Kokkos::parallel_reduce(
                Kokkos::TeamThreadRange(team, in),
                [&](int j, long long& s) { s += std::int32_t(q(i, j)) * std::int32_t(values(std::size_t(n) * in + j)); },
                sum);
            Kokkos::single(Kokkos::PerTeam(team), [&]() { y(n, i) = row(i) * scale(n) * Scalar(sum); });
          }
        });
  }
}

#define RWKV_INT8_MATMUL_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                  \
  PREFIX template void quantize_int8<SPACE, SCALAR>(const SPACE&, const Int8Matrix<SPACE, SCALAR>&,        \
                                                    ConstMatrix<SPACE, SCALAR>);                            \
  PREFIX template void int8_matmul_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,      \
                                                          ConstMatrix<SPACE, SCALAR>,                       \
                                                          const Int8Matrix<SPACE, SCALAR>&,                 \
                                                          Int8Activations<SPACE, SCALAR>&);

#define RWKV_INT8_MATMUL_EXTERN(SPACE, SCALAR) RWKV_INT8_MATMUL_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_INT8_MATMUL_EXTERN)
#undef RWKV_INT8_MATMUL_EXTERN

}  // namespace rwkv
