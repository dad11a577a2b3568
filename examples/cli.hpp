// What every program in examples/ shares: option parsing (command line, then an optional ini
// file given by --config: the command line wins), Kokkos start-up and one clear error line for
// bad input (rwkv/core/program.hpp), the default tokenizer, and the check that every floating
// option is a finite number.
#pragma once

#include <rwkv/core/program.hpp>

#include <boost/program_options.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#ifndef RWKV_DEFAULT_DATA_DIR
#define RWKV_DEFAULT_DATA_DIR "/opt/rwkv-kokkos/data"
#endif

namespace rwkv::cli {

namespace po = boost::program_options;

// Parses argv (and --config FILE); prints usage and returns nullopt on --help.
inline std::optional<po::variables_map> parse(int argc, char** argv, po::options_description& options,
                                              const std::string& usage,
                                              const po::positional_options_description& positional = {}) {
  options.add_options()("config", po::value<std::string>(), "ini file with any of these options (name = value)")(
      "help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << options << "\n";
    return std::nullopt;
  }
  if (vm.count("config")) {
    const std::string path = vm["config"].as<std::string>();
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open config file");
    po::store(po::parse_config_file(in, options), vm);
  }
  po::notify(vm);
  return vm;
}

// Throws std::invalid_argument naming the first floating option (command line or config file)
// whose value is NaN or infinite: range checks written as comparisons would let such a value
// through into a whole run.
inline void require_finite(const po::variables_map& vm) {
  for (const auto& [name, value] : vm) {
    double x = 0;
    if (const auto* d = boost::any_cast<double>(&value.value()))
      x = *d;
    else if (const auto* f = boost::any_cast<float>(&value.value()))
      x = *f;
    else
      continue;
    if (!std::isfinite(x))
      throw std::invalid_argument("--" + name + " must be a finite number, got " +
                                  (std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf"));
  }
}

using rwkv::KokkosRuntime;

// Runs body(); bad input becomes one line on stderr and exit code 1 (2 for bad options).
template <class Body>
int guarded_main(const char* program, Body&& body) {
  return rwkv::guarded_main<po::error>(program, body);
}

// The tokenizer spec for --tokenizer (load_tokenizer's argument); when none is given, the one a
// checkpoint's vocabulary implies: bytes for 256 tokens, the GPT-NeoX BPE of the Pile models (which
// scripts/setup.sh installs) for 50277.
inline std::string tokenizer_spec(const std::string& given, int vocab_size) {
  if (!given.empty()) return given;
  if (vocab_size == 256) return "bytes";
  if (vocab_size == 50277) return RWKV_DEFAULT_DATA_DIR "/20B_tokenizer.json";
  throw std::invalid_argument("a vocabulary of " + std::to_string(vocab_size) +
                              " tokens has no default tokenizer: give --tokenizer (bytes, a tokenizer.json or a "
                              "World vocab .txt)");
}

}  // namespace rwkv::cli
