// Private to the library's .cpp files (not installed): HDF5 handles, attributes and datasets with
// every failure a std::runtime_error "<file>: <field>: <what>", durable atomic file writes, and the
// 16-bit float types of docs/FORMAT.md.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rwkv::hdf5 {

[[noreturn]] void fail(const std::string& path, const std::string& what);

// HDF5's most specific description of the error its last call recorded ("" if none). Call it
// right after the failing call: the next HDF5 call clears the record.
std::string last_error();

// Owns an HDF5 id; closes it on scope exit.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Turns off HDF5's printing of error stacks: errors become exceptions with our messages.
void silence_errors();

// Opens an existing file read-only; a missing, foreign or truncated file fails naming the path.
Handle open_for_reading(const std::string& path);

// Creates path.tmp, lets `write` fill it, flushes and closes it, fsyncs it, renames it over path and
// fsyncs the directory: path is always either the old or the new complete file.
void write_atomically(const std::string& path, const std::function<void(hid_t file, const std::string& tmp)>& write);

// fsync of a file (flags O_RDONLY) or a directory (O_RDONLY | O_DIRECTORY).
void fsync_path(const std::string& path, int flags);
// Renames from over to and fsyncs the directory of `to`.
void durable_rename(const std::string& from, const std::string& to);

// Attributes of a file or group `object`; `where` prefixes the name in messages ("train/").
bool has_attribute(hid_t object, const char* name);
long read_int(hid_t object, const std::string& path, const std::string& where, const char* name);
std::uint64_t read_uint64(hid_t object, const std::string& path, const std::string& where, const char* name);
double read_double(hid_t object, const std::string& path, const std::string& where, const char* name);
// A fixed-length string longer than max_string_bytes fails: only a damaged file claims one.
inline constexpr std::size_t max_string_bytes = std::size_t(1) << 20;
std::string read_string(hid_t object, const std::string& path, const std::string& where, const char* name);
void write_int(hid_t object, const std::string& path, const char* name, long value);
void write_uint64(hid_t object, const std::string& path, const char* name, std::uint64_t value);
void write_double(hid_t object, const std::string& path, const char* name, double value);
void write_string(hid_t object, const std::string& path, const char* name, const std::string& value);

// The 2-byte float types (owned by the caller).
Handle float16_type();
Handle bfloat16_type();

enum class FloatKind { float16, bfloat16, float32, float64, other };
// What a dataset's stored type is, as far as the weight formats go.
FloatKind float_kind(hid_t type);
const char* kind_name(FloatKind kind);
// "integer (4 bytes)", "float (2 bytes, unknown layout)": for messages about unsupported types.
std::string describe_type(hid_t type);

// Rows per chunk so that a chunk of whole rows stays within max_chunk_bytes (at least one row).
hsize_t chunk_rows(hsize_t rows, hsize_t row_bytes, hsize_t max_chunk_bytes);
inline constexpr hsize_t max_chunk_bytes = hsize_t(1) << 30;

// Creates dataset `name` in `location`, shape dims (rank 1 or 2), stored as `file_type`,
// chunked by whole rows with the Fletcher-32 filter, and writes `data` given as `memory_type`.
void write_dataset(hid_t location, const std::string& path, const std::string& name, const std::vector<hsize_t>& dims,
                   hid_t file_type, hid_t memory_type, const void* data);

// Opens dataset `name` (full path inside the file) and checks it has exactly `dims`.
Handle open_dataset(hid_t file, const std::string& path, const std::string& name, const std::vector<hsize_t>& dims);

// Fails unless the dataset is stored as a float of at most 8 bytes, in full (contiguous and
// compact layouts hold exactly their elements): what a loader checks before allocating and reading.
void check_float_dataset(hid_t dataset, const std::string& path, const std::string& name);
// Reads a whole dataset into `data` as `memory_type`; a failure (checksum mismatch, I/O error,
// unconvertible type) names the dataset and HDF5's reason.
void read_dataset(hid_t dataset, const std::string& path, const std::string& name, hid_t memory_type, void* data);

std::string shape_text(const std::vector<hsize_t>& dims);

// The full paths ("emb.weight", "train/exp_avg/emb.weight") of every dataset in the file.
std::vector<std::string> dataset_names(hid_t file, const std::string& path);

}  // namespace rwkv::hdf5
