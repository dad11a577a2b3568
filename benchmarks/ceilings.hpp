// The machine's ceilings, measured in the same run as the kernels they judge: the best sgemm rate
// of the GEMM libraries the space can call (oneDNN and OpenBLAS on the host, cuBLAS), the read bandwidth
// of a streaming sum, a STREAM-style triad, an in-place update and a deep_copy (device-to-device
// copy on a GPU).
// The same code runs on every execution space: host loops over chunks in simd loops, device loops
// over elements (coalesced). Host arrays get huge pages, as the library's weights do.
#pragma once

#include <rwkv/core/huge_pages.hpp>
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/core/vector_math.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace rwkv::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// n floats holding `value`, on huge pages where the space is the host.
template <class Space>
Kokkos::View<float*, typename Space::memory_space> stream_array(const std::string& label, std::int64_t n, float value) {
  auto a = allocate_with_huge_pages<Kokkos::View<float*, typename Space::memory_space>>(label, n);
  Kokkos::deep_copy(a, value);
  return a;
}

// sgemm rates (GFLOP/s) of the GEMM libraries a space can call, the library's own first.
struct SgemmRates {
  std::vector<std::pair<std::string, double>> by_backend;
  std::string library;  // the backend matmul_forward calls

  double best() const {
    double b = 0;
    for (const auto& [name, rate] : by_backend) b = rate > b ? rate : b;
    return b;
  }
  std::string best_backend() const {
    std::string name_of_best;
    double b = 0;
    for (const auto& [name, rate] : by_backend)
      if (rate > b) b = rate, name_of_best = name;
    return name_of_best;
  }
  // Each backend's better rate of the two (a ceiling is measured before and after the rows).
  SgemmRates merged(const SgemmRates& other) const {
    SgemmRates m = *this;
    if (m.library.empty()) m.library = other.library;
    for (const auto& [name, rate] : other.by_backend) {
      bool found = false;
      for (auto& [mine, mine_rate] : m.by_backend)
        if (mine == name) found = true, mine_rate = rate > mine_rate ? rate : mine_rate;
      if (!found) m.by_backend.push_back({name, rate});
    }
    return m;
  }
};

// " (onednn; the library calls onednn; openblas R)": the best backend, the library's, the others'
// rates.
inline std::string sgemm_backends_text(const SgemmRates& r) {
  if (r.by_backend.empty()) return "";
  std::string text = " (" + r.best_backend() + "; the library calls " + r.library;
  for (const auto& [name, rate] : r.by_backend) {
    if (name == r.best_backend()) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "; %s %.1f", name.c_str(), rate);
    text += buf;
  }
  return text + ")";
}

template <class Space>
inline constexpr bool on_host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;

// The GEMM library matmul_forward calls on Space: the host backend of the build (gemm_vendor.hpp),
// cuBLAS, or the portable kernel.
template <class Space>
std::string library_gemm_name() {
  if constexpr (on_host<Space>)
    return host_gemm_name(host_gemm_default());
  else if constexpr (gemm_detail::is_cuda<Space>)
    return "cublas";
  else
    return "portable";
}

// Best rates of y = x W^T on n x n float matrices, in GFLOP/s, of every GEMM library Space can call:
// on the host each backend of the build, elsewhere the library's own. The library's backend is
// timed through matmul_forward, the others through host_gemm.
template <class Space = Kokkos::DefaultExecutionSpace>
SgemmRates sgemm_rates(int n, int repeats) {
  Matrix<Space, float> x("x", n, n), w("w", n, n), y("y", n, n);
  Kokkos::deep_copy(x, 1.0f);
  Kokkos::deep_copy(w, 0.5f);
  Space space;
  const auto best_of = [&](const auto& product) {
    product();
    space.fence();
    double best = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      product();
      space.fence();
      best = std::max(best, 2.0 * n * double(n) * n / seconds_since(t0) / 1e9);
    }
    return best;
  };
  SgemmRates rates;
  rates.library = library_gemm_name<Space>();
  rates.by_backend.push_back({rates.library, best_of([&] { matmul_forward(space, y, x, w); })});
  if constexpr (on_host<Space>) {
    for (const HostGemm backend : {HostGemm::openblas, HostGemm::onednn}) {
      if (!host_gemm_available(backend) || backend == host_gemm_default()) continue;
      const GemmShape shape{false, true, n, n, n, n, n, n};
      rates.by_backend.push_back(
          {host_gemm_name(backend), best_of([&] { host_gemm(backend, shape, x.data(), w.data(), 0.0f, y.data()); })});
    }
  }
  return rates;
}

// The best of them: the sgemm ceiling.
template <class Space = Kokkos::DefaultExecutionSpace>
double sgemm_ceiling_gflops(int n, int repeats) {
  return sgemm_rates<Space>(n, repeats).best();
}

// Host loops work on chunks of this many floats (simd loops over raw pointers, as the kernels' own).
inline constexpr int stream_chunk = 4096;

// Best of `repeats` timed calls of run (after one untimed call), in GB/s for `bytes` moved a call.
template <class Space, class Run>
double best_gbs(double bytes, int repeats, const Run& run) {
  run();
  Space().fence();
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    run();
    Space().fence();
    best = std::max(best, bytes / seconds_since(t0) / 1e9);
  }
  return best;
}

// Floats a work item of the host read patterns sums.
inline constexpr int read_chunk = 4 * stream_chunk;

namespace read_patterns {

// Host: four streams a page apart in each work item.
template <class Space, class View>
void four_streams(const View& data, const View& sums) {
  Kokkos::parallel_for(
      "rwkv::bench::read_four_streams", Kokkos::RangePolicy<Space>(0, int(sums.extent(0))), KOKKOS_LAMBDA(int c) {
        constexpr int quarter = read_chunk / 4;
        const float* p = &data(std::int64_t(c) * read_chunk);  // raw: vectorizes as the kernels' loops do
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        RWKV_HOST_SIMD_REDUCTION(+ : a0, a1, a2, a3)
        for (int i = 0; i < quarter; ++i) {
          a0 += p[i];
          a1 += p[quarter + i];
          a2 += p[2 * quarter + i];
          a3 += p[3 * quarter + i];
        }
        sums(c) = a0 + a1 + a2 + a3;
      });
}

// Host: one stream a work item. Schedule: Kokkos::Static, or Kokkos::Dynamic, under which a thread
// that finishes its share takes over work items of another (a VM's cores do not always read at
// the same rate: docs/PERFORMANCE.md#read-ceiling).
template <class Space, class Schedule, class View>
void one_stream(const View& data, const View& sums) {
  Kokkos::parallel_for(
      "rwkv::bench::read_one_stream", Kokkos::RangePolicy<Space, Kokkos::Schedule<Schedule>>(0, int(sums.extent(0))),
      KOKKOS_LAMBDA(int c) {
        const float* p = &data(std::int64_t(c) * read_chunk);
        float a = 0;
        RWKV_HOST_SIMD_REDUCTION(+ : a)
        for (int i = 0; i < read_chunk; ++i) a += p[i];
        sums(c) = a;
      });
}

// Device: an element a thread (coalesced).
template <class Space, class View>
void element_sum(const View& data) {
  float total = 0;
  Kokkos::parallel_reduce(
      "rwkv::bench::read", Kokkos::RangePolicy<Space, Kokkos::IndexType<std::int64_t>>(0, std::int64_t(data.extent(0))),
      KOKKOS_LAMBDA(std::int64_t i, float& sum) { sum += data(i); }, total);
}

}  // namespace read_patterns

// A pass reading `bytes` of floats once, as an RNN step reads its weights. On the host the fastest
// of three patterns: four streams a page apart, and one stream a work item, which the
// prefetchers follow across pages (faster than the four page-long streams on a Zen 4 VM:
// docs/PERFORMANCE.md#read-ceiling; the step kernels read that way), with a static and with a
// balanced schedule.
template <class Space = Kokkos::DefaultExecutionSpace>
class ReadPass {
 public:
  explicit ReadPass(std::int64_t bytes)
      : n_(bytes / std::int64_t(sizeof(float)) / read_chunk * read_chunk),
        data_(stream_array<Space>("read_bandwidth", n_, 1.0f)),
        sums_("read_bandwidth_sums", n_ / read_chunk) {}

  double bytes() const { return double(n_) * sizeof(float); }

  // Seconds of one pass (the faster pattern's on the host), fenced.
  double seconds() const {
    const auto timed = [](const auto& run) {
      const auto t0 = Clock::now();
      run();
      Space().fence();
      return seconds_since(t0);
    };
    if constexpr (on_host<Space>)
      return std::min({timed([&] { read_patterns::four_streams<Space>(data_, sums_); }),
                       timed([&] { read_patterns::one_stream<Space, Kokkos::Static>(data_, sums_); }),
                       timed([&] { read_patterns::one_stream<Space, Kokkos::Dynamic>(data_, sums_); })});
    else
      return timed([&] { read_patterns::element_sum<Space>(data_); });
  }

 private:
  std::int64_t n_;
  Kokkos::View<float*, typename Space::memory_space> data_, sums_;
};

// Best of `repeats` read passes over `bytes` of floats (after one untimed pass), in GB/s: what
// reading weights once can reach.
template <class Space = Kokkos::DefaultExecutionSpace>
double read_bandwidth_gbs(std::int64_t bytes, int repeats) {
  const ReadPass<Space> pass(bytes);
  pass.seconds();
  double best = 0;
  for (int r = 0; r < repeats; ++r) best = std::max(best, pass.bytes() / pass.seconds() / 1e9);
  return best;
}

// STREAM's triad a = b + s c over three arrays of `bytes` / 3 each, in GB/s counted as STREAM
// does: 3 x 4 bytes an element (two reads, one write; the write-allocate read is not counted).
template <class Space = Kokkos::DefaultExecutionSpace>
double triad_bandwidth_gbs(std::int64_t bytes, int repeats) {
  constexpr int chunk = stream_chunk;
  const std::int64_t n = bytes / 3 / sizeof(float) / chunk * chunk;
  const auto a = stream_array<Space>("triad_a", n, 0.0f), b = stream_array<Space>("triad_b", n, 1.0f),
             c = stream_array<Space>("triad_c", n, 2.0f);
  const float s = 0.5f;
  const auto run = [&] {
    if constexpr (on_host<Space>) {
      Kokkos::parallel_for(
          "rwkv::bench::triad", Kokkos::RangePolicy<Space>(0, int(n / chunk)), KOKKOS_LAMBDA(int k) {
            const std::int64_t i0 = std::int64_t(k) * chunk;
            float* pa = &a(i0);
            const float *pb = &b(i0), *pc = &c(i0);
            RWKV_HOST_SIMD
            for (int i = 0; i < chunk; ++i) pa[i] = pb[i] + s * pc[i];
          });
    } else {
      Kokkos::parallel_for(
          "rwkv::bench::triad", Kokkos::RangePolicy<Space, Kokkos::IndexType<std::int64_t>>(0, n),
          KOKKOS_LAMBDA(std::int64_t i) { a(i) = b(i) + s * c(i); });
    }
  };
  return best_gbs<Space>(3.0 * double(n) * sizeof(float), repeats, run);
}

// In-place updates over `bytes` of arrays, in GB/s, the better of a = a + s b (12 bytes an element:
// two reads, one write) and a = s a (8 bytes: one read, one write). In-place kernels (AdamW, the
// gradient accumulations) have no write-allocate reads, and where writes travel a path of their
// own (the CCD links of AMD Zen) read + write traffic passes both the read-only stream and the
// triad: this ceiling holds them.
template <class Space = Kokkos::DefaultExecutionSpace>
double update_bandwidth_gbs(std::int64_t bytes, int repeats) {
  constexpr int chunk = stream_chunk;
  const std::int64_t n = bytes / 2 / sizeof(float) / chunk * chunk;
  const auto a = stream_array<Space>("update_a", n, 1.0f), b = stream_array<Space>("update_b", n, 2.0f);
  // Alternating signs keep a bounded over any number of calls.
  float s = 0.5f;
  const auto run = [&](bool with_b) {
    s = -s;
    const float sign_s = s;
    if constexpr (on_host<Space>) {
      Kokkos::parallel_for(
          "rwkv::bench::update", Kokkos::RangePolicy<Space>(0, int(n / chunk)), KOKKOS_LAMBDA(int k) {
            const std::int64_t i0 = std::int64_t(k) * chunk;
            float* pa = &a(i0);
            const float* pb = &b(i0);
            if (with_b) {
              RWKV_HOST_SIMD
              for (int i = 0; i < chunk; ++i) pa[i] += sign_s * pb[i];
            } else {
              RWKV_HOST_SIMD
              for (int i = 0; i < chunk; ++i) pa[i] *= sign_s;
            }
          });
    } else {
      Kokkos::parallel_for(
          "rwkv::bench::update", Kokkos::RangePolicy<Space, Kokkos::IndexType<std::int64_t>>(0, n),
          KOKKOS_LAMBDA(std::int64_t i) { a(i) = with_b ? a(i) + sign_s * b(i) : a(i) * sign_s; });
    }
  };
  const double moved = double(n) * sizeof(float);
  return std::max(best_gbs<Space>(3 * moved, repeats, [&] { run(true); }),
                  best_gbs<Space>(2 * moved, repeats, [&] { run(false); }));
}

// Kokkos::deep_copy between two arrays of `bytes` / 2 each (device-to-device on a GPU), in GB/s
// counted as read + write.
template <class Space = Kokkos::DefaultExecutionSpace>
double copy_bandwidth_gbs(std::int64_t bytes, int repeats) {
  const std::int64_t n = bytes / 2 / sizeof(float);
  const auto from = stream_array<Space>("copy_from", n, 1.0f), to = stream_array<Space>("copy_to", n, 0.0f);
  return best_gbs<Space>(2.0 * double(n) * sizeof(float), repeats, [&] { Kokkos::deep_copy(Space(), to, from); });
}

}  // namespace rwkv::bench
