// Helpers of the CUDA backend tests: random host tensors, device round trips, and element-wise
// comparison with a tolerance |got - want| <= abs + rel |want| reported once per tensor (the worst
// element, its index and both values).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::test {

// Uniform values in [lo, hi).
template <class T>
Tensor<T, Cpu> uniform_tensor(Shape shape, Rng& rng, double lo = -1.0, double hi = 1.0) {
  Tensor<T, Cpu> t(shape);
  for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(rng.uniform(lo, hi));
  return t;
}

// A host tensor's device copy, and back.
template <class T>
Tensor<T, Cuda> on_device(const Tensor<T, Cpu>& t) {
  return to<Cuda>(t);
}
template <class T>
Tensor<T, Cpu> on_host(const Tensor<T, Cuda>& t) {
  return to<Cpu>(t);
}

// Checks |got[i] - want[i]| <= abs + rel |want[i]| for every i (NaN matches NaN only), shapes equal.
template <class T>
void check_close(ConstView<T, Cpu> got, ConstView<T, Cpu> want, double rel, double abs, const std::string& what) {
  INFO(what);
  REQUIRE(got.shape() == want.shape());
  Index worst = -1, failures = 0;
  double worst_excess = 0;
  for (Index i = 0; i < got.numel(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g)) {
        ++failures;
        if (worst < 0) worst = i, worst_excess = std::numeric_limits<double>::infinity();
      }
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) ++failures, worst = i, worst_excess = std::numeric_limits<double>::infinity();
      continue;
    }
    const double excess = std::abs(g - w) - (abs + rel * std::abs(w));
    if (excess > 0) {
      ++failures;
      if (excess > worst_excess) worst_excess = excess, worst = i;
    }
  }
  if (failures > 0) {
    const auto wi = worst;
    FAIL_CHECK(failures << " of " << got.numel() << " elements outside |err| <= " << abs << " + " << rel
                        << " |want|; worst at flat index " << wi << ": got " << static_cast<double>(got[wi])
                        << ", want " << static_cast<double>(want[wi]));
  }
}
template <class T>
void check_close(const Tensor<T, Cpu>& got, const Tensor<T, Cpu>& want, double rel, double abs,
                 const std::string& what) {
  check_close<T>(got.cview(), want.cview(), rel, abs, what);
}

// Checks ||got - want||_2 <= rel ||want||_2 + abs (shapes equal): for results of many float steps, where
// a Relu input within rounding of 0 may take the other branch on one device and move a few elements
// by more than any per-element bound while the tensor as a whole agrees.
template <class T>
void check_close_norm(const Tensor<T, Cpu>& got, const Tensor<T, Cpu>& want, double rel, double abs,
                      const std::string& what) {
  INFO(what);
  REQUIRE(got.shape() == want.shape());
  double diff = 0, norm = 0;
  for (Index i = 0; i < got.numel(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    diff += (g - w) * (g - w);
    norm += w * w;
  }
  diff = std::sqrt(diff);
  norm = std::sqrt(norm);
  CHECK_MESSAGE(diff <= rel * norm + abs, "||got - want|| = " << diff << " vs ||want|| = " << norm << " (rel " << rel
                                                             << ", abs " << abs << ")");
}

// Largest |x| of a tensor.
template <class T>
double max_abs(ConstView<T, Cpu> x) {
  double m = 0;
  for (Index i = 0; i < x.numel(); ++i) m = std::max(m, std::abs(static_cast<double>(x[i])));
  return m;
}

}  // namespace netgrow::test
