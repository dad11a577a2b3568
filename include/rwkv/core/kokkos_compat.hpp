// Absorbs the Kokkos API moves between 3.4.01 and 5.x so the rest of the code spells things once.
#pragma once

#include <Kokkos_Core.hpp>

namespace rwkv {

// Math functions lived in Kokkos::Experimental up to 3.x and moved to Kokkos in 4.0.
#if KOKKOS_VERSION >= 40000
namespace kmath = ::Kokkos;
#else
namespace kmath = ::Kokkos::Experimental;
#endif

// Kokkos::min / max are missing in 3.4.
template <class T>
KOKKOS_INLINE_FUNCTION constexpr T min_of(T a, T b) { return b < a ? b : a; }
template <class T>
KOKKOS_INLINE_FUNCTION constexpr T max_of(T a, T b) { return a < b ? b : a; }

}  // namespace rwkv
