// Data-parallel training across processes: rwkv-train built with MPI (RWKV_HAVE_MPI) runs one rank
// per process under mpirun/srun; each rank trains on its slice of every global batch, the
// gradients are averaged in place, and every rank applies the same optimizer step. Built without
// MPI there is one rank and every collective returns its input. CUDA builds with NCCL
// (RWKV_HAVE_NCCL) sum device buffers with NCCL, its communicator set up through MPI.
#pragma once

#if RWKV_HAVE_MPI
#include <mpi.h>
#endif
#if RWKV_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace rwkv::cli {

class Ranks {
 public:
  Ranks(int& argc, char**& argv) {
#if RWKV_HAVE_MPI
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
#else
    (void)argc;
    (void)argv;
#endif
  }
  ~Ranks() {
#if RWKV_HAVE_NCCL
    if (nccl_) ncclCommDestroy(nccl_);
#endif
#if RWKV_HAVE_MPI
    MPI_Finalize();
#endif
  }
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }

  // Sums `count` floats of host memory over the ranks, in place.
  void sum_in_place(float* values, std::size_t count) const {
#if RWKV_HAVE_MPI
    // MPI counts are int: large buffers go in pieces.
    constexpr std::size_t piece = std::size_t(1) << 30;
    for (std::size_t i = 0; i < count; i += piece) {
      const int n = int(count - i < piece ? count - i : piece);
      check(MPI_Allreduce(MPI_IN_PLACE, values + i, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "all-reduce of the gradients");
    }
#else
    (void)values;
    (void)count;
#endif
  }

#if RWKV_HAVE_NCCL
  // Sums `count` floats of device memory over the ranks, in place, on `stream`.
  void sum_in_place_on_device(float* values, std::size_t count, cudaStream_t stream) {
    if (!nccl_) {
      ncclUniqueId id;
      if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      check(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD), "broadcast of the NCCL id");
      check_nccl(ncclCommInitRank(&nccl_, size_, id, rank_), "ncclCommInitRank");
    }
    check_nccl(ncclAllReduce(values, values, count, ncclFloat, ncclSum, nccl_, stream), "ncclAllReduce of the gradients");
    if (cudaStreamSynchronize(stream) != cudaSuccess) throw std::runtime_error("CUDA: the gradient all-reduce failed");
  }
#endif

  double sum(double value) const {
#if RWKV_HAVE_MPI
    check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "all-reduce of the loss");
#endif
    return value;
  }

  // Whether every rank holds the same value (the same answer on every rank).
  bool all_equal(std::uint64_t value) const {
#if RWKV_HAVE_MPI
    unsigned long long low = value, high = value;
    check(MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD), "checksum comparison");
    check(MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD), "checksum comparison");
    return low == high;
#else
    (void)value;
    return true;
#endif
  }

  // Ends every rank: one that failed must not leave the others waiting in a collective.
  [[noreturn]] void abort(int code) const {
#if RWKV_HAVE_MPI
    if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    std::exit(code);
  }

 private:
#if RWKV_HAVE_MPI
  static void check(int status, const char* what) {
    if (status != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
  }
#endif
#if RWKV_HAVE_NCCL
  static void check_nccl(ncclResult_t status, const char* what) {
    if (status != ncclSuccess) throw std::runtime_error(std::string("NCCL: ") + what + ": " + ncclGetErrorString(status));
  }
  ncclComm_t nccl_ = nullptr;
#endif
  int rank_ = 0, size_ = 1;
};

}  // namespace rwkv::cli
