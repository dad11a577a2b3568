// The RNN-mode state of an RWKV-7 model for S independent sequences ("slots"), per layer
// (RWKV-VERSIONS.md 1.3): the time mix's token-shift input att_x_prev (ln1 output of the last
// token) and the channel mix's ffn_x_prev (ln2 output), each [S, C] in Scalar, in one view
// [L, 2, S, C]; and the WKV-7 state [S, H, N, N] (kernels/wkv7.hpp: fp32, double for double), in a
// second view [L, S, H, N, N]. A fresh slot is all zeros.
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/wkv7.hpp>

#include <Kokkos_Core.hpp>

namespace rwkv {

template <class ExecSpace, class Scalar>
class RnnState7 {
 public:
  enum ShiftPart : int { att_shift_part = 0, ffn_shift_part = 1 };
  using Shifts = Kokkos::View<Scalar****, Kokkos::LayoutRight, typename ExecSpace::memory_space>;
  using WkvStates = Kokkos::View<wkv7_state_t<Scalar>*****, Kokkos::LayoutRight, typename ExecSpace::memory_space>;

  RnnState7() = default;
  // A fresh state (every slot empty).
  RnnState7(const ModelConfig& config, int slots, const ExecSpace& space = ExecSpace())
      : shifts_("rnn_state7.shifts", config.n_layer, 2, slots, config.n_embd),
        wkv_("rnn_state7.wkv", config.n_layer, slots, config.n_embd / config.head_size, config.head_size,
             config.head_size) {
    reset(space);
  }

  int layers() const { return int(shifts_.extent(0)); }
  int slots() const { return int(shifts_.extent(2)); }
  int n_embd() const { return int(shifts_.extent(3)); }
  int head_size() const { return int(wkv_.extent(3)); }
  // The two views whole, slots on axis 2 of shifts() and axis 1 of wkv_states() (what state files
  // will store; the RWKV-4 state's one data() view cannot hold both element types).
  const Shifts& shifts() const { return shifts_; }
  const WkvStates& wkv_states() const { return wkv_; }

  Matrix<ExecSpace, Scalar> att_shift(int layer) const {
    return Kokkos::subview(shifts_, layer, int(att_shift_part), Kokkos::ALL, Kokkos::ALL);
  }
  Matrix<ExecSpace, Scalar> ffn_shift(int layer) const {
    return Kokkos::subview(shifts_, layer, int(ffn_shift_part), Kokkos::ALL, Kokkos::ALL);
  }
  Wkv7State<ExecSpace, Scalar> wkv(int layer) const {
    return Kokkos::subview(wkv_, layer, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL);
  }

  // Slot `to` of this state becomes slot `from_slot` of `from` (which may be this state).
  void copy_slot(const ExecSpace& space, int to, const RnnState7& from, int from_slot) const {
    Kokkos::deep_copy(space, Kokkos::subview(shifts_, Kokkos::ALL, Kokkos::ALL, to, Kokkos::ALL),
                      Kokkos::subview(from.shifts_, Kokkos::ALL, Kokkos::ALL, from_slot, Kokkos::ALL));
    Kokkos::deep_copy(space, Kokkos::subview(wkv_, Kokkos::ALL, to, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(from.wkv_, Kokkos::ALL, from_slot, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL));
  }

  // Empties slot `slot` (all slots when slot < 0).
  void reset(const ExecSpace& space, int slot = -1) const {
    if (slot < 0) {
      Kokkos::deep_copy(space, shifts_, Scalar(0));
      Kokkos::deep_copy(space, wkv_, wkv7_state_t<Scalar>(0));
      return;
    }
    const auto shifts = shifts_;
    const auto wkv = wkv_;
    const int C = n_embd(), H = int(wkv_.extent(2)), N = head_size();
    Kokkos::parallel_for(
        "rwkv::RnnState7::reset", Kokkos::RangePolicy<ExecSpace>(space, 0, layers()), KOKKOS_LAMBDA(int l) {
          for (int c = 0; c < C; ++c) shifts(l, int(att_shift_part), slot, c) = shifts(l, int(ffn_shift_part), slot, c) = 0;
          for (int h = 0; h < H; ++h)
            for (int i = 0; i < N; ++i)
              for (int j = 0; j < N; ++j) wkv(l, slot, h, i, j) = 0;
        });
  }

 private:
  Shifts shifts_;
  WkvStates wkv_;
};

}  // namespace rwkv
