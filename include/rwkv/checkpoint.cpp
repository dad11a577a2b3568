#include <rwkv/checkpoint.hpp>

#include <hdf5.h>

#include <cstdio>
#include <limits>
#include <utility>
#include <stdexcept>
#include <type_traits>

namespace rwkv {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

// Closes an HDF5 handle on scope exit.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void write_int_attribute(hid_t file, const std::string& path, const char* name, long value) {
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle attr{H5Acreate2(file, name, H5T_STD_I64LE, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  if (attr.id < 0 || H5Awrite(attr.id, H5T_NATIVE_LONG, &value) < 0) fail(path, std::string("cannot write attribute ") + name);
}

void write_string_attribute(hid_t file, const std::string& path, const char* name, const std::string& value) {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, value.size());
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle attr{H5Acreate2(file, name, type.id, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  if (attr.id < 0 || H5Awrite(attr.id, type.id, value.data()) < 0) fail(path, std::string("cannot write attribute ") + name);
}

long read_int_attribute(hid_t file, const std::string& path, const char* name) {
  if (H5Aexists(file, name) <= 0) fail(path, std::string("missing attribute '") + name + "'");
  Handle attr{H5Aopen(file, name, H5P_DEFAULT), H5Aclose};
  if (attr.id < 0) fail(path, std::string("cannot open attribute '") + name + "'");
  // H5Aread writes every element: one long has room for one integer.
  Handle space{H5Aget_space(attr.id), H5Sclose};
  Handle type{H5Aget_type(attr.id), H5Tclose};
  if (space.id < 0 || H5Sget_simple_extent_npoints(space.id) != 1 || type.id < 0 || H5Tget_class(type.id) != H5T_INTEGER)
    fail(path, std::string("attribute '") + name + "' is not one integer");
  long value = 0;
  if (H5Aread(attr.id, H5T_NATIVE_LONG, &value) < 0) fail(path, std::string("cannot read attribute '") + name + "'");
  return value;
}

// A config size: checked to fit an int before it becomes one.
int read_size_attribute(hid_t file, const std::string& path, const char* name) {
  const long value = read_int_attribute(file, path, name);
  if (value < 0 || value > std::numeric_limits<int>::max())
    fail(path, std::string("attribute '") + name + "' is " + std::to_string(value) + ", out of range");
  return int(value);
}

// What HDF5 1.10 takes on trust before reading a dataset (both found by fuzz/): it sizes its
// conversion buffers by the stored type, which a corrupt file can claim to be gigabytes, so only
// floats of at most 8 bytes are read; and it copies a contiguous or compact dataset by its
// recorded size (a compact one of size 0 made it read a null buffer), so that must be exact.
void check_stored_floats(hid_t set, const std::string& path, const std::string& name, hsize_t elements) {
  Handle type{H5Dget_type(set), H5Tclose};
  if (type.id < 0 || H5Tget_class(type.id) != H5T_FLOAT || H5Tget_size(type.id) > 8)
    fail(path, "dataset '" + name + "' is not stored as a float of at most 8 bytes");
  Handle plist{H5Dget_create_plist(set), H5Pclose};
  const H5D_layout_t layout = plist.id < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(plist.id);
  if (layout == H5D_LAYOUT_ERROR ||
      ((layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) && H5Dget_storage_size(set) != elements * H5Tget_size(type.id)))
    fail(path, "dataset '" + name + "' is not stored in full (truncated or corrupt)");
}

template <class Scalar>
hid_t native_type() {
  return std::is_same_v<Scalar, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
}
template <class Scalar>
hid_t file_type() {
  return std::is_same_v<Scalar, double> ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
}

}  // namespace

template <class Scalar>
void save_weights(const std::string& path, const ModelConfig& config, const std::vector<TensorSpec>& specs,
                  const Scalar* host_flat) {
  silence_hdf5_errors();
  const std::string tmp = path + ".tmp";
  {
    Handle file{H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    if (file.id < 0) fail(tmp, "cannot create file");
    write_string_attribute(file.id, tmp, "arch", v4::name);
    write_int_attribute(file.id, tmp, "n_layer", config.n_layer);
    write_int_attribute(file.id, tmp, "n_embd", config.n_embd);
    write_int_attribute(file.id, tmp, "dim_ffn", config.ffn());
    write_int_attribute(file.id, tmp, "vocab_size", config.vocab_size);
    for (const TensorSpec& s : specs) {
      hsize_t dims[2] = {hsize_t(s.rows), hsize_t(s.cols)};
      Handle space{H5Screate_simple(s.is_matrix() ? 2 : 1, dims, nullptr), H5Sclose};
      Handle set{H5Dcreate2(file.id, s.name.c_str(), file_type<Scalar>(), space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose};
      if (set.id < 0 || H5Dwrite(set.id, native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, host_flat + s.offset) < 0)
        fail(tmp, "cannot write dataset '" + s.name + "'");
    }
    if (H5Fflush(file.id, H5F_SCOPE_GLOBAL) < 0) fail(tmp, "cannot flush");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path, "cannot rename " + tmp + " into place");
}

ModelConfig read_config(const std::string& path) {
  silence_hdf5_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file (missing, truncated or of another format)");
  Handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (file.id < 0) fail(path, "cannot open");
  ModelConfig c;
  c.n_layer = read_size_attribute(file.id, path, "n_layer");
  c.n_embd = read_size_attribute(file.id, path, "n_embd");
  c.dim_ffn = read_size_attribute(file.id, path, "dim_ffn");
  c.vocab_size = read_size_attribute(file.id, path, "vocab_size");
  try {
    validate(c);
  } catch (const std::exception& e) {
    fail(path, e.what());
  }
  return c;
}

template <class Scalar>
void load_weights(const std::string& path, const std::vector<TensorSpec>& specs, Scalar* host_flat) {
  silence_hdf5_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file (missing, truncated or of another format)");
  Handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (file.id < 0) fail(path, "cannot open");
  for (const TensorSpec& s : specs) {
    if (H5Lexists(file.id, s.name.c_str(), H5P_DEFAULT) <= 0) fail(path, "missing dataset '" + s.name + "'");
    Handle set{H5Dopen2(file.id, s.name.c_str(), H5P_DEFAULT), H5Dclose};
    Handle space{H5Dget_space(set.id), H5Sclose};
    hsize_t dims[2] = {0, 0};
    const int rank = H5Sget_simple_extent_ndims(space.id);
    if (rank != (s.is_matrix() ? 2 : 1) || H5Sget_simple_extent_dims(space.id, dims, nullptr) < 0 ||
        dims[0] != hsize_t(s.rows) || (s.is_matrix() && dims[1] != hsize_t(s.cols)))
      fail(path, "dataset '" + s.name + "' has shape [" + std::to_string(dims[0]) + (rank == 2 ? ", " + std::to_string(dims[1]) : "") +
                     "], expected [" + std::to_string(s.rows) + (s.is_matrix() ? ", " + std::to_string(s.cols) : "") + "]");
    check_stored_floats(set.id, path, s.name, s.size());
    if (H5Dread(set.id, native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, host_flat + s.offset) < 0)
      fail(path, "cannot read dataset '" + s.name + "' (corrupt or not a float type)");
  }
}

void save_float_matrix(const std::string& path, const std::string& dataset, std::size_t rows, std::size_t cols,
                       const float* values) {
  silence_hdf5_errors();
  const std::string tmp = path + ".tmp";
  {
    Handle file{H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    if (file.id < 0) fail(tmp, "cannot create file");
    hsize_t dims[2] = {rows, cols};
    Handle space{H5Screate_simple(2, dims, nullptr), H5Sclose};
    Handle set{H5Dcreate2(file.id, dataset.c_str(), H5T_IEEE_F32LE, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               H5Dclose};
    if (set.id < 0 || H5Dwrite(set.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0)
      fail(tmp, "cannot write dataset '" + dataset + "'");
    if (H5Fflush(file.id, H5F_SCOPE_GLOBAL) < 0) fail(tmp, "cannot flush");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path, "cannot rename " + tmp + " into place");
}

void save_state_data(const std::string& path, const ModelConfig& config, int slots, const double* host) {
  silence_hdf5_errors();
  const std::string tmp = path + ".tmp";
  {
    Handle file{H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    if (file.id < 0) fail(tmp, "cannot create file");
    write_string_attribute(file.id, tmp, "arch", v4::name);
    write_string_attribute(file.id, tmp, "content", "rnn_state");
    write_int_attribute(file.id, tmp, "n_layer", config.n_layer);
    write_int_attribute(file.id, tmp, "n_embd", config.n_embd);
    write_int_attribute(file.id, tmp, "vocab_size", config.vocab_size);
    hsize_t dims[4] = {hsize_t(config.n_layer), 5, hsize_t(slots), hsize_t(config.n_embd)};
    Handle space{H5Screate_simple(4, dims, nullptr), H5Sclose};
    Handle set{H5Dcreate2(file.id, "state", H5T_IEEE_F64LE, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
    if (set.id < 0 || H5Dwrite(set.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, host) < 0)
      fail(tmp, "cannot write dataset 'state'");
    if (H5Fflush(file.id, H5F_SCOPE_GLOBAL) < 0) fail(tmp, "cannot flush");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path, "cannot rename " + tmp + " into place");
}

std::vector<double> load_state_data(const std::string& path, const ModelConfig& config, int& slots) {
  silence_hdf5_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file (missing, truncated or of another format)");
  Handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (file.id < 0) fail(path, "cannot open");
  const std::pair<const char*, int> expected[] = {
      {"n_layer", config.n_layer}, {"n_embd", config.n_embd}, {"vocab_size", config.vocab_size}};
  for (const auto& [name, value] : expected) {
    const long found = read_int_attribute(file.id, path, name);
    if (found != value)
      fail(path, std::string("attribute '") + name + "' is " + std::to_string(found) + ", the model has " +
                     std::to_string(value) + " (a state of another model)");
  }
  if (H5Lexists(file.id, "state", H5P_DEFAULT) <= 0) fail(path, "missing dataset 'state'");
  Handle set{H5Dopen2(file.id, "state", H5P_DEFAULT), H5Dclose};
  Handle space{H5Dget_space(set.id), H5Sclose};
  hsize_t dims[4] = {0, 0, 0, 0};
  if (H5Sget_simple_extent_ndims(space.id) != 4 || H5Sget_simple_extent_dims(space.id, dims, nullptr) < 0 ||
      dims[0] != hsize_t(config.n_layer) || dims[1] != 5 || dims[2] < 1 || dims[3] != hsize_t(config.n_embd))
    fail(path, "dataset 'state' is not [" + std::to_string(config.n_layer) + ", 5, slots, " +
                   std::to_string(config.n_embd) + "]");
  // The values are allocated from the shape, which is only a claim: the file must hold them first
  // (the state is stored uncompressed). slot_bytes is the model's, a valid config's size.
  const hsize_t slot_bytes = dims[0] * dims[1] * dims[3] * sizeof(double);
  hsize_t file_size = 0;
  if (dims[2] > hsize_t(std::numeric_limits<int>::max()) || H5Fget_filesize(file.id, &file_size) < 0 ||
      dims[2] > file_size / slot_bytes || H5Dget_storage_size(set.id) < dims[2] * slot_bytes)
    fail(path, "dataset 'state' of shape [" + std::to_string(dims[0]) + ", 5, " + std::to_string(dims[2]) + ", " +
                   std::to_string(dims[3]) + "] is not stored in full (truncated or corrupt)");
  check_stored_floats(set.id, path, "state", dims[0] * dims[1] * dims[2] * dims[3]);
  slots = int(dims[2]);
  std::vector<double> values(std::size_t(dims[0]) * dims[1] * dims[2] * dims[3]);
  if (H5Dread(set.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(path, "cannot read dataset 'state' (corrupt or not a float type)");
  return values;
}

template void save_weights<float>(const std::string&, const ModelConfig&, const std::vector<TensorSpec>&, const float*);
template void save_weights<double>(const std::string&, const ModelConfig&, const std::vector<TensorSpec>&, const double*);
template void load_weights<float>(const std::string&, const std::vector<TensorSpec>&, float*);
template void load_weights<double>(const std::string&, const std::vector<TensorSpec>&, double*);

}  // namespace rwkv
