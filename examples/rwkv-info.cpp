// rwkv-info: what a checkpoint holds (config, parameters, weight dtype, bytes, training progress);
// --check reads every dataset so that HDF5 verifies each Fletcher-32 checksum.
#include "cli.hpp"

#include <rwkv/checkpoint.hpp>
#include <rwkv/arch.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

namespace {

using namespace rwkv;

const char* usage =
    "usage: rwkv-info CKPT [--check]\n"
    "Prints the config, parameter count, weight dtype and size of an HDF5 checkpoint, and the training\n"
    "progress of a training checkpoint. Exits non-zero, naming the field, when the file is not a valid\n"
    "checkpoint (docs/FORMAT.md).";

void print_info(const std::string& path, const CheckpointInfo& info) {
  const ModelConfig& c = info.config;
  std::printf("file        %s (%ju bytes)\n", path.c_str(), info.file_bytes);
  std::printf("format      version %d%s%s\n", info.format_version, info.library.empty() ? "" : ", written by ",
              info.library.c_str());
  std::printf("arch        %s\n", info.arch.empty() ? "rwkv-4 (not recorded)" : info.arch.c_str());
  std::printf("config      n_layer %d, n_embd %d, dim_ffn %d, vocab_size %d", c.n_layer, c.n_embd, c.ffn(), c.vocab_size);
  if (info.ctx_len > 0) std::printf(", ctx_len %ld", info.ctx_len);
  std::printf(", image_positions %s", c.image_positions ? "on" : "off");
  if (has_head_shapes(c))
    std::printf("\nshapes      %s; layer 0 value LoRA %s; ln_x eps %g", head_shapes_summary(c).c_str(),
                c.layer0_value_lora ? "stored" : "absent", c.ln_x_eps);
  std::printf("\nparameters  %zu in %zu tensors\n", info.parameters, info.tensors);
  std::printf("weights     %s, %zu bytes\n", info.weight_dtype.c_str(), info.weight_bytes);
  if (info.training) {
    const TrainingState& t = *info.training;
    std::printf("training    step %ld of %ld, %ld tokens seen, lr %.6g, seed %ju, ctx_len %d x micro_batch %d\n", t.step,
                t.optimizer.total_steps, t.tokens_seen(), t.lr, std::uintmax_t(t.seed), t.ctx_len, t.micro_batch);
    std::printf("data        %s (%ld tokens)\n", t.data_source.c_str(), t.data_tokens);
  } else {
    std::printf("training    none (a model file)\n");
  }
  // Files of other tools may hold many: the first few name the kind.
  const std::size_t shown = std::min<std::size_t>(info.other_datasets.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) std::printf("other       %s\n", info.other_datasets[i].c_str());
  if (info.other_datasets.size() > shown) std::printf("other       ... %zu datasets in all\n", info.other_datasets.size());
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-info", [&] {
    std::string path;
    bool check = false;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()("checkpoint", po::value(&path)->required(), "the HDF5 checkpoint")(
        "check", po::bool_switch(&check), "read every dataset, verifying its checksum");
    po::positional_options_description positional;
    positional.add("checkpoint", 1);
    if (!cli::parse(argc, argv, d, usage, positional)) return 0;
    print_info(path, inspect_checkpoint(path));
    if (check) {
      const VerifyReport report = verify_checkpoint(path);
      std::printf("check       %zu datasets read; %zu of them carry a checksum, all match\n", report.datasets,
                  report.checksummed);
    }
    return 0;
  });
}
