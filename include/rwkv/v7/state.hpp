// The RNN-mode state of an RWKV-7 model for S independent sequences ("slots"), per layer
// (RWKV-VERSIONS.md 1.3): the time mix's token-shift input att_x_prev (ln1 output of the last
// token) and the channel mix's ffn_x_prev (ln2 output), each [S, C] in Scalar, in one view
// [L, 2, S, C]; and the WKV-7 state [S, H, N, N] (kernels/wkv7.hpp: fp32, double for double), in a
// second view [L, S, H, N, N]. A fresh slot is all zeros.
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/wkv7.hpp>
#include <rwkv/state_part.hpp>

#include <Kokkos_Core.hpp>

#include <tuple>
#include <vector>

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
  // The two views whole, slots on axis 2 of shifts() and axis 1 of wkv_states().
  const Shifts& shifts() const { return shifts_; }
  const WkvStates& wkv_states() const { return wkv_; }
  // What a state file stores: datasets "shifts" and "wkv".
  std::tuple<StatePart<Shifts>, StatePart<WkvStates>> file_parts() const {
    return {StatePart<Shifts>{"shifts", shifts_, 2}, StatePart<WkvStates>{"wkv", wkv_, 1}};
  }

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

// The state of slot `slot` as a sentence embedding (rwkv-embed): per layer and head, the WKV state
// read with a uniform key, (1/N) sum_j S[i][j] for each value row i (what the state returns for a
// query that favours no key), layer after layer [L * C].
template <class ExecSpace, class Scalar>
std::vector<float> state_embedding(const RnnState7<ExecSpace, Scalar>& state, int slot) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), state.wkv_states());
  const int L = state.layers(), H = int(host.extent(2)), N = state.head_size();
  std::vector<float> v(std::size_t(L) * std::size_t(H) * std::size_t(N));
  std::size_t out = 0;
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < N; ++i) {
        double sum = 0;
        for (int j = 0; j < N; ++j) sum += double(host(l, slot, h, i, j));
        v[out++] = float(sum / N);
      }
  return v;
}

}  // namespace rwkv
