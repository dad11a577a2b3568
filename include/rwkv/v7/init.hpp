// RWKV-7 initialization (as RWKV-LM's RWKV-v7/train_temp; RWKV-VERSIONS.md 1.1), computed on the
// host from a seed. With l the layer of L, C channels in heads of N, n the channel:
//   r0 = l/(L-1), r1 = 1 - l/L, ddd_n = n/C, linear_n = n/(C-1) - 1/2,
//   zigzag_n = z|z| with z = ((n mod N) - (N-1)/2) / ((N-1)/2)
// - emb uniform(-1e-4, 1e-4); layer norms weight 1, bias 0;
// - att.x_r, x_w, x_k, x_v, x_a, x_g = 1 - ddd^(p r1), p = 0.2, 0.9, 0.7, 0.7, 0.9, 0.2;
// - att.w0 = -6 + 6 (n/(C-1))^(1 + r0^0.3) + 0.5 + 2.5 zigzag; att.a0 = -0.19 + 0.3 zigzag + 0.4 linear;
//   att.v0 = 0.73 - 0.4 linear; the LoRAs' first matrices 0, their second orthogonal times 0.1;
// - att.k_k = 0.71 - 0.1 linear, att.k_a = 1.02, att.r_k = -0.04;
// - att.receptance, att.value orthogonal (gain 1), att.key orthogonal times 0.1, att.output 0;
// - att.ln_x weight ((1 + l)/L)^0.7, bias 0; ffn.x_k = 1 - ddd^(r1^4);
// - ffn.key orthogonal, ffn.value 0; head orthogonal times 0.5;
// orthogonal matrices with gain sqrt(rows/cols) where rows > cols.
#pragma once

#include <rwkv/v7/weights.hpp>

#include <cstdint>

namespace rwkv {

// Fills host_flat (parameter_count(specs) values) with the initial weights.
template <class Scalar>
void initialize_weights(v7, const ModelConfig& config, const std::vector<TensorSpec>& specs, std::uint64_t seed,
                        Scalar* host_flat);

}  // namespace rwkv
