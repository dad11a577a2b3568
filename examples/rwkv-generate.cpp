// rwkv-generate: continues a prompt with a checkpoint in RNN mode. The prompt runs as one parallel
// prefill, then tokens are sampled on the device one at a time and printed as they come. The
// state can be read from and written to HDF5, to continue a conversation later; the last line
// (on stderr, so stdout holds only text) gives the prefill and generation speeds.
#include "cli.hpp"
#include "sampling_options.hpp"
#include "weight_options.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/checkpoint.hpp>
#include <rwkv/generate.hpp>
#include <rwkv/kernels/sampling.hpp>
#include <rwkv/tokenizer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string model, prompt, prompt_file, tokenizer, state_in, state_out;
  SamplerConfig sampling;
  int max_tokens = 200, threads = 0, stop_token = -1, max_prompt_tokens = 0, prefill_chunk = 1024;
  std::uint64_t seed = 42;
  cli::WeightOptions weights;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open prompt file");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <class Version>
int generate(const Options& o, const ModelConfig& config, cli::RnnWeights weights) {
  using GenModel = Model<Version, Space, float>;
  const auto tokenizer = load_tokenizer(cli::tokenizer_spec(o.tokenizer, config.vocab_size));
  const std::string text = o.prompt_file.empty() ? o.prompt : read_file(o.prompt_file);
  const std::vector<Token> prompt = tokenizer->encode(text);
  if (prompt.empty()) throw std::invalid_argument("the prompt is empty: give --prompt TEXT or --prompt-file F");
  if (o.max_prompt_tokens > 0 && prompt.size() > std::size_t(o.max_prompt_tokens))
    throw std::invalid_argument("the prompt has " + std::to_string(prompt.size()) + " tokens, more than --max-prompt-tokens " +
                                std::to_string(o.max_prompt_tokens));
  for (const Token t : prompt)
    if (int(t) >= config.vocab_size)
      throw std::invalid_argument("the prompt encodes to token " + std::to_string(t) + ", outside the model's " +
                                  std::to_string(config.vocab_size) + "-token vocabulary (wrong --tokenizer?)");

  GenModel model(config, inference_only);
  load_model(o.model, model);
  cli::use_rnn_weights(model, weights);
  const typename GenModel::State state = o.state_in.empty() ? model.new_state() : load_state(o.state_in, model);
  if (state.slots() != 1)
    throw std::invalid_argument(o.state_in + ": holds " + std::to_string(state.slots()) + " sequences, not 1");
  Sampler<Space, float> sampler(model.space(), config.vocab_size, o.sampling, o.seed);

  // Prefill in chunks: the state carries over between them, so the result is the same for any
  // chunk size, and memory stays bounded however long the prompt.
  const std::vector<int> ids(prompt.begin(), prompt.end());
  const int chunk = int(std::min<std::size_t>(ids.size(), std::size_t(o.prefill_chunk)));
  typename GenModel::TokenView tokens("prompt", chunk);
  auto t0 = Clock::now();
  Matrix<Space, float> logits;
  for (std::size_t first = 0; first < ids.size(); first += std::size_t(chunk)) {
    const int T = int(std::min<std::size_t>(std::size_t(chunk), ids.size() - first));
    const auto part = Kokkos::subview(tokens, std::make_pair(0, T));
    Kokkos::deep_copy(part, Kokkos::View<const int*, Kokkos::HostSpace>(ids.data() + first, T));
    logits = model.infer(part, T, state);
  }
  Kokkos::fence();
  const double prefill_seconds = seconds_since(t0);

  t0 = Clock::now();
  const int generated = generate_tokens(model, sampler, state, logits, o.max_tokens, o.stop_token, [&](int token) {
    const std::string piece = tokenizer->token_bytes(Token(token));
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  Kokkos::fence();
  const double generate_seconds = seconds_since(t0);
  std::printf("\n");
  if (!o.state_out.empty()) save_state(o.state_out, model, state);
  std::fprintf(stderr, "rwkv-generate: prefill %zu tokens at %.1f tokens/s, generated %d tokens at %.1f tokens/s%s\n",
               ids.size(), ids.size() / prefill_seconds, generated, generated / generate_seconds,
               cli::weights_note(weights));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-generate", [&]() -> int {
    Options o;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()
        ("model", po::value(&o.model)->required(), "checkpoint (HDF5)")
        ("prompt", po::value(&o.prompt), "prompt text")
        ("prompt-file", po::value(&o.prompt_file), "read the prompt from this file")
        ("tokenizer", po::value(&o.tokenizer), "bytes, a Hugging Face tokenizer.json or an RWKV World vocab .txt "
                                               "(default: bytes for vocab 256, GPT-NeoX for 50277)")
        ("max-tokens", po::value(&o.max_tokens)->default_value(200), "tokens to generate")
        ("max-prompt-tokens", po::value(&o.max_prompt_tokens)->default_value(0), "refuse longer prompts (0: no limit)")
        ("prefill-chunk", po::value(&o.prefill_chunk)->default_value(1024), "prompt tokens per parallel pass")
        ("stop-token", po::value(&o.stop_token)->default_value(-1), "stop when this token is sampled (e.g. 0)")
        ("seed", po::value(&o.seed)->default_value(42), "sampling seed")
        ("state-in", po::value(&o.state_in), "start from this state (HDF5, from --state-out)")
        ("state-out", po::value(&o.state_out), "write the final state here (HDF5)")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    cli::add_weight_options(d, o.weights, "int8 weights (every matrix, head included)");
    cli::add_sampling_options(d, o.sampling, 0.85);
    const auto vm = cli::parse(argc, argv, d,
                               "usage: rwkv-generate --model CKPT (--prompt TEXT | --prompt-file F) [--max-tokens N]");
    if (!vm) return 0;
    if (o.prompt.empty() == o.prompt_file.empty())
      throw std::invalid_argument("give exactly one of --prompt and --prompt-file");
    if (o.max_tokens < 0) throw std::invalid_argument("--max-tokens must not be negative");
    if (o.prefill_chunk < 1) throw std::invalid_argument("--prefill-chunk must be positive");
    validate(o.sampling);
    const cli::RnnWeights weights = cli::rnn_weights(o.weights, o.model);
    cli::KokkosRuntime runtime(o.threads);
    const ModelConfig config = read_config(o.model);
    return with_arch(config.arch, [&](auto version) { return generate<decltype(version)>(o, config, weights); });
  });
}
