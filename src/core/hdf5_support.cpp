#include <rwkv/core/hdf5_support.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace rwkv::hdf5 {

void fail(const std::string& path, const std::string& what) { throw std::runtime_error(path + ": " + what); }

std::string last_error() {
  std::string message;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
        auto& text = *static_cast<std::string*>(data);
        if (text.empty() && error->desc) text = error->desc;
        return 0;
      },
      &message);
  return message;
}

namespace {
std::string with_reason(const std::string& what) {
  const std::string reason = last_error();
  return reason.empty() ? what : what + " (HDF5: " + reason + ")";
}
}  // namespace

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) fail(path, "cannot open to fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail(path, "cannot fsync");
}

void durable_rename(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) fail(to, "cannot rename " + from + " into place");
  std::string directory = std::filesystem::path(to).parent_path().string();
  if (directory.empty()) directory = ".";
  fsync_path(directory, O_RDONLY | O_DIRECTORY);
}

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle open_for_reading(const std::string& path) {
  silence_errors();
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) fail(path, "not an HDF5 file");
  Handle file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (!file.valid()) fail(path, with_reason("cannot open"));
  return file;
}

void write_atomically(const std::string& path, const std::function<void(hid_t, const std::string&)>& write) {
  silence_errors();
  const std::string tmp = path + ".tmp";
  try {
    {
      Handle file{H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
      if (!file.valid()) fail(tmp, with_reason("cannot create file"));
      write(file.id(), tmp);
      if (H5Fflush(file.id(), H5F_SCOPE_GLOBAL) < 0) fail(tmp, with_reason("cannot flush"));
    }
    fsync_path(tmp, O_RDONLY);
    durable_rename(tmp, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);  // path keeps its previous content
    throw;
  }
}

bool has_attribute(hid_t object, const char* name) { return H5Aexists(object, name) > 0; }

namespace {
// Opens attribute `name`, which must exist and be of class `wanted`.
Handle open_attribute(hid_t object, const std::string& path, const std::string& where, const char* name,
                      H5T_class_t wanted, const char* wanted_text) {
  const std::string field = "attribute '" + where + name + "'";
  if (!has_attribute(object, name)) fail(path, "missing " + field);
  Handle attribute{H5Aopen(object, name, H5P_DEFAULT), H5Aclose};
  if (!attribute.valid()) fail(path, with_reason("cannot open " + field));
  Handle type{H5Aget_type(attribute.id()), H5Tclose};
  Handle space{H5Aget_space(attribute.id()), H5Sclose};
  if (H5Tget_class(type.id()) != wanted || H5Sget_simple_extent_npoints(space.id()) != 1)
    fail(path, field + " is not a single " + wanted_text);
  return attribute;
}

void write_attribute(hid_t object, const std::string& path, const char* name, hid_t file_type, hid_t memory_type,
                     const void* value) {
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle attribute{H5Acreate2(object, name, file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  if (!attribute.valid() || H5Awrite(attribute.id(), memory_type, value) < 0)
    fail(path, with_reason(std::string("cannot write attribute '") + name + "'"));
}

// Reads attribute `name`, a single value of class `wanted`, converted to memory_type (Value's).
template <class Value>
Value read_number(hid_t object, const std::string& path, const std::string& where, const char* name,
                  H5T_class_t wanted, const char* wanted_text, hid_t memory_type) {
  Handle attribute = open_attribute(object, path, where, name, wanted, wanted_text);
  Value value = 0;
  if (H5Aread(attribute.id(), memory_type, &value) < 0)
    fail(path, with_reason("cannot read attribute '" + where + name + "'"));
  return value;
}
}  // namespace

long read_int(hid_t object, const std::string& path, const std::string& where, const char* name) {
  return read_number<long>(object, path, where, name, H5T_INTEGER, "integer", H5T_NATIVE_LONG);
}

std::uint64_t read_uint64(hid_t object, const std::string& path, const std::string& where, const char* name) {
  return read_number<std::uint64_t>(object, path, where, name, H5T_INTEGER, "integer", H5T_NATIVE_UINT64);
}

double read_double(hid_t object, const std::string& path, const std::string& where, const char* name) {
  return read_number<double>(object, path, where, name, H5T_FLOAT, "float", H5T_NATIVE_DOUBLE);
}

std::string read_string(hid_t object, const std::string& path, const std::string& where, const char* name) {
  Handle attribute = open_attribute(object, path, where, name, H5T_STRING, "string");
  Handle type{H5Aget_type(attribute.id()), H5Tclose};
  const std::string field = "attribute '" + where + name + "'";
  if (H5Tis_variable_str(type.id()) > 0) {  // h5py's str attributes
    Handle memory{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(memory.id(), H5T_VARIABLE);
    H5Tset_cset(memory.id(), H5Tget_cset(type.id()));
    char* text = nullptr;
    if (H5Aread(attribute.id(), memory.id(), &text) < 0) fail(path, with_reason("cannot read " + field));
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  const std::size_t size = H5Tget_size(type.id());
  if (size > max_string_bytes)
    fail(path, field + " is a string of " + std::to_string(size) + " bytes, more than the limit of " +
                   std::to_string(max_string_bytes));
  std::string value(size, '\0');
  if (H5Aread(attribute.id(), type.id(), value.data()) < 0) fail(path, with_reason("cannot read " + field));
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

void write_int(hid_t object, const std::string& path, const char* name, long value) {
  write_attribute(object, path, name, H5T_STD_I64LE, H5T_NATIVE_LONG, &value);
}

void write_uint64(hid_t object, const std::string& path, const char* name, std::uint64_t value) {
  write_attribute(object, path, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

void write_double(hid_t object, const std::string& path, const char* name, double value) {
  write_attribute(object, path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

// Variable-length UTF-8, as h5py writes a str (and reads back as str, not bytes).
void write_string(hid_t object, const std::string& path, const char* name, const std::string& value) {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  const char* text = value.c_str();
  write_attribute(object, path, name, type.id(), type.id(), &text);
}

namespace {
// A little-endian 2-byte float: sign bit 15, `exponent_bits` above `mantissa_bits`.
Handle two_byte_float(std::size_t exponent_bits, std::size_t mantissa_bits, std::size_t bias) {
  Handle type{H5Tcopy(H5T_IEEE_F32LE), H5Tclose};
  H5Tset_fields(type.id(), 15, mantissa_bits, exponent_bits, 0, mantissa_bits);
  H5Tset_offset(type.id(), 0);
  H5Tset_precision(type.id(), 16);
  H5Tset_size(type.id(), 2);
  H5Tset_ebias(type.id(), bias);
  return type;
}
}  // namespace

Handle float16_type() { return two_byte_float(5, 10, 15); }
Handle bfloat16_type() { return two_byte_float(8, 7, 127); }

FloatKind float_kind(hid_t type) {
  if (H5Tget_class(type) != H5T_FLOAT) return FloatKind::other;
  const std::size_t size = H5Tget_size(type);
  if (size == 4) return FloatKind::float32;
  if (size == 8) return FloatKind::float64;
  if (size != 2 || H5Tget_order(type) != H5T_ORDER_LE || H5Tget_offset(type) != 0 || H5Tget_precision(type) != 16)
    return FloatKind::other;
  std::size_t sign = 0, exponent_position = 0, exponent_size = 0, mantissa_position = 0, mantissa_size = 0;
  H5Tget_fields(type, &sign, &exponent_position, &exponent_size, &mantissa_position, &mantissa_size);
  const std::size_t bias = H5Tget_ebias(type);
  if (sign != 15 || mantissa_position != 0) return FloatKind::other;
  if (exponent_position == 10 && exponent_size == 5 && mantissa_size == 10 && bias == 15) return FloatKind::float16;
  if (exponent_position == 7 && exponent_size == 8 && mantissa_size == 7 && bias == 127) return FloatKind::bfloat16;
  return FloatKind::other;
}

const char* kind_name(FloatKind kind) {
  switch (kind) {
    case FloatKind::float16: return "float16";
    case FloatKind::bfloat16: return "bfloat16";
    case FloatKind::float32: return "float32";
    case FloatKind::float64: return "float64";
    case FloatKind::other: break;
  }
  return "other";
}

std::string describe_type(hid_t type) {
  const std::string bytes = " (" + std::to_string(H5Tget_size(type)) + " bytes)";
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: return "integer" + bytes;
    case H5T_FLOAT: return float_kind(type) == FloatKind::other ? "float of an unknown layout" + bytes : kind_name(float_kind(type));
    case H5T_STRING: return "string";
    default: return "a non-numeric type";
  }
}

hsize_t chunk_rows(hsize_t rows, hsize_t row_bytes, hsize_t max_chunk_bytes) {
  const hsize_t fit = row_bytes > 0 ? max_chunk_bytes / row_bytes : rows;
  return std::max<hsize_t>(1, std::min(rows, fit));
}

void write_dataset(hid_t location, const std::string& path, const std::string& name, const std::vector<hsize_t>& dims,
                   hid_t file_type, hid_t memory_type, const void* data) {
  Handle space{H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose};
  Handle properties{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  hsize_t row_bytes = H5Tget_size(file_type);
  for (std::size_t d = 1; d < dims.size(); ++d) row_bytes *= dims[d];
  std::vector<hsize_t> chunk = dims;
  chunk[0] = chunk_rows(dims[0], row_bytes, max_chunk_bytes);
  if (H5Pset_chunk(properties.id(), int(chunk.size()), chunk.data()) < 0 || H5Pset_fletcher32(properties.id()) < 0)
    fail(path, with_reason("cannot set up dataset '" + name + "'"));
  Handle set{H5Dcreate2(location, name.c_str(), file_type, space.id(), H5P_DEFAULT, properties.id(), H5P_DEFAULT), H5Dclose};
  if (!set.valid() || H5Dwrite(set.id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(path, with_reason("cannot write dataset '" + name + "'"));
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "[";
  for (std::size_t d = 0; d < dims.size(); ++d) text += (d ? ", " : "") + std::to_string(dims[d]);
  return text + "]";
}

Handle open_dataset(hid_t file, const std::string& path, const std::string& name, const std::vector<hsize_t>& dims) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) fail(path, "missing dataset '" + name + "'");
  Handle set{H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose};
  if (!set.valid()) fail(path, with_reason("cannot open dataset '" + name + "'"));
  if (H5Iget_type(set.id()) != H5I_DATASET) fail(path, "'" + name + "' is not a dataset");
  Handle space{H5Dget_space(set.id()), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> found(std::max(rank, 0));
  if (rank < 0 || H5Sget_simple_extent_dims(space.id(), found.data(), nullptr) < 0)
    fail(path, with_reason("cannot read the shape of dataset '" + name + "'"));
  if (found != dims) fail(path, "dataset '" + name + "' has shape " + shape_text(found) + ", expected " + shape_text(dims));
  return set;
}

void check_float_dataset(hid_t dataset, const std::string& path, const std::string& name) {
  // HDF5 sizes its conversion buffer by the stored type, which a corrupt file can claim to be
  // gigabytes, and copies a contiguous or compact dataset by its recorded size (a compact one of
  // 0 bytes made HDF5 1.10 read a null buffer): both are checked first. fuzz/ found these.
  const Handle type{H5Dget_type(dataset), H5Tclose};
  const Handle space{H5Dget_space(dataset), H5Sclose};
  const hssize_t elements = space.valid() ? H5Sget_simple_extent_npoints(space.id()) : -1;
  const std::size_t type_size = type.valid() ? H5Tget_size(type.id()) : 0;
  if (!type.valid() || H5Tget_class(type.id()) != H5T_FLOAT || type_size == 0 || type_size > 8 || elements < 0)
    fail(path, "dataset '" + name + "' is not stored as a float of at most 8 bytes");
  const Handle plist{H5Dget_create_plist(dataset), H5Pclose};
  const H5D_layout_t layout = plist.valid() ? H5Pget_layout(plist.id()) : H5D_LAYOUT_ERROR;
  if (layout == H5D_LAYOUT_ERROR || ((layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) &&
                                     H5Dget_storage_size(dataset) != hsize_t(elements) * type_size))
    fail(path, "dataset '" + name + "' is not stored in full (truncated or corrupt)");
}

void read_dataset(hid_t dataset, const std::string& path, const std::string& name, hid_t memory_type, void* data) {
  if (H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(path, with_reason("cannot read dataset '" + name + "'"));
}

std::vector<std::string> dataset_names(hid_t file, const std::string& path) {
  std::vector<std::string> links;
  // The link-info type differs between HDF5 1.10 and 1.12+; a generic lambda fits either.
  H5L_iterate_t collect = [](hid_t, const char* name, const auto*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
  };
  if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, collect, &links) < 0) fail(path, with_reason("cannot list the datasets"));
  std::vector<std::string> datasets;
  for (const std::string& name : links) {
    Handle object{H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose};
    if (!object.valid()) fail(path, with_reason("cannot open '" + name + "'"));
    if (H5Iget_type(object.id()) == H5I_DATASET) datasets.push_back(name);
  }
  return datasets;
}

}  // namespace rwkv::hdf5
