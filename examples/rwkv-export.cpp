// rwkv-export: the weights of a checkpoint as a model file for inference, without the training
// state (/train: the AdamW moments, twice the weights again), in float32, float16 or bfloat16.
// A bfloat16 or float16 export is a quarter of a float32 training checkpoint.
#include "cli.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/checkpoint.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace rwkv;

const char* usage =
    "usage: rwkv-export CKPT OUT.h5 [--dtype float32|float16|bfloat16]\n"
    "Writes the weights and config of CKPT (a model file or a training checkpoint) as a model file\n"
    "without training state, rounding to the dtype (nearest, ties to even). The write is atomic.";

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-export", [&] {
    std::string in, out, dtype_name;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()("checkpoint", po::value(&in)->required(), "the HDF5 checkpoint to read")(
        "out", po::value(&out)->required(), "the model file to write")(
        "dtype", po::value(&dtype_name)->default_value("float32"), "float32, float16 or bfloat16");
    po::positional_options_description positional;
    positional.add("checkpoint", 1).add("out", 1);
    if (!cli::parse(argc, argv, d, usage, positional)) return 0;
    const WeightDtype dtype = parse_weight_dtype(dtype_name);
    if (dtype == WeightDtype::float64) throw std::invalid_argument("--dtype float64: export float32, float16 or bfloat16");
    if (in == out) throw std::invalid_argument("OUT.h5 is CKPT itself: write the export to another file");
    const ModelConfig config = read_config(in);
    const std::vector<TensorSpec> specs = tensor_specs(config);
    // In double: every stored dtype converts exactly, and the export rounds once.
    std::vector<double> weights(parameter_count(specs));
    load_weights(in, config, specs, weights.data());
    save_weights(out, config, specs, weights.data(), dtype);
    std::printf("rwkv-export: %s -> %s (%s, %zu parameters)\n", in.c_str(), out.c_str(), dtype_name.c_str(),
                weights.size());
    return 0;
  });
}
