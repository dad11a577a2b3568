// libFuzzer target: the HDF5 checkpoint loaders on arbitrary bytes. Each input is written to a
// file (HDF5 reads paths) and given to read_config, load_weights (for the tensors of the config
// read) and load_state_data. A std::runtime_error is the expected answer to a bad file; a crash,
// leak, sanitizer report, any other exception or an HDF5 object left open is a finding.
#include <rwkv/arch.hpp>
#include <rwkv/checkpoint.hpp>

#include <hdf5.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

// The config of the seed corpus' state file (fuzz_seeds.cpp), for inputs without a readable config.
const rwkv::ModelConfig seed_config{1, 4, 8, 8, false, rwkv::v4::name};

// A model of more parameters than this is not loaded: its buffer is the caller's allocation (a
// real file that large is a real model), which would only measure the machine's memory here.
constexpr std::size_t max_fuzzed_parameters = std::size_t(1) << 22;

// One file per process, removed at exit.
struct InputFile {
  std::string path =
      (std::filesystem::temp_directory_path() / ("fuzz_checkpoint." + std::to_string(getpid()) + ".h5")).string();
  ~InputFile() { std::remove(path.c_str()); }
};

const std::string& input_path() {
  static const InputFile file;
  return file.path;
}

void write_input(const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(input_path().c_str(), "wb");
  if (f == nullptr || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) {
    std::perror(input_path().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  write_input(data, size);
  const std::string& path = input_path();
  rwkv::ModelConfig config = seed_config;
  try {
    config = rwkv::read_config(path);
    const std::vector<rwkv::TensorSpec> specs = rwkv::tensor_specs(config);
    const std::size_t n = rwkv::parameter_count(specs);
    if (n <= max_fuzzed_parameters) {
      std::vector<float> as_float(n);
      rwkv::load_weights(path, config, specs, as_float.data());
      std::vector<double> as_double(n);
      rwkv::load_weights(path, config, specs, as_double.data());
    }
  } catch (const std::runtime_error&) {
  }
  try {
    std::vector<std::size_t> shape = {std::size_t(config.n_layer), 5, 0, std::size_t(config.n_embd)};
    const std::vector<double> state = rwkv::load_state_data(path, config, shape, 2);
    if (shape[2] < 1 || state.size() != shape[0] * shape[1] * shape[2] * shape[3])
      std::abort();  // the loader promised a [L, 5, slots, C] state
  } catch (const std::runtime_error&) {
  }
  // Every file, group, dataset and attribute the loaders opened is closed again (HDF5 counts no
  // other kinds publicly; a dataspace left open is not seen).
  const ssize_t left_open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (left_open != 0) {
    std::fprintf(stderr, "fuzz_checkpoint: %zd HDF5 objects left open\n", left_open);
    std::abort();
  }
  return 0;
}
