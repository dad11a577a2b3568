// HDF5 checkpoints. One dataset per tensor, named by the reference state_dict name
// ("blocks.0.att.key.weight", shape [rows] or [rows, cols]), in the model's scalar type; the
// config as root attributes (arch, n_layer, n_embd, dim_ffn, vocab_size). h5py users and
// converters need no renaming table. Saves are atomic: a temporary file, then rename.
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/rnn_state.hpp>
#include <rwkv/weights_v4.hpp>

#include <Kokkos_Core.hpp>

#include <string>
#include <vector>

namespace rwkv {

// Every failure throws std::runtime_error naming the file and the field.
template <class Scalar>
void save_weights(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                  const Scalar* host_flat);
ModelConfig read_config(const std::string& path);
// Reads every tensor of `specs` (converting to Scalar); shapes must match.
template <class Scalar>
void load_weights(const std::string& path, const std::vector<TensorSpec>& specs, Scalar* host_flat);

template <class Model>
void save_model(const std::string& path, Model& model) {
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.weights().flat);
  save_weights(path, model.config(), model.specs(), host.data());
}

template <class Model>
void load_model(const std::string& path, Model& model) {
  auto host = Kokkos::create_mirror_view(Kokkos::HostSpace(), model.weights().flat);
  load_weights(path, model.specs(), host.data());
  Kokkos::deep_copy(model.weights().flat, host);
}

// One float32 dataset [rows, cols] in a new HDF5 file, atomically (programs' outputs: logits,
// embeddings).
void save_float_matrix(const std::string& path, const std::string& dataset, std::size_t rows, std::size_t cols,
                       const float* values);

// RNN states (rwkv-generate --state-in / --state-out): one dataset "state" [L, 5, S, C] in
// RnnState's layout, stored as float64 (a state is small, and a float or double state round-trips
// exactly), with the model's config as attributes, checked against the model on load. Atomic.
void save_state_data(const std::string& path, const ModelConfig& config, int slots, const double* host);
// Returns the values; `slots` receives S.
std::vector<double> load_state_data(const std::string& path, const ModelConfig& config, int& slots);

template <class ExecSpace, class Scalar>
void save_state(const std::string& path, const ModelConfig& config, const RnnState<ExecSpace, Scalar>& state) {
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), state.data());
  std::vector<double> values(host.data(), host.data() + host.size());
  save_state_data(path, config, state.slots(), values.data());
}

template <class ExecSpace, class Scalar>
RnnState<ExecSpace, Scalar> load_state(const std::string& path, const ModelConfig& config,
                                       const ExecSpace& space = ExecSpace()) {
  int slots = 0;
  const std::vector<double> values = load_state_data(path, config, slots);
  RnnState<ExecSpace, Scalar> state(config, slots, space);
  const auto host = Kokkos::create_mirror_view(state.data());
  for (std::size_t i = 0; i < values.size(); ++i) host.data()[i] = Scalar(values[i]);
  Kokkos::deep_copy(space, state.data(), host);
  space.fence();
  return state;
}

}  // namespace rwkv
