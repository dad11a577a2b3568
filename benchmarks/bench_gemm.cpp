// Linear-layer GEMMs at RWKV shapes on the default execution space, in float: every GEMM library
// the space can call (gemm_vendor.hpp: on the host each backend of the build, oneDNN and OpenBLAS;
// on CUDA cuBLAS) and the portable tiled kernel, each as a fraction of the machine's sgemm ceiling
// measured in the same run: the best rate of square products (512, 1024, 2048) of any library,
// timed before and after the layer shapes. Shared machines make absolute rates noise; the
// fractions are what to compare. The rnn rows (N = 1) are matrix-vector products, bound by memory
// bandwidth, not by the ceiling; matmul_forward takes its own few-rows kernel there, which the
// dispatch rows time.
// bfloat16 training products (gemm_bf16.hpp), where the space multiplies bfloat16 natively, are
// timed against float taking turns, as a shared machine's load moves: in each of --rounds rounds
// the float dispatch, the bfloat16 entry (matmul_forward_bf16 / matmul_backward_bf16, which round
// x or dy on every call, as training does) and on the host oneDNN's bfloat16 matmul on operands
// rounded beforehand (onednn_bf16) run once each.
//   bench_gemm [--min-time SECONDS] [--no-head] [--rounds N] [--bf16-only]
// Prints CSV on stdout once all is timed: kind,path,product,N,in,out,gflop,seconds,gflops,
// fraction_of_ceiling (kind: ceiling, layer (training shapes), rnn (N = 1) or bf16 (the rounds
// above); path: dispatch (matmul_forward / matmul_backward, as the library calls them), a host
// backend by name (openblas, onednn), portable, bf16 or onednn_bf16; product: y = x W^T,
// dx = dy W or dW = dy^T x; seconds: the best of the timed calls, for kind bf16 the median of the
// rounds). The library's choice, and per bf16 product the median and range of the rounds' float
// over bfloat16 time, are printed on stderr.
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/kernels/gemm_bf16.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <cstddef>
#include <vector>

namespace {

using Space = Kokkos::DefaultExecutionSpace;
using Mat = rwkv::Matrix<Space, float>;

struct Shape {
  int N, in, out;
};

// Fills a view with a fixed small pattern (the values do not change the time of a dense product).
void fill(const Mat& m, float seed) {
  const auto host = Kokkos::create_mirror_view(m);
  for (std::size_t r = 0; r < m.extent(0); ++r)
    for (std::size_t c = 0; c < m.extent(1); ++c) host(r, c) = seed * float(int((r * 7 + c * 13) % 17) - 8) / 8.0f;
  Kokkos::deep_copy(m, host);
}

// The best time of one call: repeated until min_time has passed (one call when it alone takes
// longer), after one untimed call when that is cheap enough to spare.
template <class F>
double best_seconds(F&& call, double min_time) {
  Kokkos::Timer timer;
  call();
  Space().fence();
  double best = timer.seconds();
  if (best > min_time) return best;
  double total = 0;
  best = 1e300;
  for (int reps = 0; reps < 2 || total < min_time; ++reps) {
    timer.reset();
    call();
    Space().fence();
    const double t = timer.seconds();
    best = std::min(best, t);
    total += t;
  }
  return best;
}

struct Row {
  const char* kind;
  std::string path;
  const char* product;
  Shape shape;
  double seconds;
  double gflops() const { return 2.0 * shape.N * shape.in * double(shape.out) * 1e-9 / seconds; }
};

// The paths a product is timed on: the library's dispatch, each host backend of the build
// (called directly), the portable kernel.
std::vector<std::string> paths() {
  std::vector<std::string> p = {"dispatch"};
  if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible)
    for (const rwkv::HostGemm backend : {rwkv::HostGemm::openblas, rwkv::HostGemm::onednn})
      if (rwkv::host_gemm_available(backend)) p.push_back(rwkv::host_gemm_name(backend));
  p.push_back("portable");
  return p;
}

rwkv::HostGemm backend_named(const std::string& name) {
  return name == "onednn" ? rwkv::HostGemm::onednn : rwkv::HostGemm::openblas;
}

// C = op(A) op(B) + beta C on one path: the products of a linear layer, W [out, in].
enum class Product { y, dx, dW };
void run_product(const Space& space, const std::string& path, Product product, const Mat& x, const Mat& W,
                 const Mat& y, const Mat& dy, const Mat& dx, const Mat& dW) {
  const Mat none;
  if (path == "dispatch") {
    if (product == Product::y) rwkv::matmul_forward(space, y, x, W);
    if (product == Product::dx) rwkv::matmul_backward(space, dx, none, dy, x, W);
    if (product == Product::dW) rwkv::matmul_backward(space, none, dW, dy, x, W);
  } else if (path == "portable") {
    if (product == Product::y) rwkv::matmul_forward_portable(space, y, x, W);
    if (product == Product::dx) rwkv::matmul_backward_portable(space, dx, none, dy, x, W);
    if (product == Product::dW) rwkv::matmul_backward_portable(space, none, dW, dy, x, W);
  } else {
    const int N = int(x.extent(0)), in = int(x.extent(1)), out = int(W.extent(0));
    const rwkv::HostGemm backend = backend_named(path);
    if (product == Product::y) rwkv::host_gemm(backend, {false, true, N, out, in, in, in, out}, x.data(), W.data(), 0.0f, y.data());
    if (product == Product::dx) rwkv::host_gemm(backend, {false, false, N, in, out, out, in, in}, dy.data(), W.data(), 1.0f, dx.data());
    if (product == Product::dW) rwkv::host_gemm(backend, {true, false, out, in, N, out, in, in}, dy.data(), x.data(), 1.0f, dW.data());
  }
}

// Square sgemms on every library path: the machine's ceiling is the best of them, each timed for
// at least a second so that the best call is one the machine's other load spared. Several sizes,
// as the fastest one varies from run to run on a shared machine.
void time_squares(const Space& space, double min_time, std::vector<Row>& rows) {
  min_time = std::max(min_time, 1.0);
  for (const int n : {512, 1024, 2048}) {
    Mat x("x", n, n), W("W", n, n), y("y", n, n);
    fill(x, 1.0f);
    fill(W, 0.5f);
    for (const std::string& path : paths()) {
      if (path == "portable") continue;
      const double t = best_seconds([&] { run_product(space, path, Product::y, x, W, y, y, y, y); }, min_time);
      rows.push_back({"ceiling", path, "y", {n, n, n}, t});
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// The bfloat16 rounds of the header's comment on one layer shape, all three products.
void time_bf16(const Space& space, const Shape s, int rounds, std::vector<Row>& rows) {
  Mat x("x", s.N, s.in), W("W", s.out, s.in), y("y", s.N, s.out);
  Mat dy("dy", s.N, s.out), dx("dx", s.N, s.in), dW("dW", s.out, s.in);
  fill(x, 1.0f);
  fill(W, 0.5f);
  fill(dy, 0.25f);
  const Mat none;
  rwkv::BFloat16Matrix<Space> Wb("Wb", s.out, s.in), xb("xb", s.N, s.in), dyb("dyb", s.N, s.out);
  rwkv::convert_bfloat16<Space, float>(space, Wb, W);
  rwkv::convert_bfloat16<Space, float>(space, xb, x);
  rwkv::convert_bfloat16<Space, float>(space, dyb, dy);
  rwkv::BFloat16GemmWork<Space, float> work;
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  for (const Product product : {Product::y, Product::dx, Product::dW}) {
    const char* name = product == Product::y ? "y" : product == Product::dx ? "dx" : "dW";
    const auto bf16 = [&] {
      if (product == Product::y) rwkv::matmul_forward_bf16(space, y, x, Wb, work);
      if (product == Product::dx) rwkv::matmul_backward_bf16(space, dx, none, dy, x, Wb, work);
      if (product == Product::dW) rwkv::matmul_backward_bf16(space, none, dW, dy, x, Wb, work);
    };
    const auto direct = [&] {
      if constexpr (host) {
        const int N = s.N, in = s.in, out = s.out;
        if (product == Product::y) rwkv::host_gemm_bf16({false, true, N, out, in, in, in, out}, xb.bits.data(), Wb.bits.data(), 0.0f, y.data());
        if (product == Product::dx) rwkv::host_gemm_bf16({false, false, N, in, out, out, in, in}, dyb.bits.data(), Wb.bits.data(), 1.0f, dx.data());
        if (product == Product::dW) rwkv::host_gemm_bf16({true, false, out, in, N, out, in, in}, dyb.bits.data(), xb.bits.data(), 1.0f, dW.data());
      }
    };
    const auto seconds = [&](const auto& call) {
      Kokkos::Timer timer;
      call();
      space.fence();
      return timer.seconds();
    };
    const auto fp32 = [&] { run_product(space, "dispatch", product, x, W, y, dy, dx, dW); };
    fp32();
    bf16();
    if (host) direct();
    std::vector<double> t_fp32, t_bf16, t_direct, ratio, ratio_direct;
    for (int r = 0; r < rounds; ++r) {
      t_fp32.push_back(seconds(fp32));
      t_bf16.push_back(seconds(bf16));
      ratio.push_back(t_fp32.back() / t_bf16.back());
      if (host) {
        t_direct.push_back(seconds(direct));
        ratio_direct.push_back(t_fp32.back() / t_direct.back());
      }
    }
    rows.push_back({"bf16", "dispatch", name, s, median(t_fp32)});
    rows.push_back({"bf16", "bf16", name, s, median(t_bf16)});
    std::fprintf(stderr, "bf16 %s N=%d in=%d out=%d: float/bf16 %.2fx (%.2f-%.2f)", name, s.N, s.in, s.out,
                 median(ratio), *std::min_element(ratio.begin(), ratio.end()),
                 *std::max_element(ratio.begin(), ratio.end()));
    if (host) {
      rows.push_back({"bf16", "onednn_bf16", name, s, median(t_direct)});
      std::fprintf(stderr, ", float/onednn_bf16 %.2fx (%.2f-%.2f)", median(ratio_direct),
                   *std::min_element(ratio_direct.begin(), ratio_direct.end()),
                   *std::max_element(ratio_direct.begin(), ratio_direct.end()));
    }
    std::fprintf(stderr, " over %d rounds\n", rounds);
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  double min_time = 0.2;
  bool head = true, bf16_only = false;
  int rounds = 9;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--min-time") && i + 1 < argc) {
      min_time = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--no-head")) {
      head = false;
    } else if (!std::strcmp(argv[i], "--bf16-only")) {
      bf16_only = true;
    } else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (!std::strncmp(argv[i], "--kokkos", 8)) {
      continue;
    } else {
      std::fprintf(stderr, "usage: bench_gemm [--min-time SECONDS] [--no-head] [--rounds N] [--bf16-only]\n");
      return 2;
    }
  }
  Kokkos::ScopeGuard kokkos(argc, argv);
  Space space;
  std::fprintf(stderr, "bench_gemm: %s with concurrency %d; matmul calls %s\n", Space::name(), space.concurrency(),
               Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible
                   ? rwkv::host_gemm_name(rwkv::host_gemm_default())
                   : "the space's vendor library");
  std::vector<Row> rows;
  // The ceiling is timed before and after the layer shapes, as the load of a shared machine drifts.
  time_squares(space, min_time, rows);

  // RWKV layer shapes, weights [out, in]: att (C x C), ffn key (4C x C) and value (C x 4C) at C = 512
  // with N = B*T = 2048; C = 768 with N = 1024, and the head (V = 50277) there.
  // Then RNN-mode inference (N = 1) at C = 768, where the products are matrix-vector.
  std::vector<Shape> shapes = {{2048, 512, 512},  {2048, 512, 2048},  {2048, 2048, 512},
                               {1024, 768, 768}, {1024, 768, 3072}, {1024, 3072, 768}};
  if (head) shapes.push_back({1024, 768, 50277});
  if (rwkv::gemm_bf16_native<Space, float>())
    for (const Shape s : shapes) time_bf16(space, s, rounds, rows);
  else
    std::fprintf(stderr, "bench_gemm: no native bfloat16 GEMM here (gemm_bf16.hpp): no bf16 rows\n");
  if (bf16_only) shapes.clear();
  else shapes.insert(shapes.end(), {{1, 768, 768}, {1, 768, 3072}, {1, 768, 50277}});
  for (const Shape s : shapes) {
    const char* kind = s.N == 1 ? "rnn" : "layer";
    Mat x("x", s.N, s.in), W("W", s.out, s.in), y("y", s.N, s.out);
    Mat dy("dy", s.N, s.out), dx("dx", s.N, s.in), dW("dW", s.out, s.in);
    fill(x, 1.0f);
    fill(W, 0.5f);
    fill(dy, 0.25f);
    for (const std::string& path : paths()) {
      // The host backends' own rows are layer products; a single row takes matmul's row kernel.
      if (s.N == 1 && path != "dispatch" && path != "portable") continue;
      rows.push_back({kind, path, "y", s, best_seconds([&] { run_product(space, path, Product::y, x, W, y, dy, dx, dW); }, min_time)});
      rows.push_back({kind, path, "dx", s, best_seconds([&] { run_product(space, path, Product::dx, x, W, y, dy, dx, dW); }, min_time)});
      rows.push_back({kind, path, "dW", s, best_seconds([&] { run_product(space, path, Product::dW, x, W, y, dy, dx, dW); }, min_time)});
    }
  }
  time_squares(space, min_time, rows);

  double ceiling = 0;
  for (const Row& r : rows)
    if (!std::strcmp(r.kind, "ceiling")) ceiling = std::max(ceiling, r.gflops());
  std::printf("kind,path,product,N,in,out,gflop,seconds,gflops,fraction_of_ceiling\n");
  for (const Row& r : rows)
    std::printf("%s,%s,%s,%d,%d,%d,%.4f,%.6f,%.2f,%.4f\n", r.kind, r.path.c_str(), r.product, r.shape.N, r.shape.in,
                r.shape.out, 2.0 * r.shape.N * r.shape.in * double(r.shape.out) * 1e-9, r.seconds, r.gflops(),
                r.gflops() / ceiling);
  return 0;
}
