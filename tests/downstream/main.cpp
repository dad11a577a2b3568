// Normalizes one row with the installed library and checks the result has mean 0 and variance ~1;
// reads a missing PNG to check the image headers are installed and libpng comes with the package.
#include <rwkv/image/png_io.hpp>
#include <rwkv/kernels/layer_norm.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  using Space = Kokkos::DefaultExecutionSpace;
  const int C = 5;
  rwkv::Matrix<Space, float> x("x", 1, C), y("y", 1, C);
  rwkv::Vector<Space, float> w("w", C), b("b", C), mean("mean", 1), rstd("rstd", 1);
  Kokkos::parallel_for(
      "fill", Kokkos::RangePolicy<Space>(0, C), KOKKOS_LAMBDA(int c) {
        x(0, c) = float(c);
        w(c) = 1;
        b(c) = 0;
      });
  rwkv::layer_norm_forward(Space(), y, mean, rstd, x, w, b);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), y);
  double sum = 0, sq = 0;
  for (int c = 0; c < C; ++c) {
    sum += h(0, c);
    sq += h(0, c) * h(0, c);
  }
  bool png_error = false;
  try {
    rwkv::image::read_png("/nonexistent/downstream.png");
  } catch (const std::runtime_error&) {
    png_error = true;
  }
  const bool ok = std::abs(sum) < 1e-5 && std::abs(sq / C - 1) < 1e-3 && png_error;
  std::printf("downstream: mean %.2e, variance %.6f, missing PNG reported: %d: %s\n", sum / C, sq / C, int(png_error),
              ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
