// HDF5 weight checkpoints: bit-exact round trips and one clear error per kind of bad file.
#include "test_support.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/model_v4.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("rwkv_ckpt_" + std::to_string(::getpid()))) { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

template <class Scalar>
void check_round_trip(const TempDir& dir) {
  ModelConfig config{2, 16, 24, 37};
  Model<v4, Space, Scalar> a(config, TrainingShape{1, 4, false}), b(config, TrainingShape{1, 4, false});
  a.initialize(9);
  const std::string path = dir.file("model.h5");
  save_model(path, a);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  const ModelConfig read = read_config(path);
  CHECK(read.n_layer == 2);
  CHECK(read.n_embd == 16);
  CHECK(read.ffn() == 24);
  CHECK(read.vocab_size == 37);
  load_model(path, b);
  const auto ha = test::to_host(a.weights().flat);
  const auto hb = test::to_host(b.weights().flat);
  int differ = 0;
  for (std::size_t i = 0; i < ha.extent(0); ++i) differ += ha(i) != hb(i);
  CHECK(differ == 0);
}

// Runs f and returns the message of the runtime_error it must throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("no error was raised");
  return "";
}

}  // namespace

TEST_CASE("weights survive save and load bit for bit", "[checkpoint]") {
  TempDir dir;
  check_round_trip<float>(dir);
  check_round_trip<double>(dir);
}

TEST_CASE("bad checkpoint files give one clear error naming the file and the field", "[checkpoint]") {
  TempDir dir;
  ModelConfig config{1, 8, 0, 11};
  Model<v4, Space, float> model(config, TrainingShape{1, 2, false});
  model.initialize(1);
  const std::string good = dir.file("good.h5");
  save_model(good, model);

  const std::string missing = dir.file("missing.h5");
  CHECK_THAT(error_of([&] { read_config(missing); }), Catch::Contains(missing));

  // Truncated: the first half of a valid file.
  const std::string truncated = dir.file("truncated.h5");
  {
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(truncated, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  CHECK_THAT(error_of([&] { load_model(truncated, model); }), Catch::Contains(truncated));

  // Another model's file: shapes differ and the message names the dataset.
  ModelConfig wider{1, 12, 0, 11};
  Model<v4, Space, float> other(wider, TrainingShape{1, 2, false});
  const std::string mismatched = dir.file("wider.h5");
  save_model(mismatched, other);
  const std::string shape_error = error_of([&] { load_model(mismatched, model); });
  CHECK_THAT(shape_error, Catch::Contains(mismatched) && Catch::Contains("emb.weight") && Catch::Contains("shape"));

  // A dataset removed.
  const std::string incomplete = dir.file("incomplete.h5");
  fs::copy_file(good, incomplete);
  {
    hid_t file = H5Fopen(incomplete.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    H5Ldelete(file, "blocks.0.att.time_first", H5P_DEFAULT);
    H5Fclose(file);
  }
  CHECK_THAT(error_of([&] { load_model(incomplete, model); }),
             Catch::Contains(incomplete) && Catch::Contains("blocks.0.att.time_first"));
}
