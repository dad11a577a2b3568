// Elementwise pieces of the RWKV-4 blocks on [N, C] matrices, forward and backward (accumulating).
//   sigmoid gate:  out = sigmoid(r) * z          dr += dout * z * g * (1 - g),  dz += dout * g
//                  (g = sigmoid(r), saved by the forward as `gate`)
//   squared ReLU:  y = relu(x)^2                 dx += dy * 2 relu(x)
//   residual add:  y = a + b                     da += dy,  db += dy
// N = 0 or C = 0 does nothing.
#pragma once

#include <rwkv/core/instantiate.hpp>
#include <rwkv/kernels/matrix_loops.hpp>
#include <rwkv/core/kokkos_compat.hpp>
#include <rwkv/core/vector_math.hpp>
#include <rwkv/core/views.hpp>

namespace rwkv {

template <class ExecSpace, class Scalar>
void sigmoid_gate_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& out,
                          const Matrix<ExecSpace, Scalar>& gate, ConstMatrix<ExecSpace, Scalar> r,
                          ConstMatrix<ExecSpace, Scalar> z) {
  const int C = int(r.extent(1));
  for_each_element("rwkv::sigmoid_gate_forward", space, int(r.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    // exp(-r) overflows to inf for r < -88 in float, giving the correct limit 0.
    const Scalar g = Scalar(1) / (Scalar(1) + vector_exp(-r(n, c)));
    gate(n, c) = g;
    out(n, c) = g * z(n, c);
  });
}

template <class ExecSpace, class Scalar>
void sigmoid_gate_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dr,
                           const Matrix<ExecSpace, Scalar>& dz, ConstMatrix<ExecSpace, Scalar> dout,
                           ConstMatrix<ExecSpace, Scalar> gate, ConstMatrix<ExecSpace, Scalar> z) {
  const int C = int(dout.extent(1));
  for_each_element("rwkv::sigmoid_gate_backward", space, int(dout.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar g = gate(n, c);
    dr(n, c) += dout(n, c) * z(n, c) * g * (Scalar(1) - g);
    dz(n, c) += dout(n, c) * g;
  });
}

template <class ExecSpace, class Scalar>
void squared_relu_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> x) {
  const int C = int(x.extent(1));
  for_each_element("rwkv::squared_relu_forward", space, int(x.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    const Scalar p = max_of(x(n, c), Scalar(0));
    y(n, c) = p * p;
  });
}

template <class ExecSpace, class Scalar>
void squared_relu_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx,
                           ConstMatrix<ExecSpace, Scalar> dy, ConstMatrix<ExecSpace, Scalar> x) {
  const int C = int(x.extent(1));
  for_each_element("rwkv::squared_relu_backward", space, int(x.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    dx(n, c) += dy(n, c) * Scalar(2) * max_of(x(n, c), Scalar(0));
  });
}

// y may be the same view as a or b (x = x + f(x) in place): each element is read before it is written.
template <class ExecSpace, class Scalar>
void residual_add_forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, ConstMatrix<ExecSpace, Scalar> a,
                          ConstMatrix<ExecSpace, Scalar> b) {
  const int C = int(a.extent(1));
  for_each_element("rwkv::residual_add_forward", space, int(a.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    y(n, c) = a(n, c) + b(n, c);
  });
}

// An empty da or db (extent 0) is skipped.
template <class ExecSpace, class Scalar>
void residual_add_backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& da,
                           const Matrix<ExecSpace, Scalar>& db, ConstMatrix<ExecSpace, Scalar> dy) {
  const int C = int(dy.extent(1));
  const bool want_a = da.extent(0) > 0, want_b = db.extent(0) > 0;
  for_each_element("rwkv::residual_add_backward", space, int(dy.extent(0)), C, KOKKOS_LAMBDA(int n, int c) {
    if (want_a) da(n, c) += dy(n, c);
    if (want_b) db(n, c) += dy(n, c);
  });
}

#define RWKV_ACTIVATIONS_INSTANTIATE(PREFIX, SPACE, SCALAR)                                                      \
  PREFIX template void sigmoid_gate_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,           \
                                                           const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, \
                                                           ConstMatrix<SPACE, SCALAR>);                          \
  PREFIX template void sigmoid_gate_backward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,          \
                                                            const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>, \
                                                            ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>); \
  PREFIX template void squared_relu_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,           \
                                                           ConstMatrix<SPACE, SCALAR>);                          \
  PREFIX template void squared_relu_backward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,          \
                                                            ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>); \
  PREFIX template void residual_add_forward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,           \
                                                           ConstMatrix<SPACE, SCALAR>, ConstMatrix<SPACE, SCALAR>); \
  PREFIX template void residual_add_backward<SPACE, SCALAR>(const SPACE&, const Matrix<SPACE, SCALAR>&,          \
                                                            const Matrix<SPACE, SCALAR>&, ConstMatrix<SPACE, SCALAR>);

#define RWKV_ACTIVATIONS_EXTERN(SPACE, SCALAR) RWKV_ACTIVATIONS_INSTANTIATE(extern, SPACE, SCALAR)
RWKV_FOR_EACH_SPACE_AND_SCALAR(RWKV_ACTIVATIONS_EXTERN)
#undef RWKV_ACTIVATIONS_EXTERN

}  // namespace rwkv
