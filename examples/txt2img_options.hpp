// The options rwkv-txt2img and rwkv-caption share (the checkpoint, the caption field, the batch,
// the seed, int8 weights, threads and sampling), with one set of names, help texts and checks.
#pragma once

#include "sampling_options.hpp"

#include <rwkv/txt2img_generate.hpp>

#include <stdexcept>
#include <string>

namespace rwkv::cli {

struct Txt2ImgProgramOptions {
  std::string model;
  Txt2ImgOptions generation;
  int batch = 64, threads = 0;
  bool int8 = false;
};

// `outputs` names what the program makes ("images", "captions") in the help texts.
inline void add_txt2img_options(po::options_description& d, Txt2ImgProgramOptions& o, const std::string& outputs,
                                double default_top_p) {
  d.add_options()
      ("model", po::value(&o.model)->required(), "txt2img checkpoint (HDF5, vocabulary 773)")
      ("caption-bytes", po::value(&o.generation.caption_bytes)->default_value(0),
       "caption field of the training samples, pad with End / cut to this (0: the checkpoint's training run's, else 96)")
      ("batch", po::value(&o.batch)->default_value(64), (outputs + " generated side by side").c_str())
      ("seed", po::value(&o.generation.seed)->default_value(42), "sampling seed (output j: stream seed + j)")
      ("int8", po::bool_switch(&o.int8), "int8 weights (every matrix, head included)")
      ("threads", po::value(&o.threads)->default_value(0), "host threads (0: Kokkos' default)");
  add_sampling_options(d, o.generation.sampling, default_top_p);
}

inline void check_txt2img_options(const Txt2ImgProgramOptions& o) {
  if (o.batch < 1) throw std::invalid_argument("--batch must be at least 1, got " + std::to_string(o.batch));
  if (o.generation.caption_bytes < 0)
    throw std::invalid_argument("--caption-bytes must not be negative, got " + std::to_string(o.generation.caption_bytes));
  validate(o.generation.sampling);
}

}  // namespace rwkv::cli
