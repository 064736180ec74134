// Helpers of the CUDA layer tests: random host tensors and a scale-aware difference against the CPU
// reference.
//
// Tolerances (per precision, as `difference` measures them: max |got - want| / max(1, max |want|)):
//   exact            0: max pooling and layout moves (same comparisons and additions in the same order)
//   elementwise      float 2e-6, double 1e-13: y = a x + b and short gathers (at most k k terms), where
//                    fused multiply-adds on one side can move the last bit
//   reduction        float 1e-4, double 1e-11: sums over a batch (the CPU adds in T, the GPU in double,
//                    in another order)
//   network          float 2e-4, double 1e-10: a few layers or a training step, where float rounding
//                    differences propagate through GEMMs and nonlinearities
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <concepts>
#include <cmath>
#include <limits>

#include "netgrow/core/init.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::test {

template <class T>
struct Tolerance {
  static constexpr double elementwise = std::same_as<T, float> ? 2e-6 : 1e-13;
  static constexpr double reduction = std::same_as<T, float> ? 1e-4 : 1e-11;
  static constexpr double network = std::same_as<T, float> ? 2e-4 : 1e-10;
};

template <class T>
Tensor<T> random_host(Shape shape, Rng& rng, double mean = 0.0, double stddev = 1.0) {
  Tensor<T> t(shape);
  fill_normal(t.view(), mean, stddev, rng);
  return t;
}

// max |got - want| / max(1, max |want|); infinity on a shape mismatch or when exactly one side of an
// element is NaN (both NaN counts as equal).
template <class T>
double difference(ConstView<T> got, ConstView<T> want) {
  if (got.shape() != want.shape()) return std::numeric_limits<double>::infinity();
  double diff = 0, scale = 1;
  for (Index i = 0; i < got.numel(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    if (std::isnan(g) || std::isnan(w)) {
      if (std::isnan(g) != std::isnan(w)) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) return std::numeric_limits<double>::infinity();
      continue;
    }
    diff = std::max(diff, std::abs(g - w));
    scale = std::max(scale, std::abs(w));
  }
  return diff / scale;
}
template <class T>
double difference(const Tensor<T>& got, const Tensor<T>& want) {
  return difference<T>(got.cview(), want.cview());
}

// Element-wise equality (NaN equal to NaN).
template <class T>
bool identical(ConstView<T> got, ConstView<T> want) {
  if (got.shape() != want.shape()) return false;
  for (Index i = 0; i < got.numel(); ++i) {
    const T g = got[i], w = want[i];
    if (!(g == w || (g != g && w != w))) return false;
  }
  return true;
}
template <class T>
bool identical(const Tensor<T>& got, const Tensor<T>& want) {
  return identical<T>(got.cview(), want.cview());
}

}  // namespace netgrow::test
