// RWKV-4 initialization (as RWKV-LM's RWKV-v4neo), computed on the host from a seed:
// - layer norms: weight 1, bias 0; embedding uniform(-1e-4, 1e-4) (small-init embedding);
// - att.key/receptance/output and ffn.receptance/value start at zero; the other matrices are
//   orthogonal with gain sqrt(rows/cols) when rows > cols, and head.weight gets gain
//   0.5 * sqrt(V/C) when V > C (else 0.5);
// - per layer i of L, with r01 = i/(L-1) and r10 = 1 - i/L, and d_c = c/C over channels c:
//     time_decay[c] = -5 + 8 * (c/(C-1))^(0.7 + 1.3*r01)
//     time_first[c] = ln(0.3) + 0.5 * ((c+1) % 3 - 1)
//     att.time_mix_k = d^r10,  att.time_mix_v = d^r10 + 0.3*r01,  att.time_mix_r = d^(0.5*r10)
//     ffn.time_mix_k = ffn.time_mix_r = d^r10
#pragma once

#include <rwkv/v4/weights.hpp>

#include <cstdint>

namespace rwkv {

// Fills host_flat (parameter_count(specs) values) with the initial weights.
template <class Scalar>
void initialize_weights(v4, const ModelConfig& config, const std::vector<TensorSpec>& specs, std::uint64_t seed,
                        Scalar* host_flat);

}  // namespace rwkv
