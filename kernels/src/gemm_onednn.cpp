// Host GEMM on oneDNN: float through dnnl_sgemm (row-major), bfloat16 through its matmul
// primitive (bf16 source and weights, f32 destination); both generate their kernels for the CPU
// they run on. Debian's libdnnl threads with OpenMP.
#include "gemm_backends.hpp"

#include <oneapi/dnnl/dnnl.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace rwkv::gemm_backends {

namespace {

std::string describe(const GemmShape& s) {
  return "M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K);
}

void check(dnnl_status_t status, const char* what, const GemmShape& s) {
  if (status != dnnl_success)
    throw std::runtime_error(std::string("oneDNN bfloat16 matmul: ") + what + " failed (status " +
                             std::to_string(int(status)) + ") for " + describe(s));
}

// The logical [rows, cols] operand op(X): X itself with strides (ld, 1), or X^T with (1, ld).
dnnl_memory_desc_t operand(int rows, int cols, bool trans, int ld, dnnl_data_type_t type, const GemmShape& s) {
  dnnl_memory_desc_t desc;
  const dnnl_dims_t dims{rows, cols};
  const dnnl_dims_t strides{trans ? 1 : ld, trans ? ld : 1};
  check(dnnl_memory_desc_init_by_strides(&desc, 2, dims, type, strides), "memory descriptor", s);
  return desc;
}

// The matmul primitives made so far, one per shape, transposes, leading dimensions and beta:
// making one (choosing and generating its kernel) costs far more than a small product, and
// training calls the same few shapes every step. oneDNN's C API: nvcc's front end (the CUDA
// build compiles this file too) fails on its C++ header.
struct Bf16Matmul {
  GemmShape shape;
  bool accumulate;
  dnnl_primitive_t primitive;
};

struct Bf16Matmuls {
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  std::vector<Bf16Matmul> made;
  std::mutex mutex;

  dnnl_primitive_t get(const GemmShape& s, bool accumulate) {
    if (!engine) {
      check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine", s);
      check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream", s);
    }
    for (const Bf16Matmul& m : made) {
      const GemmShape& t = m.shape;
      if (t.trans_a == s.trans_a && t.trans_b == s.trans_b && t.M == s.M && t.N == s.N && t.K == s.K &&
          t.lda == s.lda && t.ldb == s.ldb && t.ldc == s.ldc && m.accumulate == accumulate)
        return m.primitive;
    }
    const dnnl_memory_desc_t a = operand(s.M, s.K, s.trans_a, s.lda, dnnl_bf16, s);
    const dnnl_memory_desc_t b = operand(s.K, s.N, s.trans_b, s.ldb, dnnl_bf16, s);
    const dnnl_memory_desc_t c = operand(s.M, s.N, false, s.ldc, dnnl_f32, s);
    dnnl_matmul_desc_t desc;
    check(dnnl_matmul_desc_init(&desc, &a, &b, nullptr, &c), "descriptor", s);
    dnnl_primitive_attr_t attr;
    check(dnnl_primitive_attr_create(&attr), "attributes", s);
    dnnl_post_ops_t sum = nullptr;
    dnnl_primitive_desc_t pd = nullptr;
    dnnl_status_t status = dnnl_success;
    if (accumulate) {  // C += A B: the sum post-op adds the destination's old values
      status = dnnl_post_ops_create(&sum);
      if (status == dnnl_success) status = dnnl_post_ops_append_sum(sum, 1.0f);
      if (status == dnnl_success) status = dnnl_primitive_attr_set_post_ops(attr, sum);
    }
    if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &desc, attr, engine, nullptr);
    dnnl_primitive_t primitive = nullptr;
    if (status == dnnl_success) status = dnnl_primitive_create(&primitive, pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (sum) dnnl_post_ops_destroy(sum);
    dnnl_primitive_attr_destroy(attr);
    check(status, "primitive", s);
    made.push_back(Bf16Matmul{s, accumulate, primitive});
    return primitive;
  }
};

Bf16Matmuls& bf16_matmuls() {
  static Bf16Matmuls matmuls;
  return matmuls;
}

// A memory object over caller-owned data, released at the end of the scope.
struct WrappedMemory {
  dnnl_memory_t memory = nullptr;
  WrappedMemory(const dnnl_memory_desc_t& desc, dnnl_engine_t engine, void* data, const GemmShape& s) {
    check(dnnl_memory_create(&memory, &desc, engine, data), "memory", s);
  }
  ~WrappedMemory() { dnnl_memory_destroy(memory); }
  WrappedMemory(const WrappedMemory&) = delete;
  WrappedMemory& operator=(const WrappedMemory&) = delete;
};

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
  const dnnl_primitive_t matmul = m.get(s, beta == 1.0f);
  // oneDNN's memory objects take non-const pointers; it only reads the sources.
  const WrappedMemory a(operand(s.M, s.K, s.trans_a, s.lda, dnnl_bf16, s), m.engine, const_cast<std::uint16_t*>(A), s);
  const WrappedMemory b(operand(s.K, s.N, s.trans_b, s.ldb, dnnl_bf16, s), m.engine, const_cast<std::uint16_t*>(B), s);
  const WrappedMemory c(operand(s.M, s.N, false, s.ldc, dnnl_f32, s), m.engine, C, s);
  const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, a.memory}, {DNNL_ARG_WEIGHTS, b.memory}, {DNNL_ARG_DST, c.memory}};
  check(dnnl_primitive_execute(matmul, m.stream, 3, args), "execute", s);
  check(dnnl_stream_wait(m.stream), "stream wait", s);
}

}  // namespace rwkv::gemm_backends
