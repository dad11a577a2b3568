// What a model multiplies by in place of its linear layers' float matrices: int8 or bfloat16
// copies in RNN mode (Model::quantize_int8, Model::use_bfloat16_weights), and bfloat16 copies when
// it trains with precision bf16. Every version lists its matrices in a fixed order (its
// linear_matrices, the head last), and a product names its matrix by the index in that list.
// Private to the library.
#pragma once

#include <rwkv/core/huge_pages.hpp>
#include <rwkv/kernels/bf16_matmul.hpp>
#include <rwkv/kernels/gemm.hpp>
#include <rwkv/kernels/gemm_bf16.hpp>
#include <rwkv/kernels/int8_matmul.hpp>
#include <rwkv/tensor_spec.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rwkv {

// A version's matrices, each with the label of its copy.
template <class ExecSpace, class Scalar>
using LabelledMatrices = std::vector<std::pair<Matrix<ExecSpace, Scalar>, std::string>>;

// Elements of a matrix's copy, rounded up so that each copy starts on a cache line.
template <class Element>
std::size_t padded_elements(std::size_t elements) {
  constexpr std::size_t line = 64 / sizeof(Element);
  return (elements + line - 1) / line * line;
}

// Room for bfloat16 copies of `sources` in `storage`, one buffer so that huge pages cover the
// small matrices too, and the matrices on it (not filled).
template <class ExecSpace, class Scalar, class Storage>
void allocate_bfloat16_copies(const LabelledMatrices<ExecSpace, Scalar>& sources, const std::string& label,
                              Storage& storage, std::vector<BFloat16Matrix<ExecSpace>>& matrices) {
  std::size_t total = 0;
  for (const auto& [W, name] : sources) total += padded_elements<std::uint16_t>(W.size());
  storage = allocate_with_huge_pages<Storage>(label, total);
  std::size_t offset = 0;
  for (const auto& [W, name] : sources) {
    matrices.emplace_back(storage.data() + offset, int(W.extent(0)), int(W.extent(1)));
    offset += padded_elements<std::uint16_t>(W.size());
  }
}

// RNN mode's products: by the float matrices, or by int8 or bfloat16 copies of them (which exclude
// each other).
template <class ExecSpace, class Scalar>
class InferenceMatrices {
 public:
  bool int8() const { return !int8_.empty(); }
  bool bfloat16() const { return !bf16_.empty(); }

  // From now on the products use int8 copies of `sources`; std::logic_error with bfloat16 copies.
  void quantize_int8(const ExecSpace& space, const LabelledMatrices<ExecSpace, Scalar>& sources) {
    if (bfloat16())
      throw std::logic_error("Model::quantize_int8: the model has bfloat16 weights (int8 and bfloat16 exclude each "
                             "other)");
    std::size_t total = 0;
    for (const auto& [W, label] : sources) total += padded_elements<std::int8_t>(W.size());
    int8_storage_ = allocate_with_huge_pages<decltype(int8_storage_)>("int8.storage", total);
    std::size_t offset = 0;
    for (const auto& [W, label] : sources) {
      int8_.emplace_back(label, int8_storage_.data() + offset, int(W.extent(0)), int(W.extent(1)));
      rwkv::quantize_int8(space, int8_.back(), W);
      offset += padded_elements<std::int8_t>(W.size());
      replaced_bytes_ += W.size() * sizeof(Scalar);
    }
    space.fence();
  }

  // From now on the products use bfloat16 copies of `sources`; std::logic_error with int8 copies.
  void use_bfloat16(const ExecSpace& space, const LabelledMatrices<ExecSpace, Scalar>& sources) {
    if (int8())
      throw std::logic_error("Model::use_bfloat16_weights: the model has int8 weights (int8 and bfloat16 exclude "
                             "each other)");
    allocate_bfloat16_copies(sources, "bf16.storage", bf16_storage_, bf16_);
    for (std::size_t m = 0; m < sources.size(); ++m) {
      convert_bfloat16<ExecSpace, Scalar>(space, bf16_[m], sources[m].first);
      replaced_bytes_ += sources[m].first.size() * sizeof(Scalar);
    }
    space.fence();
  }

  // y = x W^T, by the copy of matrix `index` where there are copies.
  void linear(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
              const Matrix<ExecSpace, Scalar>& W, std::size_t index) {
    if (int8())
      int8_matmul_forward(space, y, x, int8_[index], int8_work_);
    else if (bfloat16())
      bf16_matmul_forward(space, y, x, bf16_[index], bf16_work_);
    else
      matmul_forward(space, y, x, W);
  }

  // Bytes of weights one RNN step reads: one row of emb.weight, every other tensor of `specs`, the
  // copied matrices as their copies.
  std::size_t step_weight_bytes(const std::vector<TensorSpec>& specs) const {
    std::size_t total = 0;
    for (const TensorSpec& s : specs) total += (s.name == "emb.weight" ? std::size_t(s.cols) : s.size()) * sizeof(Scalar);
    total -= replaced_bytes_;
    for (const auto& m : int8_) total += m.bytes();
    for (const auto& m : bf16_) total += m.bytes();
    return total;
  }

 private:
  Kokkos::View<std::int8_t*, typename ExecSpace::memory_space> int8_storage_;
  std::vector<Int8Matrix<ExecSpace, Scalar>> int8_;
  Int8Activations<ExecSpace, Scalar> int8_work_;  // shared by the products, one at a time
  Kokkos::View<std::uint16_t*, typename ExecSpace::memory_space> bf16_storage_;
  std::vector<BFloat16Matrix<ExecSpace>> bf16_;
  BFloat16Work<ExecSpace, Scalar> bf16_work_;
  std::size_t replaced_bytes_ = 0;  // of the float matrices the copies stand for
};

// The training products with precision bf16: on bfloat16 copies of the matrices, refreshed from the
// float weights before each forward, with float32 sums (kernels/gemm_bf16.hpp).
template <class ExecSpace, class Scalar>
class TrainingBFloat16Matrices {
 public:
  explicit TrainingBFloat16Matrices(const LabelledMatrices<ExecSpace, Scalar>& sources) {
    allocate_bfloat16_copies(sources, "train_bf16.storage", storage_, matrices_);
  }

  // The copies follow the weights as they are now: refreshing them costs a pass over the matrices,
  // against the products' B*T passes.
  void refresh(const ExecSpace& space, const LabelledMatrices<ExecSpace, Scalar>& sources) {
    for (std::size_t m = 0; m < sources.size(); ++m)
      convert_bfloat16<ExecSpace, Scalar>(space, matrices_[m], sources[m].first);
  }
  // y = x W^T with W matrix `index`.
  void forward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& y, const Matrix<ExecSpace, Scalar>& x,
               std::size_t index) {
    matmul_forward_bf16(space, y, x, matrices_[index], work_);
  }
  // dx += dy W, dW += dy^T x with W matrix `index`.
  void backward(const ExecSpace& space, const Matrix<ExecSpace, Scalar>& dx, const Matrix<ExecSpace, Scalar>& dW,
                const Matrix<ExecSpace, Scalar>& dy, const Matrix<ExecSpace, Scalar>& x, std::size_t index) {
    matmul_backward_bf16(space, dx, dW, dy, x, matrices_[index], work_);
  }

 private:
  Kokkos::View<std::uint16_t*, typename ExecSpace::memory_space> storage_;
  std::vector<BFloat16Matrix<ExecSpace>> matrices_;
  BFloat16GemmWork<ExecSpace, Scalar> work_;  // shared by the products, one at a time
};

}  // namespace rwkv
