// View types shared by kernels and blocks: LayoutRight (row-major, like the PyTorch state_dict)
// in the memory space of the execution space that computes on them.
#pragma once

#include <Kokkos_Core.hpp>

#include <type_traits>

namespace rwkv {

template <class ExecSpace, class Scalar>
using Vector = Kokkos::View<Scalar*, Kokkos::LayoutRight, typename ExecSpace::memory_space>;

template <class ExecSpace, class Scalar>
using Matrix = Kokkos::View<Scalar**, Kokkos::LayoutRight, typename ExecSpace::memory_space>;

template <class ExecSpace, class Scalar>
using Tensor3 = Kokkos::View<Scalar***, Kokkos::LayoutRight, typename ExecSpace::memory_space>;

// Read-only inputs. type_identity_t makes these parameters non-deduced, so a kernel taking one
// accepts a View<Scalar**> and converts it to View<const Scalar**> implicitly.
template <class ExecSpace, class Scalar>
using ConstVector = std::type_identity_t<Kokkos::View<const Scalar*, Kokkos::LayoutRight, typename ExecSpace::memory_space>>;

template <class ExecSpace, class Scalar>
using ConstMatrix = std::type_identity_t<Kokkos::View<const Scalar**, Kokkos::LayoutRight, typename ExecSpace::memory_space>>;

}  // namespace rwkv
