// What the kernel lab's experiments share (benchmarks/lab/README.md): the one-row products of an
// RWKV-4 RNN step, a check of each variant against a plain loop in double, and timing in which the
// variants take turns, each right after a read pass over as many bytes as the step's weights (the
// pass evicts the cache and measures the read ceiling of that moment: a shared VM's bandwidth
// moves within seconds, docs/PERFORMANCE.md#bandwidth-phases).
// Host only: the experiments are about OpenMP regions on the host (Kokkos::OpenMP).
#pragma once

#include "bench_cli.hpp"
#include "measure.hpp"

#include <rwkv/core/huge_pages.hpp>
#include <rwkv/core/program.hpp>
#include <rwkv/kernels/gemm.hpp>

#include <Kokkos_Core.hpp>

#if !defined(RWKV_OPENMP_LOOPS)
#error "the kernel lab needs Kokkos::OpenMP and OpenMP on the host"
#endif
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#if __has_include("git_revision.hpp")
#include "git_revision.hpp"
#else
#define RWKV_GIT_REVISION "unknown"
#endif

namespace rwkv::lab {

using Space = Kokkos::OpenMP;
using HostFloats = Kokkos::View<float*, Kokkos::HostSpace>;

// y = W x for one row x: W [out, in] row-major.
struct Product {
  const float* w;
  const float* x;
  float* y;
  int in, out;
};

// The products through the library's kernel: matmul_forward, a parallel region each.
inline void library_products(const std::vector<Product>& products) {
  for (const Product& p : products)
    matmul_forward(Space(), Matrix<Space, float>(p.y, 1, p.out), ConstMatrix<Space, float>(p.x, 1, p.in),
                   ConstMatrix<Space, float>(p.w, p.out, p.in));
}

// The model whose step the experiments read: RWKV-4 169M by default.
struct StepShape {
  int layers = 12, C = 768, F = 3072, V = 50277;
};

// Tiny sizes for --check: every code path (ragged blocks included), in well under a second.
inline constexpr StepShape check_shape{2, 72, 264, 1001};

// The 7 L + 1 products of one step, in the order the model runs them (att key, value, receptance,
// output; ffn key, value, receptance; the head), their weights one after another in one buffer on
// huge pages, as the model keeps them.
class Step {
 public:
  explicit Step(const StepShape& s) : shape(s) {
    struct Shape {
      int out, in;
    };
    const std::vector<Shape> layer = {{s.C, s.C}, {s.C, s.C}, {s.C, s.C}, {s.C, s.C},
                                      {s.F, s.C}, {s.C, s.F}, {s.C, s.C}};
    std::vector<Shape> shapes;
    for (int l = 0; l < s.layers; ++l) {
      const int first = int(shapes.size());
      shapes.insert(shapes.end(), layer.begin(), layer.end());
      // Products that read none of each other's outputs: att k v r; output; ffn key and
      // receptance; ffn value.
      groups.insert(groups.end(), {{first, first + 1, first + 2}, {first + 3}, {first + 4, first + 6}, {first + 5}});
    }
    groups.push_back({int(shapes.size())});
    shapes.push_back({s.V, s.C});

    std::int64_t w_floats = 0, x_floats = 0, y_floats = 0;
    for (const Shape& p : shapes) {
      w_floats += std::int64_t(p.out) * p.in;
      x_floats += p.in;
      y_floats += p.out;
    }
    weights_ = allocate_with_huge_pages<HostFloats>("lab_weights", w_floats);
    inputs_ = HostFloats("lab_inputs", x_floats);
    outputs_ = HostFloats("lab_outputs", y_floats);
    bench::fill_uniform(weights_, -0.05f, 0.05f, 1);
    bench::fill_uniform(inputs_, -1, 1, 2);
    std::int64_t w = 0, x = 0, y = 0;
    for (const Shape& p : shapes) {
      products.push_back({weights_.data() + w, inputs_.data() + x, outputs_.data() + y, p.in, p.out});
      w += std::int64_t(p.out) * p.in;
      x += p.in;
      y += p.out;
    }
  }

  StepShape shape;
  std::vector<Product> products;
  std::vector<std::vector<int>> groups;  // indices into products, in step order

  const float* weights() const { return weights_.data(); }
  std::int64_t weight_floats() const { return std::int64_t(weights_.extent(0)); }
  double bytes() const { return double(weight_floats()) * sizeof(float); }

 private:
  HostFloats weights_, inputs_, outputs_;
};

// Each output of a list of products against a plain loop in double. A float dot product of n terms
// summed in any order (fused or not) is within gamma_n sum_j |w_j x_j| of the exact one, gamma_n =
// n u / (1 - n u), u = 2^-24: that is the bound asserted.
class Reference {
 public:
  explicit Reference(const std::vector<Product>& products) : products_(products) {
    const double u = std::ldexp(1.0, -24);
    for (const Product& p : products) {
      const double gamma = p.in * u / (1 - p.in * u);
      for (int i = 0; i < p.out; ++i) {
        double sum = 0, magnitude = 0;
        for (int j = 0; j < p.in; ++j) {
          const double term = double(p.w[std::int64_t(i) * p.in + j]) * double(p.x[j]);
          sum += term;
          magnitude += std::fabs(term);
        }
        want_.push_back(sum);
        bound_.push_back(gamma * magnitude);
      }
    }
  }

  // Runs `run` once on outputs set to NaN and checks every output; on a miss prints the first one
  // and returns false.
  bool check(const std::string& variant, const std::function<void()>& run) const {
    for (const Product& p : products_) std::fill(p.y, p.y + p.out, std::numeric_limits<float>::quiet_NaN());
    run();
    std::size_t k = 0;
    for (std::size_t n = 0; n < products_.size(); ++n)
      for (int i = 0; i < products_[n].out; ++i, ++k) {
        const double got = products_[n].y[i];
        if (!(std::fabs(got - want_[k]) <= bound_[k])) {
          std::fprintf(stderr, "check: %s: product %zu, row %d: %.9g, the double loop %.9g, bound %.3g\n",
                       variant.c_str(), n, i, got, want_[k], bound_[k]);
          return false;
        }
      }
    return true;
  }

 private:
  std::vector<Product> products_;
  std::vector<double> want_, bound_;
};

struct Variant {
  std::string name;
  std::function<void()> run;
  const Reference* reference;  // what its outputs are checked against
  // Optional: seconds the threads waited, summed over them, in the last run.
  std::function<double()> waited = {};
};

inline double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Returns false (and prints the variant) if one misses its reference.
inline bool check_all(const std::vector<Variant>& variants) {
  for (std::size_t v = 0; v < variants.size(); ++v)
    if (!variants[v].reference->check("variant " + std::to_string(v + 1) + " (" + variants[v].name + ")",
                                      variants[v].run))
      return false;
  std::printf("check: %zu variants, every output within gamma_n sum|w x| of the double loop\n", variants.size());
  return true;
}

inline std::string cpu_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find_first_not_of(" \t:", line.find(':')));
  return "unknown CPU";
}

inline void print_header(const char* experiment, const Step& step, int rounds) {
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  const StepShape& s = step.shape;
  std::printf("%s: the %zu one-row products of an RWKV-4 step, L=%d C=%d F=%d V=%d, %.1f MB of weights\n", experiment,
              step.products.size(), s.layers, s.C, s.F, s.V, step.bytes() / 1e6);
  std::printf("git %s, %s, %s, OpenMP x%d, %d rounds\n", RWKV_GIT_REVISION, date, cpu_name().c_str(),
              Space().concurrency(), rounds);
}

// `rounds` rounds in which every variant runs once, right after a read pass over as many bytes as
// the step's weights, after one untimed run of each. Prints per variant its time (median and
// min-max over the rounds), the median rate, its fraction of the read ceiling (per round: the pass's
// time over the variant's; median and min-max), its speed against variant 1 (per round: variant
// 1's time over its own; median and min-max) and, where measured, the share of the time the
// threads waited.
inline void time_in_turns(const std::vector<Variant>& variants, double bytes, int rounds) {
  const bench::ReadPass<Space> read{std::int64_t(bytes)};
  for (const Variant& v : variants) v.run();
  const std::size_t n = variants.size();
  std::vector<std::vector<double>> seconds(n), fractions(n), waits(n);
  std::vector<double> read_gbs;
  for (int r = 0; r < rounds; ++r)
    for (std::size_t v = 0; v < n; ++v) {
      const double pass = read.seconds();
      const auto t0 = bench::Clock::now();
      variants[v].run();
      const double t = bench::seconds_since(t0);
      seconds[v].push_back(t);
      fractions[v].push_back(pass * bytes / read.bytes() / t);
      read_gbs.push_back(read.bytes() / pass / 1e9);
      if (variants[v].waited) waits[v].push_back(variants[v].waited() / (Space().concurrency() * t));
    }
  std::printf("read ceiling (the pass before each run): %.1f GB/s median (%.1f-%.1f)\n", median_of(read_gbs),
              *std::min_element(read_gbs.begin(), read_gbs.end()), *std::max_element(read_gbs.begin(), read_gbs.end()));
  std::printf("%-58s %20s %6s %19s %19s %7s\n", "variant", "ms median (min-max)", "GB/s", "of read (min-max)",
              "vs 1 (min-max)", "waited");
  for (std::size_t v = 0; v < n; ++v) {
    std::vector<double> speed;
    for (int r = 0; r < rounds; ++r) speed.push_back(seconds[0][r] / seconds[v][r]);
    const auto [t_min, t_max] = std::minmax_element(seconds[v].begin(), seconds[v].end());
    const auto [f_min, f_max] = std::minmax_element(fractions[v].begin(), fractions[v].end());
    const auto [s_min, s_max] = std::minmax_element(speed.begin(), speed.end());
    char label[80], times[32], fraction[32], versus[32], waited[16] = "-";
    std::snprintf(label, sizeof label, "%zu %s", v + 1, variants[v].name.c_str());
    std::snprintf(times, sizeof times, "%.2f (%.2f-%.2f)", 1e3 * median_of(seconds[v]), 1e3 * *t_min, 1e3 * *t_max);
    std::snprintf(fraction, sizeof fraction, "%.2f (%.2f-%.2f)", median_of(fractions[v]), *f_min, *f_max);
    std::snprintf(versus, sizeof versus, "%.3f (%.2f-%.2f)", median_of(speed), *s_min, *s_max);
    if (!waits[v].empty()) std::snprintf(waited, sizeof waited, "%.1f%%", 100 * median_of(waits[v]));
    std::printf("%-58s %20s %6.1f %19s %19s %7s\n", label, times, bytes / median_of(seconds[v]) / 1e9, fraction, versus,
                waited);
  }
}

// Every experiment's run: all variants checked (exit code 1 on a miss), then, unless only checking,
// timed in turns. Returns the exit code.
inline int check_then_time(const char* experiment, const Step& step, const std::vector<Variant>& variants, int rounds,
                           bool check_only) {
  if (!check_only) print_header(experiment, step, rounds);
  if (!check_all(variants)) return 1;
  if (!check_only) time_in_turns(variants, step.bytes(), rounds);
  return 0;
}

// When each thread ran out of rows in each parallel region of a run: the others' wait at the
// region's end is the spread of these.
class Waits {
 public:
  Waits(std::size_t regions, int threads) : threads_(threads), at_(regions * std::size_t(threads)) {}
  // Inside a region, on each thread, after its last row.
  void done(std::size_t region) { at_[region * threads_ + omp_get_thread_num()] = omp_get_wtime(); }
  // Seconds waited, summed over the regions and threads.
  double waited() const {
    double sum = 0;
    for (std::size_t r = 0; r < at_.size(); r += threads_) {
      const double last = *std::max_element(at_.begin() + r, at_.begin() + r + threads_);
      for (std::size_t t = 0; t < threads_; ++t) sum += last - at_[r + t];
    }
    return sum;
  }

 private:
  std::size_t threads_;
  std::vector<double> at_;
};

// The options every experiment takes, its main: parse, then with --check only the checks at tiny
// sizes, else the checks and the timing at the given sizes. experiment(shape, rounds, check_only)
// returns the exit code.
template <class Experiment>
int lab_main(int argc, char** argv, const char* program, Experiment&& experiment) {
  return bench::guarded_main(program, [&] {
    StepShape shape;
    int rounds = 31, threads = 0;
    bool check = false;
    namespace po = bench::po;
    po::options_description d("options");
    d.add_options()
        ("check", po::bool_switch(&check), "only check the variants against the reference, at tiny sizes")
        ("rounds", po::value(&rounds)->default_value(rounds), "rounds of timed runs (each variant once a round)")
        ("threads", po::value(&threads)->default_value(threads), "host threads (0: Kokkos' default)")
        ("layers", po::value(&shape.layers)->default_value(shape.layers), "layers L")
        ("embd", po::value(&shape.C)->default_value(shape.C), "width C")
        ("ffn", po::value(&shape.F)->default_value(shape.F), "ffn width F")
        ("vocab", po::value(&shape.V)->default_value(shape.V), "vocabulary V");
    const auto vm = bench::parse(argc, argv, d,
                                 std::string("usage: ") + program +
                                     " [--check] [--rounds N] [--threads N] [--layers L --embd C --ffn F --vocab V]");
    if (!vm) return 0;
    if (rounds < 1) throw po::error("--rounds must be 1 or more");
    if (shape.layers < 1 || shape.C < 1 || shape.F < 1 || shape.V < 1) throw po::error("sizes must be 1 or more");
    KokkosRuntime runtime(threads);
    return experiment(check ? check_shape : shape, rounds, check);
  });
}

}  // namespace rwkv::lab
