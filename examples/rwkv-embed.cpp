// rwkv-embed: the RNN state after a text as a sentence embedding (the RWKV README's "free sentence
// embedding"): state_embedding of the model's state, n_layer * n_embd numbers (RWKV-4: per layer
// the WKV state's weighted mean of the values; RWKV-7: per layer and head the WKV state read with a
// uniform key).
// Each line of --text-file is one text; the embeddings print one per line, or go to an HDF5
// dataset "embedding" [texts, n_layer * n_embd].
#include "cli.hpp"

#include <rwkv/arch.hpp>
#include <rwkv/checkpoint.hpp>
#include <rwkv/tokenizer.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using Space = Kokkos::DefaultExecutionSpace;

struct Options {
  std::string model, text, text_file, tokenizer, out;
  int threads = 0;
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open text file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  if (lines.empty()) throw std::runtime_error(path + ": no non-empty line to embed");
  return lines;
}

template <class EmbedModel>
std::vector<float> embed(EmbedModel& model, const Tokenizer& tokenizer, const std::string& text) {
  const std::vector<Token> encoded = tokenizer.encode(text);
  if (encoded.empty()) throw std::invalid_argument("cannot embed an empty text");
  std::vector<int> ids(encoded.begin(), encoded.end());
  for (const int t : ids)
    if (t >= model.config().vocab_size)
      throw std::invalid_argument("the text encodes to token " + std::to_string(t) + ", outside the model's " +
                                  std::to_string(model.config().vocab_size) + "-token vocabulary");
  typename EmbedModel::TokenView tokens("text", ids.size());
  Kokkos::deep_copy(tokens, Kokkos::View<const int*, Kokkos::HostSpace>(ids.data(), ids.size()));
  const auto state = model.new_state();
  model.infer(tokens, int(ids.size()), state);
  return state_embedding(state, 0);
}

template <class Version>
int run(const Options& o, const ModelConfig& config) {
  using EmbedModel = Model<Version, Space, float>;
  const auto tokenizer = load_tokenizer(cli::tokenizer_spec(o.tokenizer, config.vocab_size));
  const std::vector<std::string> texts = o.text_file.empty() ? std::vector<std::string>{o.text} : read_lines(o.text_file);
  EmbedModel model(config, inference_only);
  load_model(o.model, model);
  std::vector<std::vector<float>> rows;
  for (const std::string& t : texts) rows.push_back(embed(model, *tokenizer, t));
  if (!o.out.empty()) {
    std::vector<float> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    save_float_matrix(o.out, "embedding", rows.size(), rows.front().size(), flat.data());
    std::fprintf(stderr, "rwkv-embed: wrote %zu embeddings of %zu numbers to %s\n", rows.size(), rows.front().size(),
                 o.out.c_str());
    return 0;
  }
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) std::printf(i ? " %.6g" : "%.6g", r[i]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::guarded_main("rwkv-embed", [&]() -> int {
    Options o;
    namespace po = cli::po;
    po::options_description d("options");
    d.add_options()
        ("model", po::value(&o.model)->required(), "checkpoint (HDF5)")
        ("text", po::value(&o.text), "the text to embed")
        ("text-file", po::value(&o.text_file), "embed every non-empty line of this file")
        ("tokenizer", po::value(&o.tokenizer), "bytes, a tokenizer.json or a World vocab .txt (default by vocabulary)")
        ("out", po::value(&o.out), "write the embeddings to this HDF5 file (dataset 'embedding') instead of stdout")
        ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
    const auto vm = cli::parse(argc, argv, d, "usage: rwkv-embed --model CKPT (--text TEXT | --text-file F) [--out OUT.h5]");
    if (!vm) return 0;
    if (o.text.empty() == o.text_file.empty()) throw std::invalid_argument("give exactly one of --text and --text-file");
    cli::KokkosRuntime runtime(o.threads);
    const ModelConfig config = read_config(o.model);
    return with_arch(config.arch, [&](auto version) { return run<decltype(version)>(o, config); });
  });
}
