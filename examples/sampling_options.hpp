// The sampling options every generating program takes (rwkv-generate, rwkv-txt2img, rwkv-caption),
// with the same names, meanings and defaults but top-p's, which suits each program's output.
#pragma once

#include "cli.hpp"

#include <rwkv/kernels/sampling.hpp>

namespace rwkv::cli {

inline void add_sampling_options(po::options_description& d, SamplerConfig& s, double default_top_p) {
  d.add_options()
      ("temperature", po::value(&s.temperature)->default_value(1.0), "0: greedy")
      ("top-k", po::value(&s.top_k)->default_value(0), "keep the k most probable tokens (0: off)")
      ("top-p", po::value(&s.top_p)->default_value(default_top_p), "keep the smallest set of mass >= p (1: off)")
      ("top-a", po::value(&s.top_a)->default_value(0.0), "drop p < a * p_max^2 (0: off)")
      ("top-p-x", po::value(&s.top_p_x)->default_value(0.0), "also keep every token with p > x (0: off)")
      ("presence-penalty", po::value(&s.presence_penalty)->default_value(0.0), "subtract from seen tokens' logits")
      ("frequency-penalty", po::value(&s.frequency_penalty)->default_value(0.0), "subtract per occurrence");
}

}  // namespace rwkv::cli
