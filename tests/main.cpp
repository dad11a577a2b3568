// One Kokkos::ScopeGuard for the whole Catch2 run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cstdlib>

int main(int argc, char* argv[]) {
  // ctest discovers the test names by parsing this program's output: Kokkos' advice on thread
  // binding must not appear there. A user's own setting wins.
  setenv("KOKKOS_DISABLE_WARNINGS", "1", 0);
  Kokkos::ScopeGuard kokkos(argc, argv);
  return Catch::Session().run(argc, argv);
}
