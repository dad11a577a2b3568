// Views into a version's flat weight buffer, handed out in the order of its tensor_specs() and
// checked by name, so that a Weights struct and its tensor list cannot drift apart.
#pragma once

#include <rwkv/core/views.hpp>
#include <rwkv/tensor_spec.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace rwkv {

template <class ExecSpace, class Scalar>
class TensorViews {
 public:
  TensorViews(const Vector<ExecSpace, Scalar>& flat, const std::vector<TensorSpec>& specs)
      : flat_(flat), specs_(specs) {}

  Vector<ExecSpace, Scalar> vec(const std::string& name) {
    const TensorSpec& s = next(name);
    return Vector<ExecSpace, Scalar>(flat_.data() + s.offset, s.rows);
  }
  Matrix<ExecSpace, Scalar> mat(const std::string& name) {
    const TensorSpec& s = next(name);
    return Matrix<ExecSpace, Scalar>(flat_.data() + s.offset, s.rows, s.cols);
  }
  // Throws std::logic_error unless every tensor has been bound.
  void finish() const {
    if (next_ != specs_.size())
      throw std::logic_error("weights layout: " + std::to_string(specs_.size() - next_) + " tensors left unbound");
  }

 private:
  const TensorSpec& next(const std::string& name) {
    if (next_ >= specs_.size() || specs_[next_].name != name)
      throw std::logic_error("weights layout: expected " + name + " at position " + std::to_string(next_));
    return specs_[next_++];
  }

  Vector<ExecSpace, Scalar> flat_;
  const std::vector<TensorSpec>& specs_;
  std::size_t next_ = 0;
};

}  // namespace rwkv
