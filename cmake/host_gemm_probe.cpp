// Configure-time probe for RWKV_HOST_GEMM=auto (cmake/host_gemm.cmake): times OpenBLAS's and
// oneDNN's sgemm on training-step shapes of the library, interleaved so that a drift of the
// machine's load hits both, and prints each library's median rate over the rounds in GFLOP/s:
//   openblas <rate>
//   onednn <rate>
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

struct Shape {
  int M, N, K;
  bool trans_b;
};

// y = x W^T of a 768-wide layer and dx = dy W of its 3072-wide feed-forward, 1024 tokens.
const Shape shapes[] = {{1024, 768, 768, true}, {1024, 768, 3072, false}};

double seconds(const std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class Gemm>
double rate(const Gemm& gemm) {
  double flops = 0, time = 0;
  for (const Shape& s : shapes) {
    std::vector<float> A(std::size_t(s.M) * s.K, 0.5f), B(std::size_t(s.K) * s.N, 0.25f), C(std::size_t(s.M) * s.N);
    gemm(s, A.data(), B.data(), C.data());  // warm: page faults, JIT, thread start
    const auto t0 = std::chrono::steady_clock::now();
    gemm(s, A.data(), B.data(), C.data());
    time += seconds(t0);
    flops += 2.0 * s.M * s.N * double(s.K);
  }
  return flops / time / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  auto openblas = [](const Shape& s, const float* A, const float* B, float* C) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans, s.M, s.N, s.K, 1.0f, A, s.K, B,
                s.trans_b ? s.K : s.N, 0.0f, C, s.N);
  };
  auto onednn = [](const Shape& s, const float* A, const float* B, float* C) {
    dnnl_sgemm('N', s.trans_b ? 'T' : 'N', s.M, s.N, s.K, 1.0f, A, s.K, B, s.trans_b ? s.K : s.N, 0.0f, C, s.N);
  };
  std::vector<double> r_openblas, r_onednn;
  for (int round = 0; round < 5; ++round) {
    r_openblas.push_back(rate(openblas));
    r_onednn.push_back(rate(onednn));
  }
  std::printf("openblas %.1f\nonednn %.1f\n", median(r_openblas), median(r_onednn));
  return 0;
}
