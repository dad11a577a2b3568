// What every program over the library shares: Kokkos for the program's lifetime with a thread
// count, and one clear error line with a non-zero exit instead of an uncaught exception.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdio>
#include <exception>

namespace rwkv {

// threads = 0 keeps Kokkos' default (all cores, or the --kokkos-* / OMP_NUM_THREADS settings).
class KokkosRuntime {
 public:
  explicit KokkosRuntime(int threads) {
#if KOKKOS_VERSION >= 40000
    Kokkos::InitializationSettings settings;
    if (threads > 0) settings.set_num_threads(threads);
    Kokkos::initialize(settings);
#else
    Kokkos::InitArguments args;
    if (threads > 0) args.num_threads = threads;
    Kokkos::initialize(args);
#endif
  }
  ~KokkosRuntime() { Kokkos::finalize(); }
  KokkosRuntime(const KokkosRuntime&) = delete;
  KokkosRuntime& operator=(const KokkosRuntime&) = delete;
};

// Runs body(); a UsageError (bad options) becomes "program: what (see --help)" and exit code 2,
// any other exception "program: error: what" and exit code 1.
template <class UsageError, class Body>
int guarded_main(const char* program, Body&& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace rwkv
