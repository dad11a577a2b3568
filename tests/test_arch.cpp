// The architecture dispatch point (include/rwkv/arch.hpp): names and flags reach their version,
// unknown ones are refused naming the known ones, and a model's files carry its arch.
#include "test_support.hpp"
#include "temp_dir.hpp"
#include "v7_support.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/checkpoint.hpp>
#include <rwkv/core/hdf5_support.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <filesystem>
#include <string>
#include <type_traits>

using namespace rwkv;
using rwkv::test::error_of;
using rwkv::test::TempDir;

TEST_CASE("with_arch reaches a version by its checkpoint name or its --arch flag", "[arch]") {
  const auto version_name = [](const std::string& arch) {
    return with_arch(arch, [](auto version) {
      STATIC_REQUIRE(std::is_empty_v<decltype(version)>);
      return std::string(decltype(version)::name);
    });
  };
  CHECK(version_name("rwkv-4") == "rwkv-4");
  CHECK(version_name("v4") == "rwkv-4");
  CHECK(version_name("rwkv-7") == "rwkv-7");
  CHECK(version_name("v7") == "rwkv-7");
  CHECK(arch_name("v4") == "rwkv-4");
  CHECK(arch_name("v7") == "rwkv-7");
  CHECK(std::string(default_arch) == "rwkv-4");
  for (const std::string bad : {"", "v5", "rwkv-99", "RWKV-4", "v4 ", "V7"})
    CHECK_THAT(error_of([&] { arch_name(bad); }), Catch::Contains("unknown architecture '" + bad + "'") &&
                                                      Catch::Contains("this build knows v4 (rwkv-4), v7 (rwkv-7)"));
}

TEST_CASE("tensor_specs of a config follow its arch", "[arch]") {
  ModelConfig config{2, 8, 0, 11};
  CHECK_THAT(error_of([&] { tensor_specs(config); }), Catch::Contains("unknown architecture ''"));
  config.arch = "rwkv-4";
  const auto by_arch = tensor_specs(config), by_tag = tensor_specs(v4{}, config);
  REQUIRE(by_arch.size() == by_tag.size());
  for (std::size_t i = 0; i < by_arch.size(); ++i) {
    CHECK(by_arch[i].name == by_tag[i].name);
    CHECK(by_arch[i].offset == by_tag[i].offset);
  }
  // RWKV-LM's layer-wise groups: time_decay at 2x, time_first at 3x, the rest at 1x.
  for (const TensorSpec& s : by_tag) {
    INFO(s.name);
    const bool decay = s.name.ends_with(".time_decay"), first = s.name.ends_with(".time_first");
    CHECK(s.lr_scale == (decay ? 2.0 : first ? 3.0 : 1.0));
  }
}

TEST_CASE("a model names its version in its config and its files", "[arch][checkpoint]") {
  using Space = Kokkos::DefaultExecutionSpace;
  Model<v4, Space, float> model(ModelConfig{1, 8, 0, 9}, inference_only);
  CHECK(model.config().arch == "rwkv-4");
  ModelConfig other{1, 8, 0, 9};
  other.arch = "rwkv-7";
  CHECK_THAT(error_of([&] { Model<v4, Space, float>(other, inference_only); }),
             Catch::Contains("arch 'rwkv-7' given to a model of rwkv-4"));

  TempDir dir;
  const std::string path = dir.file("model.h5");
  save_model(path, model);
  CHECK(read_config(path).arch == "rwkv-4");
  // Files written before checkpoints named their version read as the default one.
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  REQUIRE(H5Adelete(file, "arch") >= 0);
  H5Fclose(file);
  CHECK(read_config(path).arch == default_arch);
}

TEST_CASE("an RWKV-7 file carries its head size, ranks and layer 0's value LoRA", "[arch][checkpoint][v7]") {
  using Space = Kokkos::DefaultExecutionSpace;
  using Model7 = Model<v7, Space, float>;
  // Ranks left at 0 take RWKV-LM's suggestion; the model's config, and so its files, name them.
  ModelConfig suggested = rwkv::test::tiny_v7_config(false);
  suggested.rank_w = suggested.rank_a = suggested.rank_v = suggested.rank_g = 0;
  const Model7 defaulted(suggested, inference_only);
  CHECK(defaulted.config().rank_w == 32);
  CHECK(defaulted.config().rank_g == 32);

  Model7 model(rwkv::test::tiny_v7_config(true), inference_only);
  model.initialize(3);
  TempDir dir;
  const std::string path = dir.file("v7.h5");
  save_model(path, model);
  const ModelConfig read = read_config(path);
  CHECK(read.arch == "rwkv-7");
  CHECK(read.head_size == 8);
  CHECK(read.rank_w == 4);
  CHECK(read.rank_a == 3);
  CHECK(read.rank_v == 2);
  CHECK(read.rank_g == 5);
  CHECK(read.layer0_value_lora);
  CHECK(read.ln_x_eps == model.config().ln_x_eps);
  Model7 loaded(read, inference_only);
  load_model(path, loaded);
  CHECK(rwkv::test::as_doubles(rwkv::test::to_host(loaded.weights().flat)) ==
        rwkv::test::as_doubles(rwkv::test::to_host(model.weights().flat)));

  // Another shape is refused naming the attribute; so is a file without one.
  ModelConfig other = rwkv::test::tiny_v7_config(true);
  other.rank_a = 4;
  Model7 wrong(other, inference_only);
  CHECK_THAT(error_of([&] { load_model(path, wrong); }),
             Catch::Contains(path) && Catch::Contains("'rank_a' is 3, the model has 4"));
  const auto edited = [&](const char* name, const char* attribute, long value) {
    const std::string copy = dir.file(name);
    std::filesystem::copy_file(path, copy);
    const hid_t file = H5Fopen(copy.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    REQUIRE(H5Adelete(file, attribute) >= 0);
    if (value >= 0) hdf5::write_int(file, copy, attribute, value);
    H5Fclose(file);
    return copy;
  };
  CHECK_THAT(error_of([&] { read_config(edited("no_head.h5", "head_size", -1)); }),
             Catch::Contains("no_head.h5") && Catch::Contains("head_size"));
  CHECK_THAT(error_of([&] { read_config(edited("odd_head.h5", "head_size", 5)); }),
             Catch::Contains("odd_head.h5") && Catch::Contains("n_embd 16 is not a multiple of head_size 5"));
  CHECK_THAT(error_of([&] { read_config(edited("layer0.h5", "layer0_value_lora", 2)); }),
             Catch::Contains("layer0.h5") && Catch::Contains("'layer0_value_lora' is 2, expected 0 or 1"));
}
