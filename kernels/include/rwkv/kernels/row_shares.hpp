// The rows of a one-row product (an RNN step's y = W x) shared among the threads of an OpenMP
// parallel region so that each core reads one contiguous run of W and no core waits long for
// another at the end:
//   - thread t owns rows [t * out / p, (t + 1) * out / p) and takes them from the front, a block at
//     a time;
//   - a thread done with its own rows takes blocks from the back of the others' runs.
// Why: a step is a chain of dependent products, each bound by reading its weights. The guided
// schedule balances by handing out ever smaller chunks, but its first chunk is half the rows: when
// the core holding it reads slower, the other waits; interleaved chunks (schedule(dynamic)) would
// break the cores' streams. Measured against both: docs/PERFORMANCE.md#row-sharing (lab
// experiment one_row_schedules in benchmarks/lab/).
#pragma once

#include <rwkv/core/vector_math.hpp>

#if defined(RWKV_OPENMP_LOOPS)
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace rwkv::gemm_detail {

class RowShares {
 public:
  // Before the parallel region: `out` rows for `threads` threads, in blocks of about
  // `block_bytes` of weights (rows of `row_bytes` each; rows of no bytes, a product over no inputs,
  // count as one byte).
  RowShares(int out, int threads, std::size_t row_bytes, std::size_t block_bytes = 64 * 1024)
      : threads_(threads),
        block_(std::uint32_t(std::max<std::size_t>(1, block_bytes / std::max<std::size_t>(1, row_bytes)))),
        runs_(new Run[std::size_t(threads)]) {
    for (int t = 0; t < threads; ++t)
      runs_[t].rows.store(pack(std::uint32_t(std::int64_t(out) * t / threads),
                               std::uint32_t(std::int64_t(out) * (t + 1) / threads)),
                          std::memory_order_relaxed);
  }

  // Inside the region, on every thread: body(i) for the rows this thread takes. Every row is taken
  // exactly once, whatever the team's size (runs of absent threads are taken from the back).
  template <class Body>
  void run(const Body& body) {
    const int t = omp_get_thread_num();
    if (t < threads_) {
      for (;;) {  // own run, from the front
        std::uint64_t rows = runs_[t].rows.load(std::memory_order_relaxed);
        const std::uint32_t front = first(rows), back = end(rows);
        if (front >= back) break;
        const std::uint32_t next = std::min(back, front + block_);
        if (!runs_[t].rows.compare_exchange_weak(rows, pack(next, back), std::memory_order_relaxed)) continue;
        for (std::uint32_t i = front; i < next; ++i) body(int(i));
      }
    }
    for (int k = 1; k <= threads_; ++k) {  // the others' runs, from the back
      const int other = (t + k) % threads_;
      for (;;) {
        std::uint64_t rows = runs_[other].rows.load(std::memory_order_relaxed);
        const std::uint32_t front = first(rows), back = end(rows);
        if (front >= back) break;
        const std::uint32_t start = back - std::min(back - front, block_);
        if (!runs_[other].rows.compare_exchange_weak(rows, pack(front, start), std::memory_order_relaxed)) continue;
        for (std::uint32_t i = start; i < back; ++i) body(int(i));
      }
    }
  }

 private:
  // [front, back) of a run in one word, so that its owner and a thief never take the same rows.
  struct alignas(64) Run {
    std::atomic<std::uint64_t> rows;
  };
  static std::uint64_t pack(std::uint32_t front, std::uint32_t back) { return std::uint64_t(front) << 32 | back; }
  static std::uint32_t first(std::uint64_t rows) { return std::uint32_t(rows >> 32); }
  static std::uint32_t end(std::uint64_t rows) { return std::uint32_t(rows); }

  int threads_;
  std::uint32_t block_;
  std::unique_ptr<Run[]> runs_;
};

}  // namespace rwkv::gemm_detail

#endif
