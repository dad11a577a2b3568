// Host GEMM on oneDNN: float through dnnl_sgemm (row-major), bfloat16 through its matmul
// primitive (bf16 source and weights, f32 destination); both generate their kernels for the CPU
// they run on. Debian's libdnnl threads with OpenMP.
#include "gemm_backends.hpp"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>

namespace rwkv::gemm_backends {

namespace {

std::string describe(const GemmShape& s) {
  return "M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K);
}

// The matmul primitives made so far, one per shape, transposes, leading dimensions and beta:
// making one (choosing and generating its kernel) costs far more than a small product, and
// training calls the same few shapes every step.
struct Bf16Matmuls {
  using Key = std::tuple<bool, bool, int, int, int, int, int, int, bool>;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<Key, dnnl::matmul> primitives;
  std::mutex mutex;

  static dnnl::memory::desc operand(int rows, int cols, bool trans, int ld, dnnl::memory::data_type type) {
    // The logical [rows, cols] operand op(X): X itself with strides (ld, 1), or X^T with (1, ld).
    return dnnl::memory::desc({rows, cols}, type, trans ? dnnl::memory::dims{1, ld} : dnnl::memory::dims{ld, 1});
  }

  const dnnl::matmul& get(const GemmShape& s, bool accumulate) {
    const Key key{s.trans_a, s.trans_b, s.M, s.N, s.K, s.lda, s.ldb, s.ldc, accumulate};
    const auto found = primitives.find(key);
    if (found != primitives.end()) return found->second;
    using type = dnnl::memory::data_type;
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    const dnnl::matmul::desc desc(operand(s.M, s.K, s.trans_a, s.lda, type::bf16),
                                  operand(s.K, s.N, s.trans_b, s.ldb, type::bf16),
                                  operand(s.M, s.N, false, s.ldc, type::f32));
    return primitives.emplace(key, dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, engine))).first->second;
  }
};

Bf16Matmuls& bf16_matmuls() {
  static Bf16Matmuls matmuls;
  return matmuls;
}

}  // namespace

void onednn_gemm(const GemmShape& s, const float* A, const float* B, float beta, float* C) {
  const dnnl_status_t status = dnnl_sgemm(s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', s.M, s.N, s.K, 1.0f, A,
                                          s.lda, B, s.ldb, beta, C, s.ldc);
  if (status != dnnl_success)
    throw std::runtime_error("dnnl_sgemm failed (status " + std::to_string(int(status)) + ") for " + describe(s));
}

bool onednn_bf16_supported() {
  const unsigned isa = unsigned(dnnl_get_effective_cpu_isa());
  return (isa & unsigned(dnnl_cpu_isa_avx512_core_bf16)) == unsigned(dnnl_cpu_isa_avx512_core_bf16);
}

void onednn_gemm_bf16(const GemmShape& s, const std::uint16_t* A, const std::uint16_t* B, float beta, float* C) {
  if (beta != 0.0f && beta != 1.0f)
    throw std::invalid_argument("onednn_gemm_bf16: beta must be 0 or 1, got " + std::to_string(beta));
  Bf16Matmuls& m = bf16_matmuls();
  const std::lock_guard<std::mutex> lock(m.mutex);
  try {
    const dnnl::matmul& matmul = m.get(s, beta == 1.0f);
    using type = dnnl::memory::data_type;
    // oneDNN's memory objects take non-const pointers; it only reads the sources.
    const dnnl::memory a(Bf16Matmuls::operand(s.M, s.K, s.trans_a, s.lda, type::bf16), m.engine,
                         const_cast<std::uint16_t*>(A));
    const dnnl::memory b(Bf16Matmuls::operand(s.K, s.N, s.trans_b, s.ldb, type::bf16), m.engine,
                         const_cast<std::uint16_t*>(B));
    const dnnl::memory c(Bf16Matmuls::operand(s.M, s.N, false, s.ldc, type::f32), m.engine, C);
    matmul.execute(m.stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    m.stream.wait();
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN bfloat16 matmul failed (") + e.what() + ") for " + describe(s));
  }
}

}  // namespace rwkv::gemm_backends
