#include <rwkv/checkpoint.hpp>

#include <rwkv/arch.hpp>
#include <rwkv/core/half_float.hpp>
#include <rwkv/core/hash.hpp>
#include <rwkv/core/hdf5_support.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>

#ifndef RWKV_VERSION_STRING
#define RWKV_VERSION_STRING "unknown"
#endif

namespace rwkv {

using hdf5::fail;
using hdf5::FloatKind;
using hdf5::Handle;

const char* dtype_name(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::float32: return "float32";
    case WeightDtype::float64: return "float64";
    case WeightDtype::float16: return "float16";
    case WeightDtype::bfloat16: return "bfloat16";
  }
  return "?";
}

WeightDtype parse_weight_dtype(const std::string& name) {
  for (WeightDtype d : {WeightDtype::float32, WeightDtype::float64, WeightDtype::float16, WeightDtype::bfloat16})
    if (name == dtype_name(d)) return d;
  throw std::invalid_argument("unknown weight dtype '" + name + "' (float32, float64, float16 or bfloat16)");
}

std::size_t dtype_bytes(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::float64: return 8;
    case WeightDtype::float32: return 4;
    default: return 2;
  }
}

std::uint64_t token_hash(const std::uint16_t* tokens, std::size_t count) {
  std::uint64_t hash = fnv1a64_offset_basis;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t bytes[2] = {std::uint8_t(tokens[i] & 0xff), std::uint8_t(tokens[i] >> 8)};  // little-endian
    hash = fnv1a64(std::as_bytes(std::span(bytes)), hash);
  }
  return hash;
}

namespace {

template <class Scalar>
hid_t native_type() {
  return std::is_same_v<Scalar, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
}

FloatKind kind_of(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::float32: return FloatKind::float32;
    case WeightDtype::float64: return FloatKind::float64;
    case WeightDtype::float16: return FloatKind::float16;
    case WeightDtype::bfloat16: return FloatKind::bfloat16;
  }
  return FloatKind::other;
}

std::vector<hsize_t> dims_of(const TensorSpec& s) {
  if (s.is_matrix()) return {hsize_t(s.rows), hsize_t(s.cols)};
  return {hsize_t(s.rows)};
}

template <class Scalar>
void write_tensor(hid_t location, const std::string& path, const TensorSpec& s, const Scalar* values, WeightDtype dtype) {
  const std::size_t n = s.size();
  if (dtype == WeightDtype::float16 || dtype == WeightDtype::bfloat16) {
    std::vector<std::uint16_t> bits(n);
    for (std::size_t i = 0; i < n; ++i)
      bits[i] = dtype == WeightDtype::float16 ? Float16::encode(values[i]) : BFloat16::encode(values[i]);
    const Handle type = dtype == WeightDtype::float16 ? hdf5::float16_type() : hdf5::bfloat16_type();
    hdf5::write_dataset(location, path, s.name, dims_of(s), type.id(), type.id(), bits.data());
  } else if (dtype == WeightDtype::float32) {
    const std::vector<float> single(values, values + n);  // rounds a double to nearest, ties to even
    hdf5::write_dataset(location, path, s.name, dims_of(s), H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, single.data());
  } else {
    const std::vector<double> wide(values, values + n);
    hdf5::write_dataset(location, path, s.name, dims_of(s), H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, wide.data());
  }
}

// Reads dataset `name` (full path) of tensor s into values; its type must be one of the four weight
// types, and `required` when given.
template <class Scalar>
void read_tensor(hid_t file, const std::string& path, const std::string& name, const TensorSpec& s, Scalar* values,
                 std::optional<FloatKind> required = std::nullopt) {
  const Handle set = hdf5::open_dataset(file, path, name, dims_of(s));
  const Handle type{H5Dget_type(set.id()), H5Tclose};
  const FloatKind kind = hdf5::float_kind(type.id());
  if (kind == FloatKind::other)
    fail(path, "dataset '" + name + "' is of type " + hdf5::describe_type(type.id()) +
                   ", expected float32, float64, float16 or bfloat16");
  if (required && kind != *required)
    fail(path, "dataset '" + name + "' is " + hdf5::kind_name(kind) + ", but the file says " + hdf5::kind_name(*required));
  hdf5::check_float_dataset(set.id(), path, name);
  if (kind == FloatKind::float16 || kind == FloatKind::bfloat16) {
    std::vector<std::uint16_t> bits(s.size());
    hdf5::read_dataset(set.id(), path, name, type.id(), bits.data());
    for (std::size_t i = 0; i < bits.size(); ++i)
      values[i] = Scalar(kind == FloatKind::float16 ? Float16::decode(bits[i]) : BFloat16::decode(bits[i]));
  } else {
    hdf5::read_dataset(set.id(), path, name, native_type<Scalar>(), values);
  }
}

// The shapes of versions with heads beyond the shared four (docs/FORMAT.md): integer attributes, all
// required.
std::vector<std::pair<const char*, int*>> head_shape_fields(ModelConfig& c) {
  return {{"head_size", &c.head_size}, {"rank_w", &c.rank_w}, {"rank_a", &c.rank_a}, {"rank_v", &c.rank_v},
          {"rank_g", &c.rank_g}};
}

void read_head_shapes(hid_t file, const std::string& path, ModelConfig& c) {
  for (const auto& [name, field] : head_shape_fields(c)) {
    const long value = hdf5::read_int(file, path, "", name);
    if (value < 0 || value > (1l << 30))
      fail(path, std::string("attribute '") + name + "' is " + std::to_string(value) + ", outside 0..2^30");
    *field = int(value);
  }
  const long layer0 = hdf5::read_int(file, path, "", "layer0_value_lora");
  if (layer0 != 0 && layer0 != 1)
    fail(path, "attribute 'layer0_value_lora' is " + std::to_string(layer0) + ", expected 0 or 1");
  c.layer0_value_lora = layer0 == 1;
  if (hdf5::has_attribute(file, "ln_x_eps")) {
    c.ln_x_eps = hdf5::read_double(file, path, "", "ln_x_eps");
    if (!(c.ln_x_eps > 0) || !std::isfinite(c.ln_x_eps))
      fail(path, "attribute 'ln_x_eps' is " + std::to_string(c.ln_x_eps) + ", expected a positive finite number");
  }
}

void write_head_shapes(hid_t file, const std::string& path, ModelConfig c) {
  for (const auto& [name, field] : head_shape_fields(c)) hdf5::write_int(file, path, name, *field);
  hdf5::write_int(file, path, "layer0_value_lora", c.layer0_value_lora ? 1 : 0);
  hdf5::write_double(file, path, "ln_x_eps", c.ln_x_eps);
}

// The root attributes of docs/FORMAT.md, checked against each other.
struct FileHeader {
  ModelConfig config;
  int format_version = 1;
  std::string arch, library;
  std::optional<FloatKind> weight_kind;
  long ctx_len = 0;
};

FileHeader read_header(hid_t file, const std::string& path) {
  FileHeader h;
  if (!hdf5::has_attribute(file, "n_layer") && !hdf5::has_attribute(file, "arch"))
    fail(path, "missing attribute 'n_layer': an HDF5 file, but not an RWKV checkpoint (see docs/FORMAT.md)");
  if (hdf5::has_attribute(file, "format_version")) {
    const long version = hdf5::read_int(file, path, "", "format_version");
    if (version < 1 || version > checkpoint_format_version)
      fail(path, "attribute 'format_version' is " + std::to_string(version) + "; this build reads versions 1 to " +
                     std::to_string(checkpoint_format_version));
    h.format_version = int(version);
  }
  h.arch = hdf5::has_attribute(file, "arch") ? hdf5::read_string(file, path, "", "arch") : default_arch;
  try {
    h.config.arch = arch_name(h.arch);
  } catch (const std::invalid_argument& e) {
    fail(path, std::string("attribute 'arch': ") + e.what());
  }
  if (hdf5::has_attribute(file, "library")) h.library = hdf5::read_string(file, path, "", "library");
  if (hdf5::has_attribute(file, "weight_dtype")) {
    const std::string name = hdf5::read_string(file, path, "", "weight_dtype");
    try {
      h.weight_kind = kind_of(parse_weight_dtype(name));
    } catch (const std::invalid_argument& e) {
      fail(path, std::string("attribute 'weight_dtype': ") + e.what());
    }
  }
  if (hdf5::has_attribute(file, "ctx_len")) h.ctx_len = hdf5::read_int(file, path, "", "ctx_len");
  const std::pair<const char*, int*> sizes[] = {{"n_layer", &h.config.n_layer},
                                                {"n_embd", &h.config.n_embd},
                                                {"dim_ffn", &h.config.dim_ffn},
                                                {"vocab_size", &h.config.vocab_size}};
  for (const auto& [name, field] : sizes) {
    const long value = hdf5::read_int(file, path, "", name);
    if (value <= 0 || value > (1l << 30))
      fail(path, std::string("attribute '") + name + "' is " + std::to_string(value) + ", outside 1..2^30");
    *field = int(value);
  }
  if (hdf5::has_attribute(file, "image_positions")) {
    const long value = hdf5::read_int(file, path, "", "image_positions");
    if (value != 0 && value != 1)
      fail(path, "attribute 'image_positions' is " + std::to_string(value) + ", expected 0 or 1");
    h.config.image_positions = value == 1;
  }
  if (has_head_shapes(h.config)) read_head_shapes(file, path, h.config);
  // Each size may be in range while together they describe no model (too few channels for the
  // image positions, the layer and parameter limits).
  try {
    validate(h.config);
    tensor_specs(h.config);
  } catch (const std::invalid_argument& e) {
    fail(path, e.what());
  }
  return h;
}

void check_same_config(const std::string& path, const ModelConfig& file, const ModelConfig& model) {
  if (file.arch != model.arch)
    fail(path, "attribute 'arch' is '" + file.arch + "', the model is " + (model.arch.empty() ? "unnamed" : model.arch));
  const std::tuple<const char*, int, int> sizes[] = {{"n_layer", file.n_layer, model.n_layer},
                                                     {"n_embd", file.n_embd, model.n_embd},
                                                     {"dim_ffn", file.ffn(), model.ffn()},
                                                     {"vocab_size", file.vocab_size, model.vocab_size}};
  for (const auto& [name, in_file, in_model] : sizes)
    if (in_file != in_model)
      fail(path, std::string("attribute '") + name + "' is " + std::to_string(in_file) + ", the model has " +
                     std::to_string(in_model));
  if (file.image_positions != model.image_positions)
    fail(path, std::string("attribute 'image_positions' is ") + (file.image_positions ? "1" : "0 or absent") +
                   ", the model has " + (model.image_positions ? "1" : "0"));
  if (!has_head_shapes(model)) return;
  ModelConfig in_file = file, in_model = model;
  const auto file_fields = head_shape_fields(in_file), model_fields = head_shape_fields(in_model);
  for (std::size_t i = 0; i < file_fields.size(); ++i)
    if (*file_fields[i].second != *model_fields[i].second)
      fail(path, std::string("attribute '") + file_fields[i].first + "' is " + std::to_string(*file_fields[i].second) +
                     ", the model has " + std::to_string(*model_fields[i].second));
  if (file.layer0_value_lora != model.layer0_value_lora)
    fail(path, std::string("attribute 'layer0_value_lora' is ") + (file.layer0_value_lora ? "1" : "0") +
                   ", the model has " + (model.layer0_value_lora ? "1" : "0"));
  if (file.ln_x_eps != model.ln_x_eps)
    fail(path, "attribute 'ln_x_eps' is " + std::to_string(file.ln_x_eps) + ", the model has " +
                   std::to_string(model.ln_x_eps));
}

// Every file names the version of its model.
void write_arch(hid_t file, const std::string& path, const ModelConfig& config) {
  if (config.arch.empty()) fail(path, "the model config names no arch (a model's config() does)");
  hdf5::write_string(file, path, "arch", config.arch);
}

template <class Scalar>
void write_model(hid_t file, const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                 const Scalar* weights, WeightDtype dtype, long ctx_len) {
  write_arch(file, path, config);
  hdf5::write_int(file, path, "n_layer", config.n_layer);
  hdf5::write_int(file, path, "n_embd", config.n_embd);
  hdf5::write_int(file, path, "dim_ffn", config.ffn());
  hdf5::write_int(file, path, "vocab_size", config.vocab_size);
  hdf5::write_int(file, path, "image_positions", config.image_positions ? 1 : 0);
  if (has_head_shapes(config)) write_head_shapes(file, path, config);
  hdf5::write_int(file, path, "format_version", checkpoint_format_version);
  hdf5::write_string(file, path, "library", std::string("rwkv-kokkos ") + RWKV_VERSION_STRING);
  hdf5::write_string(file, path, "weight_dtype", dtype_name(dtype));
  if (ctx_len > 0) hdf5::write_int(file, path, "ctx_len", ctx_len);
  for (const TensorSpec& s : specs) write_tensor(file, path, s, weights + s.offset, dtype);
}

// Opens path and checks its header against the model's config.
Handle open_model_file(const std::string& path, const ModelConfig& config, FileHeader& header) {
  Handle file = hdf5::open_for_reading(path);
  header = read_header(file.id(), path);
  check_same_config(path, header.config, config);
  return file;
}

Handle create_group(hid_t location, const std::string& path, const char* name) {
  Handle group{H5Gcreate2(location, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
  if (!group.valid()) fail(path, std::string("cannot create group '") + name + "'");
  return group;
}

}  // namespace

template <class Scalar>
void save_weights(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                  const Scalar* host_flat, WeightDtype dtype) {
  hdf5::write_atomically(path, [&](hid_t file, const std::string& tmp) {
    write_model(file, tmp, config, specs, host_flat, dtype, 0);
  });
}

ModelConfig read_config(const std::string& path) {
  const Handle file = hdf5::open_for_reading(path);
  return read_header(file.id(), path).config;
}

template <class Scalar>
void load_weights(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                  Scalar* host_flat) {
  FileHeader header;
  const Handle file = open_model_file(path, config, header);
  for (const TensorSpec& s : specs) read_tensor(file.id(), path, s.name, s, host_flat + s.offset, header.weight_kind);
}

template <class Scalar>
void save_training_checkpoint(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                              const Scalar* weights, const Scalar* exp_avg, const Scalar* exp_avg_sq,
                              const TrainingState& state, WeightDtype dtype) {
  hdf5::write_atomically(path, [&](hid_t file, const std::string& tmp) {
    write_model(file, tmp, config, specs, weights, dtype, state.ctx_len);
    const Handle train = create_group(file, tmp, "train");
    const hid_t g = train.id();
    const OptimizerConfig& o = state.optimizer;
    hdf5::write_int(g, tmp, "step", state.step);
    hdf5::write_int(g, tmp, "samples_seen", state.samples_seen());
    hdf5::write_int(g, tmp, "tokens_seen", state.tokens_seen());
    hdf5::write_uint64(g, tmp, "seed", state.seed);
    hdf5::write_int(g, tmp, "ctx_len", state.ctx_len);
    hdf5::write_int(g, tmp, "micro_batch", state.micro_batch);
    hdf5::write_double(g, tmp, "lr", state.lr);
    hdf5::write_double(g, tmp, "lr_init", o.lr_init);
    hdf5::write_double(g, tmp, "lr_final", o.lr_final);
    hdf5::write_int(g, tmp, "warmup_steps", o.warmup_steps);
    hdf5::write_int(g, tmp, "total_steps", o.total_steps);
    hdf5::write_double(g, tmp, "beta1", o.beta1);
    hdf5::write_double(g, tmp, "beta2", o.beta2);
    hdf5::write_double(g, tmp, "adam_eps", o.eps);
    hdf5::write_double(g, tmp, "weight_decay", o.weight_decay);
    hdf5::write_double(g, tmp, "grad_clip", o.grad_clip);
    hdf5::write_int(g, tmp, "layerwise_lr", o.layerwise_lr ? 1 : 0);
    hdf5::write_double(g, tmp, "l2wrap", state.l2wrap);
    hdf5::write_double(g, tmp, "val_fraction", state.val_fraction);
    hdf5::write_string(g, tmp, "data_source", state.data_source);
    hdf5::write_int(g, tmp, "data_tokens", state.data_tokens);
    hdf5::write_uint64(g, tmp, "data_hash", state.data_hash);
    hdf5::write_string(g, tmp, "task", state.task);
    if (state.task == "txt2img") {
      hdf5::write_int(g, tmp, "caption_bytes", state.caption_bytes);
      hdf5::write_string(g, tmp, "rounding", state.rounding);
      hdf5::write_int(g, tmp, "soft_targets", state.soft_targets ? 1 : 0);
      hdf5::write_double(g, tmp, "text_first_ratio", state.text_first_ratio);
    }
    const auto write_group = [&](const char* name, const Scalar* flat) {
      const Handle group = create_group(g, tmp, name);
      for (const TensorSpec& s : specs) write_tensor(group.id(), tmp, s, flat + s.offset, native_dtype<Scalar>);
    };
    write_group("exp_avg", exp_avg);
    write_group("exp_avg_sq", exp_avg_sq);
    if (dtype_bytes(dtype) < sizeof(Scalar)) write_group("master", weights);  // the root weights are rounded
  });
}

bool has_training_state(const std::string& path) {
  const Handle file = hdf5::open_for_reading(path);
  return H5Lexists(file.id(), "train", H5P_DEFAULT) > 0;
}

TrainingState read_training_state(const std::string& path) {
  const Handle file = hdf5::open_for_reading(path);
  if (H5Lexists(file.id(), "train", H5P_DEFAULT) <= 0)
    fail(path, "no group 'train': a model file without training state, not a training checkpoint");
  const Handle train{H5Gopen2(file.id(), "train", H5P_DEFAULT), H5Gclose};
  if (!train.valid()) fail(path, "cannot open group 'train'");
  const hid_t g = train.id();
  const std::string w = "train/";
  TrainingState s;
  OptimizerConfig& o = s.optimizer;
  s.step = hdf5::read_int(g, path, w, "step");
  s.seed = hdf5::read_uint64(g, path, w, "seed");
  s.ctx_len = int(hdf5::read_int(g, path, w, "ctx_len"));
  s.micro_batch = int(hdf5::read_int(g, path, w, "micro_batch"));
  s.lr = hdf5::read_double(g, path, w, "lr");
  o.lr_init = hdf5::read_double(g, path, w, "lr_init");
  o.lr_final = hdf5::read_double(g, path, w, "lr_final");
  o.warmup_steps = hdf5::read_int(g, path, w, "warmup_steps");
  o.total_steps = hdf5::read_int(g, path, w, "total_steps");
  o.beta1 = hdf5::read_double(g, path, w, "beta1");
  o.beta2 = hdf5::read_double(g, path, w, "beta2");
  o.eps = hdf5::read_double(g, path, w, "adam_eps");
  o.weight_decay = hdf5::read_double(g, path, w, "weight_decay");
  o.grad_clip = hdf5::read_double(g, path, w, "grad_clip");
  o.layerwise_lr = hdf5::read_int(g, path, w, "layerwise_lr") != 0;
  s.l2wrap = hdf5::read_double(g, path, w, "l2wrap");
  s.val_fraction = hdf5::read_double(g, path, w, "val_fraction");
  s.data_source = hdf5::read_string(g, path, w, "data_source");
  s.data_tokens = hdf5::read_int(g, path, w, "data_tokens");
  s.data_hash = hdf5::read_uint64(g, path, w, "data_hash");
  // Files from before the txt2img task have no 'task': they trained on token files.
  if (hdf5::has_attribute(g, "task")) s.task = hdf5::read_string(g, path, w, "task");
  if (s.task == "txt2img") {
    s.caption_bytes = int(hdf5::read_int(g, path, w, "caption_bytes"));
    s.rounding = hdf5::read_string(g, path, w, "rounding");
    s.soft_targets = hdf5::read_int(g, path, w, "soft_targets") != 0;
    s.text_first_ratio = hdf5::read_double(g, path, w, "text_first_ratio");
    if (s.caption_bytes < 1 || (s.rounding != "random" && s.rounding != "nearest") || !(s.text_first_ratio >= 0) ||
        s.text_first_ratio > 1)
      fail(path, "the txt2img attributes of 'train' are out of range: caption_bytes " + std::to_string(s.caption_bytes) +
                     ", rounding '" + s.rounding + "', text_first_ratio " + std::to_string(s.text_first_ratio));
  } else if (s.task != "text") {
    fail(path, "attribute 'train/task' is '" + s.task + "', not 'text' or 'txt2img'");
  }
  if (s.ctx_len <= 0 || s.micro_batch <= 0)
    fail(path, "attributes 'train/ctx_len' and 'train/micro_batch' must be positive, they are " +
                   std::to_string(s.ctx_len) + " and " + std::to_string(s.micro_batch));
  if (s.step < 0 || s.step > o.total_steps)
    fail(path, "attribute 'train/step' is " + std::to_string(s.step) + ", outside 0.." + std::to_string(o.total_steps) +
                   " (train/total_steps)");
  const long samples = hdf5::read_int(g, path, w, "samples_seen");
  const long tokens = hdf5::read_int(g, path, w, "tokens_seen");
  if (samples != s.samples_seen() || tokens != s.tokens_seen())
    fail(path, "attributes 'train/samples_seen' (" + std::to_string(samples) + ") and 'train/tokens_seen' (" +
                   std::to_string(tokens) + ") contradict step x micro_batch x ctx_len");
  return s;
}

template <class Scalar>
void load_training_tensors(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                           Scalar* weights, Scalar* exp_avg, Scalar* exp_avg_sq) {
  FileHeader header;
  const Handle file = open_model_file(path, config, header);
  if (H5Lexists(file.id(), "train", H5P_DEFAULT) <= 0)
    fail(path, "no group 'train': a model file without training state, not a training checkpoint");
  const bool master = H5Lexists(file.id(), "train/master", H5P_DEFAULT) > 0;
  for (const TensorSpec& s : specs) {
    if (master)
      read_tensor(file.id(), path, "train/master/" + s.name, s, weights + s.offset);
    else
      read_tensor(file.id(), path, s.name, s, weights + s.offset, header.weight_kind);
    read_tensor(file.id(), path, "train/exp_avg/" + s.name, s, exp_avg + s.offset);
    read_tensor(file.id(), path, "train/exp_avg_sq/" + s.name, s, exp_avg_sq + s.offset);
  }
}

CheckpointInfo inspect_checkpoint(const std::string& path) {
  const Handle file = hdf5::open_for_reading(path);
  const FileHeader header = read_header(file.id(), path);
  CheckpointInfo info;
  info.config = header.config;
  info.format_version = header.format_version;
  info.arch = header.arch;
  info.library = header.library;
  info.ctx_len = header.ctx_len;
  info.file_bytes = std::filesystem::file_size(path);
  const std::vector<TensorSpec> specs = tensor_specs(header.config);
  info.tensors = specs.size();
  info.parameters = parameter_count(specs);
  const auto check = [&](const std::string& name, const TensorSpec& s, std::optional<FloatKind> required) {
    const Handle set = hdf5::open_dataset(file.id(), path, name, dims_of(s));
    const Handle type{H5Dget_type(set.id()), H5Tclose};
    const FloatKind kind = hdf5::float_kind(type.id());
    if (kind == FloatKind::other || (required && kind != *required))
      fail(path, "dataset '" + name + "' is of type " + hdf5::describe_type(type.id()) + ", expected " +
                     (required ? hdf5::kind_name(*required) : "float32, float64, float16 or bfloat16"));
    return std::pair{kind, H5Tget_size(type.id())};
  };
  for (const TensorSpec& s : specs) {
    const auto [kind, bytes] = check(s.name, s, header.weight_kind);
    const std::string name = hdf5::kind_name(kind);
    if (info.weight_dtype.empty()) info.weight_dtype = name;
    if (info.weight_dtype != name) info.weight_dtype = "mixed";
    info.weight_bytes += s.size() * bytes;
  }
  if (H5Lexists(file.id(), "train", H5P_DEFAULT) > 0) {
    info.training = read_training_state(path);
    const bool master = H5Lexists(file.id(), "train/master", H5P_DEFAULT) > 0;
    for (const TensorSpec& s : specs)
      for (const char* group : {"exp_avg/", "exp_avg_sq/", "master/"})
        if (master || std::string(group) != "master/") check("train/" + std::string(group) + s.name, s, std::nullopt);
  }
  for (const std::string& name : hdf5::dataset_names(file.id(), path)) {
    bool known = name.rfind("train/", 0) == 0;
    for (const TensorSpec& s : specs) known = known || s.name == name;
    if (!known) info.other_datasets.push_back(name);
  }
  return info;
}

VerifyReport verify_checkpoint(const std::string& path) {
  inspect_checkpoint(path);
  const Handle file = hdf5::open_for_reading(path);
  const std::vector<std::string> names = hdf5::dataset_names(file.id(), path);
  VerifyReport report;
  for (const std::string& name : names) {
    const Handle set{H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT), H5Dclose};
    const Handle type{H5Dget_type(set.id()), H5Tclose};
    const Handle space{H5Dget_space(set.id()), H5Sclose};
    if (!set.valid() || !type.valid() || !space.valid()) fail(path, "cannot open dataset '" + name + "'");
    std::vector<unsigned char> buffer(std::size_t(H5Sget_simple_extent_npoints(space.id())) * H5Tget_size(type.id()));
    hdf5::read_dataset(set.id(), path, name, type.id(), buffer.data());
    if (H5Tdetect_class(type.id(), H5T_VLEN) > 0 || H5Tis_variable_str(type.id()) > 0)
      H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, buffer.data());
    const Handle properties{H5Dget_create_plist(set.id()), H5Pclose};
    unsigned flags = 0;
    std::size_t values = 0;
    report.checksummed +=
        H5Pget_filter_by_id2(properties.id(), H5Z_FILTER_FLETCHER32, &flags, &values, nullptr, 0, nullptr, nullptr) >= 0;
    ++report.datasets;
  }
  return report;
}

void publish_copy(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".tmp";
  std::error_code ignored;
  std::filesystem::remove(tmp, ignored);
  if (::link(from.c_str(), tmp.c_str()) != 0) {
    std::error_code error;
    std::filesystem::copy_file(from, tmp, error);
    if (error) fail(tmp, "cannot copy " + from + ": " + error.message());
    hdf5::fsync_path(tmp, O_RDONLY);
  }
  hdf5::durable_rename(tmp, to);
}

void save_float_matrix(const std::string& path, const std::string& dataset, std::size_t rows, std::size_t cols,
                       const float* values) {
  hdf5::write_atomically(path, [&](hid_t file, const std::string& tmp) {
    hdf5::write_dataset(file, tmp, dataset, {rows, cols}, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, values);
  });
}

namespace {
// "[2, 5, slots, 16]": a state shape with its slot axis named.
std::string describe_state_shape(const std::vector<std::size_t>& shape, int slot_axis) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + (int(i) == slot_axis ? std::string("slots") : std::to_string(shape[i]));
  return text + "]";
}
}  // namespace

void save_state_data(const std::string& path, const ModelConfig& config, const std::vector<StateDataset>& datasets) {
  hdf5::write_atomically(path, [&](hid_t file, const std::string& tmp) {
    write_arch(file, tmp, config);
    hdf5::write_string(file, tmp, "content", "rnn_state");
    hdf5::write_int(file, tmp, "n_layer", config.n_layer);
    hdf5::write_int(file, tmp, "n_embd", config.n_embd);
    hdf5::write_int(file, tmp, "vocab_size", config.vocab_size);
    for (const StateDataset& d : datasets) {
      const std::vector<hsize_t> dims(d.shape.begin(), d.shape.end());
      hdf5::write_dataset(file, tmp, d.name, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d.values);
    }
  });
}

std::vector<double> load_state_data(const std::string& path, const ModelConfig& config, std::vector<std::size_t>& shape,
                                    int slot_axis, const std::string& dataset) {
  const Handle file = hdf5::open_for_reading(path);
  const std::string arch = hdf5::has_attribute(file.id(), "arch") ? hdf5::read_string(file.id(), path, "", "arch") : "";
  if (arch != config.arch)
    fail(path, "attribute 'arch' is '" + arch + "', the model is " + config.arch + " (a state of another model)");
  const std::pair<const char*, int> expected[] = {
      {"n_layer", config.n_layer}, {"n_embd", config.n_embd}, {"vocab_size", config.vocab_size}};
  for (const auto& [name, value] : expected) {
    const long found = hdf5::read_int(file.id(), path, "", name);
    if (found != value)
      fail(path, std::string("attribute '") + name + "' is " + std::to_string(found) + ", the model has " +
                     std::to_string(value) + " (a state of another model)");
  }
  const char* name = dataset.c_str();
  if (H5Lexists(file.id(), name, H5P_DEFAULT) <= 0) fail(path, "missing dataset '" + dataset + "'");
  const Handle set{H5Dopen2(file.id(), name, H5P_DEFAULT), H5Dclose};
  const Handle space{H5Dget_space(set.id()), H5Sclose};
  std::vector<hsize_t> dims(shape.size());
  bool same = H5Sget_simple_extent_ndims(space.id()) == int(shape.size()) &&
              H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr) >= 0;
  for (std::size_t i = 0; same && i < shape.size(); ++i)
    same = int(i) == slot_axis ? dims[i] >= 1 : dims[i] == shape[i];
  if (!same) fail(path, "dataset '" + dataset + "' is not " + describe_state_shape(shape, slot_axis));
  // The values are allocated from the shape, which is only a claim: the file must hold them first.
  hsize_t slot_bytes = sizeof(double);
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (int(i) != slot_axis) slot_bytes *= dims[i];
  const hsize_t slots = dims[std::size_t(slot_axis)];
  hsize_t file_size = 0;
  if (slots > hsize_t(std::numeric_limits<int>::max()) || H5Fget_filesize(file.id(), &file_size) < 0 ||
      slots > file_size / slot_bytes) {
    std::string claimed = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) claimed += (i ? ", " : "") + std::to_string(dims[i]);
    fail(path, "dataset '" + dataset + "' of shape " + claimed + "] is not stored in full (truncated or corrupt)");
  }
  hdf5::check_float_dataset(set.id(), path, dataset);
  shape[std::size_t(slot_axis)] = std::size_t(slots);
  std::vector<double> values(std::size_t(slots * (slot_bytes / sizeof(double))));
  hdf5::read_dataset(set.id(), path, dataset, H5T_NATIVE_DOUBLE, values.data());
  return values;
}

#define RWKV_CHECKPOINT_DEFINE(SCALAR)                                                                                 \
  template void save_weights<SCALAR>(const std::string&, const ModelConfig&, const std::vector<TensorSpec>&,          \
                                     const SCALAR*, WeightDtype);                                                      \
  template void load_weights<SCALAR>(const std::string&, const ModelConfig&, const std::vector<TensorSpec>&, SCALAR*); \
  template void save_training_checkpoint<SCALAR>(const std::string&, const ModelConfig&,                              \
                                                 const std::vector<TensorSpec>&, const SCALAR*, const SCALAR*,        \
                                                 const SCALAR*, const TrainingState&, WeightDtype);                    \
  template void load_training_tensors<SCALAR>(const std::string&, const ModelConfig&, const std::vector<TensorSpec>&,  \
                                              SCALAR*, SCALAR*, SCALAR*);
RWKV_CHECKPOINT_DEFINE(float)
RWKV_CHECKPOINT_DEFINE(double)
#undef RWKV_CHECKPOINT_DEFINE

}  // namespace rwkv
