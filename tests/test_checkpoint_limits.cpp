// What the checkpoint loaders must not take on trust (found by fuzz/fuzz_checkpoint.cpp): a config
// too large to describe any model, attributes that are not a single integer, a state whose shape
// claims more than the file holds. Each is one clear error, before anything is allocated.
#include <rwkv/checkpoint.hpp>
#include <rwkv/core/hdf5_support.hpp>
#include <rwkv/v4/weights.hpp>

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using rwkv::test::error_of;
using rwkv::test::TempDir;

using namespace rwkv;
namespace fs = std::filesystem;

// A file with the config attributes of `config` as int64, except `name`, written by `write`.
template <class WriteAttribute>
void write_config_file(const std::string& path, const ModelConfig& config, const char* name, WriteAttribute&& write) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const std::pair<const char*, long> values[] = {
      {"n_layer", config.n_layer}, {"n_embd", config.n_embd}, {"dim_ffn", config.dim_ffn}, {"vocab_size", config.vocab_size}};
  for (const auto& [key, value] : values) {
    if (std::string(key) == name) {
      write(file, key);
      continue;
    }
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(file, key, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_LONG, &value);
    H5Aclose(attr);
    H5Sclose(space);
  }
  H5Fclose(file);
}

void write_attribute(hid_t file, const char* name, hid_t type, std::vector<hsize_t> dims, const void* values) {
  hid_t space = dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  hid_t attr = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Awrite(attr, type, values) >= 0);
  H5Aclose(attr);
  H5Sclose(space);
}

}  // namespace

TEST_CASE("a config beyond any model is refused before its tensor list is built", "[checkpoint][limits]") {
  CHECK_THAT(error_of([] { tensor_specs(v4{}, ModelConfig{max_layers + 1, 4, 0, 8}); }),
             Catch::Contains("n_layer 4097 exceeds the limit of 4096"));
  CHECK_THAT(error_of([] { tensor_specs(v4{}, ModelConfig{1, (1 << 29) + 1, 0, 8}); }),
             Catch::Contains("too large for dim_ffn = 4 * n_embd"));
  // 2 V C = 2^41 parameters in the embedding and head alone.
  CHECK_THAT(error_of([] { tensor_specs(v4{}, ModelConfig{1, 1 << 20, 1, 1 << 20}); }),
             Catch::Contains("more than the limit of 2^40"));
  // The largest RWKV-4 (14B: 40 layers, n_embd 5120, vocab 50277) is well inside.
  const std::vector<TensorSpec> specs = tensor_specs(v4{}, ModelConfig{40, 5120, 0, 50277});
  CHECK(parameter_count(specs) > std::size_t(14e9));
}

TEST_CASE("config attributes must be a single integer within range", "[checkpoint][limits]") {
  TempDir dir;
  const ModelConfig config{1, 4, 8, 8};

  const std::string huge = dir.file("huge.h5");
  write_config_file(huge, config, "n_embd", [](hid_t file, const char* name) {
    const std::int64_t value = (std::int64_t(1) << 32) + 4;  // 4 after a narrowing cast
    write_attribute(file, name, H5T_NATIVE_INT64, {}, &value);
  });
  CHECK_THAT(error_of([&] { read_config(huge); }),
             Catch::Contains(huge) && Catch::Contains("attribute 'n_embd' is 4294967300, outside 1..2^30"));

  // H5Aread would write all 64 elements into the loader's one integer.
  const std::string array = dir.file("array.h5");
  write_config_file(array, config, "n_layer", [](hid_t file, const char* name) {
    const std::vector<std::int64_t> values(64, 1);
    write_attribute(file, name, H5T_NATIVE_INT64, {64}, values.data());
  });
  CHECK_THAT(error_of([&] { read_config(array); }), Catch::Contains(array) && Catch::Contains("attribute 'n_layer' is not a single integer"));

  const std::string real = dir.file("float.h5");
  write_config_file(real, config, "vocab_size", [](hid_t file, const char* name) {
    const double value = 8.5;
    write_attribute(file, name, H5T_NATIVE_DOUBLE, {}, &value);
  });
  CHECK_THAT(error_of([&] { read_config(real); }), Catch::Contains("attribute 'vocab_size' is not a single integer"));

  // Each size within 1..2^30, together 1.27e16 parameters: a file error naming the path (found by
  // fuzzing: the limit used to be checked only when the tensor list was built, as a different error).
  const std::string too_many = dir.file("too_many.h5");
  const ModelConfig wide{1, 50331647, 8, 8};
  write_config_file(too_many, wide, "", [](hid_t, const char*) {});
  CHECK_THROWS_AS(read_config(too_many), std::runtime_error);
  CHECK_THAT(error_of([&] { read_config(too_many); }),
             Catch::Contains(too_many) && Catch::Contains("n_embd 50331647") && Catch::Contains("more than the limit of 2^40"));
  const std::string too_deep = dir.file("too_deep.h5");
  write_config_file(too_deep, ModelConfig{max_layers + 1, 4, 8, 8}, "", [](hid_t, const char*) {});
  CHECK_THAT(error_of([&] { read_config(too_deep); }), Catch::Contains(too_deep) && Catch::Contains("exceeds the limit of 4096"));
}

TEST_CASE("a string attribute longer than any the loaders write is refused before it is read", "[checkpoint][limits]") {
  TempDir dir;
  const std::string path = dir.file("long_arch.h5");
  {
    // The latest file format keeps an attribute past 64 KiB in dense storage.
    const hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(access, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access);
    REQUIRE(file >= 0);
    for (const char* name : {"n_layer", "n_embd", "dim_ffn", "vocab_size"}) {
      const std::int64_t value = 8;
      write_attribute(file, name, H5T_NATIVE_INT64, {}, &value);
    }
    const std::string text(hdf5::max_string_bytes + 1, 'x');
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, text.size());
    write_attribute(file, "arch", type, {}, text.data());
    H5Tclose(type);
    H5Fclose(file);
    H5Pclose(access);
  }
  CHECK_THAT(error_of([&] { read_config(path); }),
             Catch::Contains(path) && Catch::Contains("attribute 'arch' is a string of 1048577 bytes, more than the limit"));
}

TEST_CASE("a state file must hold the slots its shape claims", "[checkpoint][limits]") {
  TempDir dir;
  const ModelConfig config{2, 4, 0, 8, false, v4::name};
  const int slots = 3;
  std::vector<double> values(std::size_t(config.n_layer) * 5 * slots * config.n_embd);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = double(i) / 7;
  const std::string good = dir.file("state.h5");
  const std::vector<std::size_t> saved_shape = {2, 5, slots, 4};
  save_state_data(good, config, saved_shape, values.data());
  const std::vector<std::size_t> expected_shape = {2, 5, 0, 4};
  std::vector<std::size_t> shape = expected_shape;
  CHECK(load_state_data(good, config, shape, 2) == values);
  CHECK(shape == saved_shape);
  shape = {2, 6, 0, 4};
  CHECK_THAT(error_of([&] { load_state_data(good, config, shape, 2); }),
             Catch::Contains(good) && Catch::Contains("dataset 'state' is not [2, 6, slots, 4]"));

  // 2^40 slots declared, nothing written: 2^40 x 320 bytes would be allocated from the header.
  const std::string claim = dir.file("claim.h5");
  fs::copy_file(good, claim);
  {
    hid_t file = H5Fopen(claim.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    H5Ldelete(file, "state", H5P_DEFAULT);
    const hsize_t dims[4] = {hsize_t(config.n_layer), 5, hsize_t(1) << 40, hsize_t(config.n_embd)};
    hid_t space = H5Screate_simple(4, dims, nullptr);
    hid_t set = H5Dcreate2(file, "state", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(set >= 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
  }
  shape = expected_shape;
  CHECK_THAT(error_of([&] { load_state_data(claim, config, shape, 2); }),
             Catch::Contains(claim) && Catch::Contains("dataset 'state' of shape [2, 5, 1099511627776, 4] is not stored in full"));
}

TEST_CASE("weights must be stored as floats of at most 8 bytes", "[checkpoint][limits]") {
  TempDir dir;
  const ModelConfig config{1, 4, 8, 8, false, v4::name};
  const std::vector<TensorSpec> specs = tensor_specs(v4{}, config);
  std::vector<float> weights(parameter_count(specs), 0.5f);
  const std::string path = dir.file("ints.h5");
  save_weights(path, config, specs, weights.data());
  {
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    H5Ldelete(file, "ln_out.bias", H5P_DEFAULT);
    const hsize_t dims[1] = {hsize_t(config.n_embd)};
    const std::vector<std::int32_t> values(config.n_embd, 1);
    hid_t space = H5Screate_simple(1, dims, nullptr);
    hid_t set = H5Dcreate2(file, "ln_out.bias", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(H5Dwrite(set, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
  }
  CHECK_THAT(error_of([&] { load_weights(path, config, specs, weights.data()); }),
             Catch::Contains(path) && Catch::Contains("dataset 'ln_out.bias' is of type integer"));
}
