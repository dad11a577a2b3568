// Option parsing for the benchmark programs: the command line only (no config file), usage on
// --help, and bad options as one line with exit code 2 (rwkv/core/program.hpp).
#pragma once

#include <rwkv/core/program.hpp>

#include <boost/program_options.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace rwkv::bench {

namespace po = boost::program_options;

// Parses argv; prints usage and returns nullopt on --help.
inline std::optional<po::variables_map> parse(int argc, char** argv, po::options_description& options,
                                              const std::string& usage) {
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << options << "\n";
    return std::nullopt;
  }
  po::notify(vm);
  return vm;
}

template <class Body>
int guarded_main(const char* program, Body&& body) {
  return rwkv::guarded_main<po::error>(program, body);
}

}  // namespace rwkv::bench
