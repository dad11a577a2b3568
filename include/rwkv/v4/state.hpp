// The RNN-mode state of an RWKV-4 model for S independent sequences ("slots"): per layer the
// attention's token-shift input (att_shift: ln1 output of the last token), the WKV state (aa, bb,
// pp: kernels/wkv.hpp) and the channel mix's token-shift input (ffn_shift), each [S, C]. All of
// it lives in one view [L, 5, S, C], which the HDF5 state files store as it is (checkpoint.hpp).
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/core/views.hpp>
#include <rwkv/kernels/wkv.hpp>
#include <rwkv/state_part.hpp>

#include <Kokkos_Core.hpp>

#include <tuple>
#include <vector>

namespace rwkv {

template <class ExecSpace, class Scalar>
class RnnState {
 public:
  // The five parts of a layer, in storage order.
  enum Part : int { att_shift_part = 0, aa_part = 1, bb_part = 2, pp_part = 3, ffn_shift_part = 4 };
  static constexpr int parts = 5;
  static constexpr int slot_axis = 2;  // of data()
  using Data = Kokkos::View<Scalar****, Kokkos::LayoutRight, typename ExecSpace::memory_space>;

  RnnState() = default;
  // A fresh state (every slot empty).
  RnnState(const ModelConfig& config, int slots, const ExecSpace& space = ExecSpace())
      : data_("rnn_state", config.n_layer, parts, slots, config.n_embd) {
    reset(space);
  }

  int layers() const { return int(data_.extent(0)); }
  int slots() const { return int(data_.extent(2)); }
  int n_embd() const { return int(data_.extent(3)); }
  const Data& data() const { return data_; }
  // What a state file stores: the one view, as dataset "state".
  std::tuple<StatePart<Data>> file_parts() const { return {StatePart<Data>{"state", data_, slot_axis}}; }

  Matrix<ExecSpace, Scalar> part(int layer, Part p) const {
    return Kokkos::subview(data_, layer, int(p), Kokkos::ALL, Kokkos::ALL);
  }
  Matrix<ExecSpace, Scalar> att_shift(int layer) const { return part(layer, att_shift_part); }
  Matrix<ExecSpace, Scalar> ffn_shift(int layer) const { return part(layer, ffn_shift_part); }
  WkvState<ExecSpace, Scalar> wkv(int layer) const {
    WkvState<ExecSpace, Scalar> s;
    s.aa = part(layer, aa_part);
    s.bb = part(layer, bb_part);
    s.pp = part(layer, pp_part);
    return s;
  }

  // Slot `to` of this state becomes slot `from_slot` of `from` (which may be this state).
  void copy_slot(const ExecSpace& space, int to, const RnnState& from, int from_slot) const {
    const auto slot = [](const Data& data, int s) { return Kokkos::subview(data, Kokkos::ALL, Kokkos::ALL, s, Kokkos::ALL); };
    Kokkos::deep_copy(space, slot(data_, to), slot(from.data_, from_slot));
  }

  // Empties slot `slot` (all slots when slot < 0): zero shifts, the empty WKV state.
  void reset(const ExecSpace& space, int slot = -1) const {
    const auto d = data_;
    const int first = slot < 0 ? 0 : slot, count = slot < 0 ? slots() : 1;
    const int L = layers(), C = n_embd();
    const Scalar empty = Scalar(wkv_empty_exponent);
    Kokkos::parallel_for(
        "rwkv::RnnState::reset", Kokkos::RangePolicy<ExecSpace>(space, 0, L * parts * count), KOKKOS_LAMBDA(int i) {
          const int l = i / (parts * count), p = (i / count) % parts, s = first + i % count;
          const Scalar value = p == pp_part ? empty : Scalar(0);
          for (int c = 0; c < C; ++c) d(l, p, s, c) = value;
        });
  }

 private:
  Data data_;
};

// The state of slot `slot` as a sentence embedding (rwkv-embed): per layer the WKV state's weighted
// mean of the values, aa / bb (scale-free, unlike aa and bb alone), layer after layer [L * C].
template <class ExecSpace, class Scalar>
std::vector<float> state_embedding(const RnnState<ExecSpace, Scalar>& state, int slot) {
  using S = RnnState<ExecSpace, Scalar>;
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), state.data());
  const int L = state.layers(), C = state.n_embd();
  std::vector<float> v(std::size_t(L) * std::size_t(C));
  for (int l = 0; l < L; ++l)
    for (int c = 0; c < C; ++c)
      v[std::size_t(l) * std::size_t(C) + std::size_t(c)] = float(host(l, S::aa_part, slot, c) / host(l, S::bb_part, slot, c));
  return v;
}

}  // namespace rwkv
