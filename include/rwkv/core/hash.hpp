// SplitMix64's finalizer: every input bit affects every output bit. The image pipeline's seeded
// choices (RandRound, sample order) are hashes of their keys, so a run is reproducible in any
// order and on any thread.
#pragma once

#include <cstdint>

namespace rwkv::image {

inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace rwkv::image
