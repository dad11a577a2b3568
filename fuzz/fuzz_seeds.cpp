// Writes the fuzzer's seed corpus into a directory: small valid files from the library's own
// writers (a float and a double RWKV-4 model, an RWKV-7 one, a state), so that mutations start
// from real layouts.
//   fuzz_seeds DIR
#include <rwkv/checkpoint.hpp>
#include <rwkv/v4/weights.hpp>
#include <rwkv/v7/weights.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    // fuzz_checkpoint.cpp's seed_config: n_layer 1, n_embd 4, dim_ffn 8, vocab 8.
    const rwkv::ModelConfig config{1, 4, 8, 8, false, rwkv::v4::name};
    const std::vector<rwkv::TensorSpec> specs = rwkv::tensor_specs(rwkv::v4{}, config);
    std::vector<float> weights(rwkv::parameter_count(specs));
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = float(i % 7) * 0.25f - 0.5f;
    rwkv::save_weights(dir + "/model-float.h5", config, specs, weights.data());
    const std::vector<double> as_double(weights.begin(), weights.end());
    rwkv::save_weights(dir + "/model-double.h5", config, specs, as_double.data());
    // RWKV-7: its head and LoRA attributes besides the shared four.
    rwkv::ModelConfig config7{1, 8, 8, 8, false, rwkv::v7::name};
    config7.head_size = 4;
    config7.rank_w = config7.rank_a = config7.rank_v = config7.rank_g = 2;
    const std::vector<rwkv::TensorSpec> specs7 = rwkv::tensor_specs(rwkv::v7{}, config7);
    const std::vector<float> weights7(rwkv::parameter_count(specs7), 0.25f);
    rwkv::save_weights(dir + "/model-v7.h5", config7, specs7, weights7.data());
    std::vector<double> state(std::size_t(config.n_layer) * 5 * 2 * config.n_embd, 0.5);
    rwkv::save_state_data(dir + "/state.h5", config, {1, 5, 2, 4}, state.data());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
