// The architecture dispatch point (include/rwkv/arch.hpp): names and flags reach their version,
// unknown ones are refused naming the known ones, and a model's files carry its arch.
#include "test_support.hpp"
#include "temp_dir.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/checkpoint.hpp>
#include <rwkv/core/hdf5_support.hpp>

#include <catch2/catch.hpp>

#include <hdf5.h>

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
  CHECK(arch_name("v4") == "rwkv-4");
  CHECK(std::string(default_arch) == "rwkv-4");
  for (const std::string bad : {"", "v5", "rwkv-99", "RWKV-4", "v4 "})
    CHECK_THAT(error_of([&] { arch_name(bad); }),
               Catch::Contains("unknown architecture '" + bad + "'") && Catch::Contains("this build knows v4 (rwkv-4)"));
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
