// The token-by-token generation loop of rwkv-generate, also timed by rwkv-bench's generate row:
// from the logits of the last token fed, sample a token, hand it to `emit` (the host's work: printing),
// step the model on it, and so on, until `max_tokens` tokens or the stop token (which is neither
// emitted nor fed). The only host<->device traffic a token is the sampled id coming back and going
// in again (a uniform number goes in as a kernel argument).
#pragma once

#include <rwkv/kernels/sampling.hpp>

#include <Kokkos_Core.hpp>

namespace rwkv {

// Returns the number of tokens emitted (and fed: the state then holds every one of them); logits
// holds the last step's logits.
template <class Model, class Emit>
int generate_tokens(Model& model, Sampler<typename Model::execution_space, typename Model::scalar_type>& sampler,
                    const typename Model::State& state,
                    Matrix<typename Model::execution_space, typename Model::scalar_type>& logits, int max_tokens,
                    int stop_token, Emit&& emit) {
  int generated = 0;
  for (; generated < max_tokens; ++generated) {
    const int token = sampler.sample(Kokkos::subview(logits, 0, Kokkos::ALL));
    if (token == stop_token) break;
    emit(token);
    logits = model.step(token, state);
  }
  return generated;
}

}  // namespace rwkv
