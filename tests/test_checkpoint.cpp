// HDF5 checkpoints: bit-exact round trips in every weight dtype and of the training state, files
// of converters (only the required attributes, contiguous float32), one clear error per kind of
// bad file, and atomic saves that survive SIGKILL.
#include "test_support.hpp"
#include "temp_dir.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/core/half_float.hpp>
#include <rwkv/core/hdf5_support.hpp>
#include <rwkv/v4/model.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace {

using rwkv::test::error_of;
using rwkv::test::TempDir;

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
namespace fs = std::filesystem;

template <class Scalar>
std::vector<Scalar> host_weights(Model<v4, Space, Scalar>& model) {
  const auto h = test::to_host(model.weights().flat);
  return std::vector<Scalar>(h.data(), h.data() + h.extent(0));
}

// What storing x as dtype and reading it back gives.
template <class Scalar>
Scalar stored(Scalar x, WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::float16: return Scalar(Float16::decode(Float16::encode(x)));
    case WeightDtype::bfloat16: return Scalar(BFloat16::decode(BFloat16::encode(x)));
    case WeightDtype::float32: return Scalar(float(x));
    case WeightDtype::float64: return x;
  }
  return x;
}

template <class Scalar>
void check_round_trip(const TempDir& dir, WeightDtype dtype) {
  INFO("scalar of " << sizeof(Scalar) << " bytes stored as " << dtype_name(dtype));
  ModelConfig config{2, 16, 24, 37};
  Model<v4, Space, Scalar> a(config, TrainingShape{1, 4, false}), b(config, TrainingShape{1, 4, false});
  a.initialize(9);
  const std::string path = dir.file("model.h5");
  save_model(path, a, dtype);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  const ModelConfig read = read_config(path);
  CHECK(read.n_layer == 2);
  CHECK(read.n_embd == 16);
  CHECK(read.ffn() == 24);
  CHECK(read.vocab_size == 37);
  load_model(path, b);
  const std::vector<Scalar> wa = host_weights(a), wb = host_weights(b);
  int differ = 0, rounded = 0;
  for (std::size_t i = 0; i < wa.size(); ++i) {
    differ += std::bit_cast<std::array<char, sizeof(Scalar)>>(stored(wa[i], dtype)) !=
              std::bit_cast<std::array<char, sizeof(Scalar)>>(wb[i]);
    rounded += wa[i] != wb[i];
  }
  CHECK(differ == 0);
  // The narrow types do round (the test would pass vacuously if nothing changed).
  if (dtype_bytes(dtype) < sizeof(Scalar)) CHECK(rounded > 0);
  if (dtype_bytes(dtype) >= sizeof(Scalar)) CHECK(rounded == 0);
  const CheckpointInfo info = inspect_checkpoint(path);
  CHECK(info.weight_dtype == dtype_name(dtype));
  CHECK(info.weight_bytes == wa.size() * dtype_bytes(dtype));
  CHECK(info.format_version == checkpoint_format_version);
  CHECK_FALSE(info.training);
}

void with_file(const std::string& path, const std::function<void(hid_t)>& edit) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  edit(file);
  H5Fclose(file);
}

// Flips bytes in the middle of the stored data of dataset `name`.
void corrupt_dataset(const std::string& path, const std::string& name) {
  haddr_t address = 0;
  hsize_t size = 0;
  {
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t set = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
    hid_t space = H5Dget_space(set);
    hsize_t offset[2];
    unsigned mask = 0;
    REQUIRE(H5Dget_chunk_info(set, space, 0, offset, &mask, &address, &size) >= 0);
    H5Sclose(space);
    H5Dclose(set);
    H5Fclose(file);
  }
  REQUIRE(size > 8);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(address + size / 2));
  char bytes[2];
  f.read(bytes, 2);
  bytes[0] ^= 0x5a;
  bytes[1] ^= 0x21;
  f.seekp(std::streamoff(address + size / 2));
  f.write(bytes, 2);
}

}  // namespace

TEST_CASE("weights survive save and load bit for bit in every dtype", "[checkpoint]") {
  TempDir dir;
  for (WeightDtype dtype : {WeightDtype::float32, WeightDtype::float64, WeightDtype::float16, WeightDtype::bfloat16}) {
    check_round_trip<float>(dir, dtype);
    check_round_trip<double>(dir, dtype);
  }
}

TEST_CASE("the training state survives save and load bit for bit", "[checkpoint]") {
  TempDir dir;
  ModelConfig config{2, 16, 0, 29};
  using TrainModel = Model<v4, Space, float>;
  TrainModel a(config, TrainingShape{1, 4, false}), b(config, TrainingShape{1, 4, false});
  a.initialize(3);
  OptimizerConfig opt;
  opt.total_steps = 77;
  opt.lr_init = 3e-4;
  opt.warmup_steps = 5;
  opt.layerwise_lr = false;
  AdamW<Space, float> oa(a.specs(), opt), ob(b.specs(), OptimizerConfig{});
  for (auto* moment : {&oa.first_moment(), &oa.second_moment()}) {
    auto h = Kokkos::create_mirror_view(*moment);
    test::fill_uniform(h, moment == &oa.first_moment() ? 11 : 12, 0.0, 1e-3);
    Kokkos::deep_copy(*moment, h);
  }
  TrainingState state;
  state.step = 40;
  state.seed = 0xfedcba9876543210ull;
  state.ctx_len = 4;
  state.micro_batch = 3;
  state.lr = 1.2345678901234567e-4;
  state.optimizer = opt;
  state.l2wrap = 1e-4;
  state.val_fraction = 0.25;
  state.data_source = "corpus.txt";
  state.data_tokens = 12345;
  state.data_hash = 0x0123456789abcdefull;
  const auto same = [](auto& x, auto& y) {
    const auto hx = test::to_host(x), hy = test::to_host(y);
    int differ = 0;
    for (std::size_t i = 0; i < hx.extent(0); ++i) differ += std::bit_cast<std::uint32_t>(hx(i)) != std::bit_cast<std::uint32_t>(hy(i));
    return differ == 0;
  };
  for (WeightDtype dtype : {WeightDtype::float32, WeightDtype::bfloat16}) {
    INFO("weights stored as " << dtype_name(dtype));
    const std::string path = dir.file(std::string("train-") + dtype_name(dtype) + ".h5");
    save_training(path, a, oa, state, dtype);
    REQUIRE(has_training_state(path));
    const TrainingState s = read_training_state(path);
    CHECK(s.step == 40);
    CHECK(s.seed == state.seed);
    CHECK(s.ctx_len == 4);
    CHECK(s.micro_batch == 3);
    CHECK(s.samples_seen() == 120);
    CHECK(s.tokens_seen() == 480);
    CHECK(s.lr == state.lr);
    CHECK(s.optimizer.total_steps == 77);
    CHECK(s.optimizer.lr_init == 3e-4);
    CHECK(s.optimizer.warmup_steps == 5);
    CHECK_FALSE(s.optimizer.layerwise_lr);
    CHECK(s.optimizer.beta2 == opt.beta2);
    CHECK(s.l2wrap == 1e-4);
    CHECK(s.val_fraction == 0.25);
    CHECK(s.data_source == "corpus.txt");
    CHECK(s.data_tokens == 12345);
    CHECK(s.data_hash == state.data_hash);
    load_training(path, b, ob);
    // The exact weights come back even when the root holds bfloat16 (from /train/master).
    CHECK(same(a.weights().flat, b.weights().flat));
    CHECK(same(oa.first_moment(), ob.first_moment()));
    CHECK(same(oa.second_moment(), ob.second_moment()));
    const CheckpointInfo info = inspect_checkpoint(path);
    REQUIRE(info.training);
    CHECK(info.training->step == 40);
    CHECK(info.weight_dtype == dtype_name(dtype));
    // Weights, both moments and (for bfloat16) the exact weights: every one checksummed.
    const std::size_t tensors = a.specs().size() * (dtype == WeightDtype::float32 ? 3 : 4);
    CHECK(verify_checkpoint(path).checksummed == tensors);
  }
  const std::string model_file = dir.file("model.h5");
  save_model(model_file, a);
  CHECK_FALSE(has_training_state(model_file));
  CHECK_THAT(error_of([&] { read_training_state(model_file); }),
             Catch::Contains(model_file) && Catch::Contains("no group 'train'"));
}

TEST_CASE("a converter's file (required attributes, contiguous float32, no checksums) loads", "[checkpoint]") {
  TempDir dir;
  ModelConfig config{1, 8, 0, 11};
  Model<v4, Space, float> model(config, TrainingShape{1, 2, false}), loaded(config, TrainingShape{1, 2, false});
  model.initialize(4);
  const std::vector<float> weights = host_weights(model);
  const std::string path = dir.file("converted.h5");
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const std::pair<const char*, long> sizes[] = {{"n_layer", 1}, {"n_embd", 8}, {"dim_ffn", 32}, {"vocab_size", 11}};
  for (auto [name, value] : sizes) {
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(file, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_LONG, &value);
    H5Aclose(attr);
    H5Sclose(space);
  }
  {  // arch as h5py writes a str: variable-length UTF-8
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(file, "arch", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char* arch = "rwkv-4";
    H5Awrite(attr, type, &arch);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
  }
  for (const TensorSpec& s : model.specs()) {
    hsize_t dims[2] = {hsize_t(s.rows), hsize_t(s.cols)};
    hid_t space = H5Screate_simple(s.is_matrix() ? 2 : 1, dims, nullptr);
    hid_t set = H5Dcreate2(file, s.name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, weights.data() + s.offset);
    H5Dclose(set);
    H5Sclose(space);
  }
  H5Fclose(file);
  load_model(path, loaded);
  CHECK(host_weights(loaded) == weights);
  const CheckpointInfo info = inspect_checkpoint(path);
  CHECK(info.format_version == 1);
  CHECK(info.arch == "rwkv-4");
  CHECK(info.weight_dtype == "float32");
  const VerifyReport report = verify_checkpoint(path);
  CHECK(report.datasets == model.specs().size());
  CHECK(report.checksummed == 0);
}

TEST_CASE("bad checkpoint files give one clear error naming the file and the field", "[checkpoint]") {
  TempDir dir;
  ModelConfig config{1, 8, 0, 11};
  Model<v4, Space, float> model(config, TrainingShape{1, 2, false});
  model.initialize(1);
  const std::string good = dir.file("good.h5");
  save_model(good, model);
  const auto copy = [&](const std::string& name) {
    const std::string path = dir.file(name);
    fs::copy_file(good, path, fs::copy_options::overwrite_existing);
    return path;
  };

  const std::string missing = dir.file("missing.h5");
  CHECK_THAT(error_of([&] { read_config(missing); }), Catch::Contains(missing) && Catch::Contains("no such file"));

  const std::string text = dir.file("notes.txt");
  std::ofstream(text) << "not a checkpoint\n";
  CHECK_THAT(error_of([&] { read_config(text); }), Catch::Contains(text) && Catch::Contains("not an HDF5 file"));

  // HDF5, but none of our attributes.
  const std::string foreign = dir.file("foreign.h5");
  save_float_matrix(foreign, "logits", 2, 3, std::vector<float>(6, 1.0f).data());
  CHECK_THAT(error_of([&] { load_model(foreign, model); }),
             Catch::Contains(foreign) && Catch::Contains("n_layer") && Catch::Contains("not an RWKV checkpoint"));

  // Truncated: the first half of a valid file.
  const std::string truncated = dir.file("truncated.h5");
  {
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(truncated, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  CHECK_THAT(error_of([&] { load_model(truncated, model); }), Catch::Contains(truncated) && Catch::Contains("truncated"));

  // A flipped byte inside a dataset: the checksum catches it, on loading and on verifying.
  const std::string corrupt = copy("corrupt.h5");
  corrupt_dataset(corrupt, "blocks.0.att.key.weight");
  const std::string checksum_error = error_of([&] { load_model(corrupt, model); });
  CHECK_THAT(checksum_error, Catch::Contains(corrupt) && Catch::Contains("blocks.0.att.key.weight") &&
                                 Catch::Contains("checksum", Catch::CaseSensitive::No));
  CHECK_THAT(error_of([&] { verify_checkpoint(corrupt); }), Catch::Contains("blocks.0.att.key.weight"));
  CHECK(verify_checkpoint(good).datasets == model.specs().size());
  CHECK(verify_checkpoint(good).checksummed == model.specs().size());

  // Another model's file: the attribute that differs is named.
  ModelConfig wider{1, 12, 0, 11};
  Model<v4, Space, float> other(wider, TrainingShape{1, 2, false});
  const std::string mismatched = dir.file("wider.h5");
  save_model(mismatched, other);
  CHECK_THAT(error_of([&] { load_model(mismatched, model); }),
             Catch::Contains(mismatched) && Catch::Contains("n_embd") && Catch::Contains("12"));

  // A dataset of the wrong shape under the right attributes.
  const std::string reshaped = copy("reshaped.h5");
  with_file(reshaped, [](hid_t file) {
    H5Ldelete(file, "head.weight", H5P_DEFAULT);
    hsize_t dims[2] = {11, 9};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    H5Dclose(H5Dcreate2(file, "head.weight", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
  });
  CHECK_THAT(error_of([&] { load_model(reshaped, model); }),
             Catch::Contains(reshaped) && Catch::Contains("head.weight") && Catch::Contains("[11, 9]") &&
                 Catch::Contains("[11, 8]"));

  // A dataset of integers.
  const std::string integers = copy("integers.h5");
  with_file(integers, [](hid_t file) {
    H5Ldelete(file, "ln_out.bias", H5P_DEFAULT);
    hsize_t dims[1] = {8};
    hid_t space = H5Screate_simple(1, dims, nullptr);
    H5Dclose(H5Dcreate2(file, "ln_out.bias", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
  });
  CHECK_THAT(error_of([&] { load_model(integers, model); }),
             Catch::Contains(integers) && Catch::Contains("ln_out.bias") && Catch::Contains("integer"));

  // A dataset removed.
  const std::string incomplete = copy("incomplete.h5");
  with_file(incomplete, [](hid_t file) { H5Ldelete(file, "blocks.0.att.time_first", H5P_DEFAULT); });
  CHECK_THAT(error_of([&] { load_model(incomplete, model); }),
             Catch::Contains(incomplete) && Catch::Contains("missing dataset 'blocks.0.att.time_first'"));

  // Attributes that contradict the datasets or this build.
  const auto set_attribute = [&](const std::string& name, const char* attribute, auto write) {
    const std::string path = copy(name);
    with_file(path, [&](hid_t file) {
      H5Adelete(file, attribute);
      write(file);
    });
    return path;
  };
  const std::string future = set_attribute("future.h5", "format_version", [](hid_t file) {
    hdf5::write_int(file, "future.h5", "format_version", 99);
  });
  CHECK_THAT(error_of([&] { load_model(future, model); }), Catch::Contains(future) && Catch::Contains("format_version") &&
                                                              Catch::Contains("99"));
  const std::string unknown = set_attribute("unknown.h5", "arch", [](hid_t file) { hdf5::write_string(file, "unknown.h5", "arch", "rwkv-99"); });
  CHECK_THAT(error_of([&] { read_config(unknown); }),
             Catch::Contains(unknown) && Catch::Contains("attribute 'arch': unknown architecture 'rwkv-99'") &&
                 Catch::Contains("v4 (rwkv-4)"));
  const std::string says_half = set_attribute("says_half.h5", "weight_dtype", [](hid_t file) {
    hdf5::write_string(file, "says_half.h5", "weight_dtype", "float16");
  });
  CHECK_THAT(error_of([&] { load_model(says_half, model); }),
             Catch::Contains(says_half) && Catch::Contains("emb.weight") && Catch::Contains("float16"));
  const std::string no_layers = set_attribute("no_layers.h5", "n_layer", [](hid_t) {});
  CHECK_THAT(error_of([&] { read_config(no_layers); }),
             Catch::Contains(no_layers) && Catch::Contains("missing attribute 'n_layer'"));
}

TEST_CASE("chunks are whole rows of at most the chunk limit", "[checkpoint]") {
  CHECK(hdf5::chunk_rows(100, 400, hdf5::max_chunk_bytes) == 100);
  CHECK(hdf5::chunk_rows(100, 400, 4000) == 10);
  CHECK(hdf5::chunk_rows(100, 400, 4399) == 10);
  CHECK(hdf5::chunk_rows(100, 400, 100) == 1);  // a row larger than the limit is a chunk of its own
  // 50277 x 65536 float32 (13 GB): chunks of 4096 rows, 1 GiB each.
  CHECK(hdf5::chunk_rows(50277, 65536 * 4, hdf5::max_chunk_bytes) == 4096);
}

TEST_CASE("a save killed at any moment leaves the previous checkpoint loadable", "[checkpoint]") {
  TempDir dir;
  const ModelConfig config{2, 64, 0, 300};
  const std::vector<TensorSpec> specs = tensor_specs(v4{}, config);
  Model<v4, Space, float> a(config, TrainingShape{1, 2, false}), b(config, TrainingShape{1, 2, false});
  a.initialize(1);
  b.initialize(2);
  const std::vector<float> wa = host_weights(a), wb = host_weights(b);
  REQUIRE(wa != wb);
  const std::string path = dir.file("model.h5");
  save_weights(path, a.config(), specs, wa.data());
  std::mt19937 rng(17);
  int killed_mid_write = 0;
  for (int trial = 0; trial < 8; ++trial) {
    fs::remove(path + ".tmp");
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // HDF5 only: no Kokkos (nor OpenMP) after fork, and never back into Catch2
      try {
        for (long i = 0;; ++i) save_weights(path, a.config(), specs, (i % 2 ? wa : wb).data());
      } catch (...) {
        _exit(1);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(1000, 60000)(rng)));
    REQUIRE(kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    killed_mid_write += fs::exists(path + ".tmp");
    std::vector<float> loaded(parameter_count(specs));
    REQUIRE_NOTHROW(load_weights(path, a.config(), specs, loaded.data()));
    CHECK((loaded == wa || loaded == wb));
    CHECK(verify_checkpoint(path).checksummed == specs.size());
  }
  INFO("kills that left a partial temporary file: " << killed_mid_write);
  CHECK(killed_mid_write > 0);
}
