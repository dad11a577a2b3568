// Data-parallel training: each rank (process) trains its slice of every step's batch, the ranks'
// gradients are averaged in place, and every rank applies the same optimizer step. A
// GradientReducer is how a training run reaches the other ranks; the library links no MPI, so a
// program implements it over its own transport (rwkv-train over MPI: examples/ranks.hpp).
// SingleProcess is the one-rank run.
#pragma once

#include <rwkv/core/hash.hpp>

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace rwkv {

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool root() const { return rank() == 0; }

  // Sums host memory over the ranks, in place.
  virtual void sum_in_place(std::span<float> values) = 0;
  virtual void sum_in_place(std::span<double> values) = 0;
  // The same for memory the host cannot address (a GPU's), after every kernel writing it has
  // finished; false where this reducer cannot reach it, and the caller sums a host copy instead.
  virtual bool sum_in_place_on_device(std::span<float>) { return false; }
  virtual bool sum_in_place_on_device(std::span<double>) { return false; }
  virtual double sum(double value) = 0;
  // Whether every rank holds the same value (the same answer on every rank).
  virtual bool all_equal(std::uint64_t value) = 0;
};

class SingleProcess final : public GradientReducer {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum_in_place(std::span<float>) override {}
  void sum_in_place(std::span<double>) override {}
  double sum(double value) override { return value; }
  bool all_equal(std::uint64_t) override { return true; }
};

// Replaces every rank's `grads` (a flat vector of `space`'s memory) by their mean over the ranks:
// summed on the device where the reducer can, else through `staging`, its host mirror (the
// gradients themselves where the space's memory is the host's).
template <class ExecSpace, class GradView>
void average_gradients(GradientReducer& reducer, const ExecSpace& space, const GradView& grads,
                       const typename GradView::host_mirror_type& staging) {
  using Scalar = typename GradView::non_const_value_type;
  constexpr bool host_memory =
      Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename GradView::memory_space>::accessible;
  space.fence();
  if (host_memory || !reducer.sum_in_place_on_device(std::span<Scalar>(grads.data(), grads.size()))) {
    Kokkos::deep_copy(staging, grads);
    reducer.sum_in_place(std::span<Scalar>(staging.data(), staging.size()));
    Kokkos::deep_copy(grads, staging);
  }
  const Scalar scale = Scalar(1) / Scalar(reducer.size());
  Kokkos::parallel_for(
      "rwkv::average_gradients", Kokkos::RangePolicy<ExecSpace>(space, 0, grads.size()),
      KOKKOS_LAMBDA(std::size_t i) { grads(i) *= scale; });
  space.fence();
}

// FNV-1a of the bytes of a flat weight vector: ranks that applied the same steps hold the same bits.
template <class WeightView>
std::uint64_t weights_checksum(const WeightView& weights) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), weights);
  return fnv1a64(std::as_bytes(std::span(host.data(), host.size())));
}

}  // namespace rwkv
