// Data-parallel training across processes: rwkv-train built with MPI (RWKV_HAVE_MPI) runs one rank
// per process under mpirun/srun, and Ranks is the trainer's GradientReducer over MPI_COMM_WORLD.
// Built without MPI there is one rank and every collective returns its input. CUDA builds with
// NCCL (RWKV_HAVE_NCCL) sum device buffers with NCCL, its communicator set up through MPI.
#pragma once

#include <rwkv/gradient_reducer.hpp>

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
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace rwkv::cli {

class Ranks final : public GradientReducer {
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
  ~Ranks() override {
#if RWKV_HAVE_NCCL
    if (nccl_) ncclCommDestroy(nccl_);
#endif
#if RWKV_HAVE_MPI
    MPI_Finalize();
#endif
  }
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum_in_place(std::span<float> values) override { sum_host(values); }
  void sum_in_place(std::span<double> values) override { sum_host(values); }

#if RWKV_HAVE_NCCL
  bool sum_in_place_on_device(std::span<float> values) override { return sum_device(values, ncclFloat); }
  bool sum_in_place_on_device(std::span<double> values) override { return sum_device(values, ncclDouble); }
#endif

  double sum(double value) override {
#if RWKV_HAVE_MPI
    check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "all-reduce of the loss");
#endif
    return value;
  }

  bool all_equal(std::uint64_t value) override {
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
  template <class Scalar>
  void sum_host(std::span<Scalar> values) const {
#if RWKV_HAVE_MPI
    const MPI_Datatype type = std::is_same_v<Scalar, float> ? MPI_FLOAT : MPI_DOUBLE;
    // MPI counts are int: large buffers go in pieces.
    constexpr std::size_t piece = std::size_t(1) << 30;
    for (std::size_t i = 0; i < values.size(); i += piece) {
      const int n = int(values.size() - i < piece ? values.size() - i : piece);
      check(MPI_Allreduce(MPI_IN_PLACE, values.data() + i, n, type, MPI_SUM, MPI_COMM_WORLD), "all-reduce of the gradients");
    }
#else
    (void)values;
#endif
  }

#if RWKV_HAVE_MPI
  static void check(int status, const char* what) {
    if (status != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
  }
#endif
#if RWKV_HAVE_NCCL
  // On the default stream, synchronized before it returns; the caller has finished the kernels
  // that write the values.
  template <class Scalar>
  bool sum_device(std::span<Scalar> values, ncclDataType_t type) {
    if (!nccl_) {
      ncclUniqueId id;
      if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      check(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD), "broadcast of the NCCL id");
      check_nccl(ncclCommInitRank(&nccl_, size_, id, rank_), "ncclCommInitRank");
    }
    check_nccl(ncclAllReduce(values.data(), values.data(), values.size(), type, ncclSum, nccl_, nullptr),
               "ncclAllReduce of the gradients");
    if (cudaStreamSynchronize(nullptr) != cudaSuccess) throw std::runtime_error("CUDA: the gradient all-reduce failed");
    return true;
  }
  static void check_nccl(ncclResult_t status, const char* what) {
    if (status != ncclSuccess) throw std::runtime_error(std::string("NCCL: ") + what + ": " + ncclGetErrorString(status));
  }
  ncclComm_t nccl_ = nullptr;
#endif
  int rank_ = 0, size_ = 1;
};

}  // namespace rwkv::cli
