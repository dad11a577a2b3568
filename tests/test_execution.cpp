#include <rwkv/core/execution.hpp>

#include <catch2/catch.hpp>

// The switch reaches the tests through the library's PUBLIC definition: a build configured with
// RWKV_PORTABLE_PATHS tests the device paths, every other build the host fast paths.
TEST_CASE("host spaces take the code paths the build asks for", "[execution]") {
#if defined(RWKV_PORTABLE_PATHS)
  constexpr bool fast = false;
#else
  constexpr bool fast = true;
#endif
#if defined(KOKKOS_ENABLE_SERIAL)
  STATIC_REQUIRE(rwkv::host_fast_path<Kokkos::Serial> == fast);
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
  STATIC_REQUIRE(rwkv::host_fast_path<Kokkos::OpenMP> == fast);
#endif
#if defined(RWKV_OPENMP_LOOPS)
  STATIC_REQUIRE(fast);
#endif
}
