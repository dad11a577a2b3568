// HDF5 checkpoints, laid out as docs/FORMAT.md describes: one dataset per tensor named by the
// reference state_dict name ("blocks.0.att.key.weight"), stored as float32, float64, float16 or
// bfloat16 with Fletcher-32 checksums; the config as root attributes; a training checkpoint adds
// group /train (AdamW moments, step, schedule, seed, data position). Saves are atomic and durable
// (temporary file, flush, fsync, rename, fsync of the directory).
#pragma once

#include <rwkv/config.hpp>
#include <rwkv/optimizer.hpp>
#include <rwkv/tensor_spec.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace rwkv {

inline constexpr int checkpoint_format_version = 2;

// How weights are stored in a file; the loader converts any of them to the model's scalar.
enum class WeightDtype { float32, float64, float16, bfloat16 };
const char* dtype_name(WeightDtype dtype);
// "float32", "float64", "float16" or "bfloat16"; anything else throws std::invalid_argument.
WeightDtype parse_weight_dtype(const std::string& name);
std::size_t dtype_bytes(WeightDtype dtype);
template <class Scalar>
inline constexpr WeightDtype native_dtype = std::is_same_v<Scalar, double> ? WeightDtype::float64 : WeightDtype::float32;

// Every failure throws std::runtime_error naming the file and the field.
template <class Scalar>
void save_weights(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                  const Scalar* host_flat, WeightDtype dtype = native_dtype<Scalar>);
// The config attributes, checked against each other and against the format version and arch.
ModelConfig read_config(const std::string& path);
// Reads every tensor of `specs` (converting to Scalar) after checking the file's config equals
// `config`; names, shapes and types must match.
template <class Scalar>
void load_weights(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                  Scalar* host_flat);

template <class Model>
void save_model(const std::string& path, Model& model, WeightDtype dtype = native_dtype<typename Model::scalar_type>) {
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.weights().flat);
  save_weights(path, model.config(), model.specs(), host.data(), dtype);
}

template <class Model>
void load_model(const std::string& path, Model& model) {
  auto host = Kokkos::create_mirror_view(Kokkos::HostSpace(), model.weights().flat);
  load_weights(path, model.config(), model.specs(), host.data());
  Kokkos::deep_copy(model.weights().flat, host);
}

// Where a training run stands: with the weights and the AdamW moments, all a resumed run needs to
// continue exactly (docs/FORMAT.md, group /train).
struct TrainingState {
  long step = 0;  // optimizer steps done
  std::uint64_t seed = 0;
  int ctx_len = 0, micro_batch = 0;
  double lr = 0;  // of the last step done
  OptimizerConfig optimizer;
  double l2wrap = 0, val_fraction = 0;
  std::string data_source;
  long data_tokens = 0;  // tokens of a token file; images of an image data set
  std::uint64_t data_hash = 0;
  // "text" (a token file) or "txt2img" (an image data set, whose sample options follow).
  std::string task = "text";
  int caption_bytes = 0;
  std::string rounding;  // "random" (RandRound) or "nearest"
  bool soft_targets = false;
  double text_first_ratio = 0;

  long samples_seen() const { return step * micro_batch; }  // the data sampler's position
  long tokens_seen() const { return samples_seen() * ctx_len; }
};

// FNV-1a (64 bit) of tokens, each as 2 little-endian bytes: recognizes the data a run trained on.
std::uint64_t token_hash(const std::uint16_t* tokens, std::size_t count);

// A model file plus /train. With a dtype narrower than Scalar, the exact weights go to
// /train/master as well.
template <class Scalar>
void save_training_checkpoint(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                              const Scalar* weights, const Scalar* exp_avg, const Scalar* exp_avg_sq,
                              const TrainingState& state, WeightDtype dtype = native_dtype<Scalar>);
bool has_training_state(const std::string& path);
// Throws naming the file when it holds no /train group or a field of it is missing or inconsistent.
TrainingState read_training_state(const std::string& path);
// The exact weights (from /train/master when present) and the moments; config as load_weights.
template <class Scalar>
void load_training_tensors(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                           Scalar* weights, Scalar* exp_avg, Scalar* exp_avg_sq);

template <class Model, class Optimizer>
void save_training(const std::string& path, Model& model, Optimizer& optimizer, const TrainingState& state,
                   WeightDtype dtype = native_dtype<typename Model::scalar_type>) {
  const auto host = [](const auto& view) { return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), view); };
  const auto weights = host(model.weights().flat);
  const auto m = host(optimizer.first_moment());
  const auto v = host(optimizer.second_moment());
  save_training_checkpoint(path, model.config(), model.specs(), weights.data(), m.data(), v.data(), state, dtype);
}

template <class Model, class Optimizer>
void load_training(const std::string& path, Model& model, Optimizer& optimizer) {
  auto weights = Kokkos::create_mirror_view(Kokkos::HostSpace(), model.weights().flat);
  auto m = Kokkos::create_mirror_view(Kokkos::HostSpace(), optimizer.first_moment());
  auto v = Kokkos::create_mirror_view(Kokkos::HostSpace(), optimizer.second_moment());
  load_training_tensors(path, model.config(), model.specs(), weights.data(), m.data(), v.data());
  Kokkos::deep_copy(model.weights().flat, weights);
  Kokkos::deep_copy(optimizer.first_moment(), m);
  Kokkos::deep_copy(optimizer.second_moment(), v);
}

// Makes `to` an atomic, durable copy of the complete file `from` (a hard link where the file
// system allows, else a copy): `to` is always either its old or its new complete content.
void publish_copy(const std::string& from, const std::string& to);

// What rwkv-info prints. Building it checks names, shapes and types without reading the data.
struct CheckpointInfo {
  ModelConfig config;
  int format_version = 1;
  std::string arch, library;
  std::string weight_dtype;  // of the weight datasets, or "mixed"
  long ctx_len = 0;          // 0: not recorded
  std::size_t tensors = 0, parameters = 0, weight_bytes = 0;
  std::uintmax_t file_bytes = 0;
  std::vector<std::string> other_datasets;  // at the root, not weights
  std::optional<TrainingState> training;
};
CheckpointInfo inspect_checkpoint(const std::string& path);
// Reads every dataset of the file, so HDF5 verifies every checksum; throws naming the first
// dataset that fails.
struct VerifyReport {
  std::size_t datasets = 0;     // read
  std::size_t checksummed = 0;  // of them, with a Fletcher-32 checksum (a converter's may have none)
};
VerifyReport verify_checkpoint(const std::string& path);

// One float32 dataset [rows, cols] in a new HDF5 file, atomically (programs' outputs: logits,
// embeddings).
void save_float_matrix(const std::string& path, const std::string& dataset, std::size_t rows, std::size_t cols,
                       const float* values);

// RNN states (rwkv-generate --state-in / --state-out): one dataset per part of the model's State
// (its file_parts(): RWKV-4 one "state", RWKV-7 "shifts" and "wkv"), each in the layout of that
// part's view with the slots along its slot axis, stored as float64 (a state is small, and a float
// or double state round-trips exactly), with the model's config as attributes, checked against the
// model on load. Atomic.
struct StateDataset {
  std::string name;
  std::vector<std::size_t> shape;
  const double* values = nullptr;
};
void save_state_data(const std::string& path, const ModelConfig& config, const std::vector<StateDataset>& datasets);
inline void save_state_data(const std::string& path, const ModelConfig& config, const std::vector<std::size_t>& shape,
                            const double* host) {
  save_state_data(path, config, {StateDataset{"state", shape, host}});
}
// Dataset `dataset` of the file. `shape`: the part's shape, any extent on `slot_axis`; receives the
// file's. Returns the values.
std::vector<double> load_state_data(const std::string& path, const ModelConfig& config, std::vector<std::size_t>& shape,
                                    int slot_axis, const std::string& dataset = "state");

template <class Data>
std::vector<std::size_t> shape_of(const Data& data) {
  std::vector<std::size_t> shape;
  for (std::size_t i = 0; i < Data::rank; ++i) shape.push_back(data.extent(i));
  return shape;
}

template <class Model>
void save_state(const std::string& path, const Model& model, const typename Model::State& state) {
  std::vector<std::vector<double>> values;
  std::vector<StateDataset> datasets;
  std::apply(
      [&](const auto&... part) {
        ((values.emplace_back(), datasets.push_back({part.name, shape_of(part.view), nullptr})), ...);
        std::size_t i = 0;
        ((void)[&] {
          const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part.view);
          values[i].assign(host.data(), host.data() + host.size());
          datasets[i].values = values[i].data();
          ++i;
        }(), ...);
      },
      state.file_parts());
  save_state_data(path, model.config(), datasets);
}

template <class Model>
typename Model::State load_state(const std::string& path, const Model& model) {
  using State = typename Model::State;
  // Every part holds the same slots; the first part's count sizes the state.
  std::vector<std::vector<double>> values;
  int slots = -1;
  std::apply(
      [&](const auto&... part) {
        ((void)[&] {
          std::vector<std::size_t> shape = shape_of(part.view);
          values.push_back(load_state_data(path, model.config(), shape, part.slot_axis, part.name));
          const int found = int(shape[std::size_t(part.slot_axis)]);
          if (slots >= 0 && found != slots)
            throw std::runtime_error(path + ": dataset '" + part.name + "' holds " + std::to_string(found) +
                                     " slots, the state's other parts " + std::to_string(slots));
          slots = found;
        }(), ...);
      },
      model.new_state(1).file_parts());
  const State state = model.new_state(slots);
  std::apply(
      [&](const auto&... part) {
        std::size_t i = 0;
        ((void)[&] {
          const auto host = Kokkos::create_mirror_view(part.view);
          for (std::size_t e = 0; e < values[i].size(); ++e)
            host.data()[e] = typename std::decay_t<decltype(host)>::value_type(values[i][e]);
          Kokkos::deep_copy(model.space(), part.view, host);
          ++i;
        }(), ...);
      },
      state.file_parts());
  model.space().fence();
  return state;
}

}  // namespace rwkv
