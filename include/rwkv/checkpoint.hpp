// HDF5 checkpoints. One dataset per tensor, named by the reference state_dict name
// ("blocks.0.att.key.weight", shape [rows] or [rows, cols]), in the model's scalar type; the
// config as root attributes (arch, n_layer, n_embd, dim_ffn, vocab_size). h5py users and
// converters need no renaming table. Saves are atomic: a temporary file, then rename.
#pragma once

#include <rwkv/config.hpp>
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

}  // namespace rwkv
