// The library's two hashes, written once:
//   fnv1a64     FNV-1a (64 bit) over bytes: the fingerprints files record (a checkpoint's data
//               hash, an image set's) and that ranks compare (their weights).
//   splitmix64  SplitMix64 (Steele, Lea, Flood 2014): every input bit affects every output bit.
//               Seeded choices (RandRound, sample order, data offsets, sampling's uniforms) are
//               hashes of their keys, so a run is reproducible in any order and on any thread.
// Their values are part of the file formats and of every seeded stream: they must never change.
// splitmix64 and mix64 run on the device too.
#pragma once

#include <Kokkos_Macros.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace rwkv {

inline constexpr std::uint64_t fnv1a64_offset_basis = 14695981039346656037ull;
inline constexpr std::uint64_t fnv1a64_prime = 1099511628211ull;

// FNV-1a of the bytes, continuing from `hash` (the offset basis starts a new one): hashing pieces
// in turn gives the hash of their concatenation. Bytes only (std::as_bytes, bytes_of), so that no
// pointer, string or size converts into the wrong argument.
inline std::uint64_t fnv1a64(std::span<const std::byte> bytes, std::uint64_t hash = fnv1a64_offset_basis) {
  for (const std::byte b : bytes) hash = (hash ^ std::uint64_t(b)) * fnv1a64_prime;
  return hash;
}

inline std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text)); }

// Per output, the generator's state advances by this odd constant.
inline constexpr std::uint64_t splitmix64_increment = 0x9e3779b97f4a7c15ull;

// Output n (from 1) of SplitMix64 seeded with `seed`: its finalizer applied to seed + n * increment.
KOKKOS_INLINE_FUNCTION constexpr std::uint64_t splitmix64(std::uint64_t seed, std::uint64_t n) {
  std::uint64_t z = seed + n * splitmix64_increment;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A 64-bit mixer of one key: SplitMix64's first output with the key as its seed.
KOKKOS_INLINE_FUNCTION constexpr std::uint64_t mix64(std::uint64_t key) { return splitmix64(key, 1); }

}  // namespace rwkv
