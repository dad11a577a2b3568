// The shared part of the kernels' backward checks: a backward's gradients against central finite
// differences of a plain double loss on the host.
//   weighted_sum(y, g):   sum_i y_i g_i, the loss whose gradient a backward given dy = g computes;
//   increments(grad, g0): what a backward added to a gradient that started at g0 (backwards
//                         accumulate, and the checks start from nonzero gradients to show it);
//   FiniteDifferenceCheck: counts the coordinates where a gradient and the difference disagree.
#pragma once

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rwkv::test {

inline double weighted_sum(const std::vector<double>& y, const std::vector<double>& g) {
  double l = 0;
  for (std::size_t i = 0; i < y.size(); ++i) l += y[i] * g[i];
  return l;
}

// The device view `grad` (copied to the host) minus the host view `start`, in memory order.
template <class View, class HostView>
std::vector<double> increments(const View& grad, const HostView& start) {
  std::vector<double> g = as_doubles(to_host(grad));
  for (std::size_t i = 0; i < g.size(); ++i) g[i] -= double(start.data()[i]);
  return g;
}

// Step h of the central difference; a gradient matches it when |gradient - fd| <= atol + rtol |fd|.
struct FiniteDifferenceCheck {
  double h, rtol, atol;

  // The mismatches among `count` coordinates of x drawn from `seed` (all of them, in order, when
  // x has no more), fd being the central difference of loss() in x[i]. The first few are reported
  // under `name` with the assertion that fails.
  template <class Loss>
  int mismatches(const char* name, std::vector<double>& x, const std::vector<double>& gradient, std::size_t count,
                 std::uint64_t seed, const Loss& loss) const {
    REQUIRE(gradient.size() == x.size());
    int bad = 0;
    for (const std::size_t i : sample_indices(x.size(), count, seed)) {
      const double fd = central_difference(&x[i], h, loss);
      if (!close(gradient[i], fd, rtol, atol) && ++bad <= 5)
        UNSCOPED_INFO(name << "[" << i << "]: backward " << gradient[i] << ", finite difference " << fd);
    }
    return bad;
  }

  // Every coordinate of x.
  template <class Loss>
  int mismatches(const char* name, std::vector<double>& x, const std::vector<double>& gradient, const Loss& loss) const {
    return mismatches(name, x, gradient, x.size(), 0, loss);
  }
};

}  // namespace rwkv::test
