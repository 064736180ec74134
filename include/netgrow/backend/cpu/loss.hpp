/// \file
/// netgrow/backend/cpu/loss.hpp: the CPU back end of ops/loss.hpp (sums in double).
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>

#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// What a softmax cross-entropy back end reports: sums over the batch and the first invalid label.
struct CrossEntropySums {
  double loss_sum = 0;              ///< the sum of the per-sample losses
  Index correct = 0;                ///< samples whose arg-max logit is the label
  Index first_invalid = -1;         ///< the first sample whose label is outside [0, C), or -1
  std::int32_t invalid_label = 0;   ///< that label
};

/// The value and the arg-max hits of a softmax cross-entropy over one batch (ops::CrossEntropyResult).
struct CrossEntropyResult {
  double loss = 0;    ///< mean over the batch
  Index correct = 0;  ///< samples whose arg-max logit is the label
  Index count = 0;    ///< batch size
  /// correct / count (0 for an empty batch).
  double accuracy() const { return count ? static_cast<double>(correct) / static_cast<double>(count) : 0.0; }
};

/// The loss ops of ops/loss.hpp on device D (specialised per device).
template <class D>
struct LossOps;

/// Losses on the CPU.
template <>
struct LossOps<Cpu> {
  /// The sum of max(z, 0) - z t + log(1 + exp(-|z|)) (binary cross-entropy of sigmoid(z) against t,
  /// without overflow); grad = scale (sigmoid(z) - t) unless empty.
  template <class T>
  static double bce_with_logits_sum(ConstView<T, Cpu> logits, ConstView<T, Cpu> targets, TensorView<T, Cpu> grad,
                                    T scale) {
    const Index n = logits.numel();
    const T* z = logits.data();
    const T* t = targets.data();
    double sum = 0;
    for (Index i = 0; i < n; ++i) {
      const double zi = static_cast<double>(z[i]), ti = static_cast<double>(t[i]);
      sum += std::max(zi, 0.0) - zi * ti + std::log1p(std::exp(-std::abs(zi)));
    }
    if (!grad.empty()) {
      T* g = grad.data();
      for (Index i = 0; i < n; ++i) {
        const double e = std::exp(-std::abs(static_cast<double>(z[i])));  // sigmoid without overflow
        const double sigmoid = z[i] >= T(0) ? 1.0 / (1.0 + e) : e / (1.0 + e);
        g[i] = scale * static_cast<T>(sigmoid - static_cast<double>(t[i]));
      }
    }
    return sum;
  }

  /// The sum of (pred - target)^2; grad = 2 (pred - target) / numel unless empty.
  template <class T>
  static double mse_sum(ConstView<T, Cpu> pred, ConstView<T, Cpu> target, TensorView<T, Cpu> grad) {
    const Index n = pred.numel();
    const T* p = pred.data();
    const T* t = target.data();
    double sum = 0;
    for (Index i = 0; i < n; ++i) {
      const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
      sum += d * d;
    }
    if (!grad.empty()) {
      const T scale = T(2.0 / static_cast<double>(n));
      T* g = grad.data();
      for (Index i = 0; i < n; ++i) g[i] = scale * (p[i] - t[i]);
    }
    return sum;
  }

  /// Per-sample log-sum-exp losses, summed; stops at the first invalid label.
  template <class T, class LabelDevice>
  static CrossEntropySums softmax_cross_entropy(ConstView<T, Cpu> logits, ConstView<std::int32_t, LabelDevice> labels,
                                                TensorView<T, Cpu> grad) {
    static_assert(std::same_as<LabelDevice, Cpu>, "softmax_cross_entropy: Cpu logits need Cpu labels");
    const Index n = logits.dim(0), c = logits.dim(1);
    CrossEntropySums r;
    for (Index i = 0; i < n; ++i) {
      const std::int32_t label = labels[i];
      if (label < 0 || label >= c) {
        r.first_invalid = i;
        r.invalid_label = label;
        return r;
      }
      const T* z = logits.data() + i * c;
      Index arg = 0;
      T zmax = z[0];
      for (Index j = 1; j < c; ++j)
        if (z[j] > zmax) zmax = z[j], arg = j;
      double sum = 0;
      for (Index j = 0; j < c; ++j) sum += std::exp(static_cast<double>(z[j] - zmax));
      r.loss_sum += std::log(sum) - static_cast<double>(z[label] - zmax);
      r.correct += arg == label;
      if (!grad.empty()) {
        T* g = grad.data() + i * c;
        const double inv = 1.0 / (sum * static_cast<double>(n));
        for (Index j = 0; j < c; ++j) g[j] = static_cast<T>(std::exp(static_cast<double>(z[j] - zmax)) * inv);
        g[label] -= T(1.0 / static_cast<double>(n));
      }
    }
    return r;
  }
};

}  // namespace netgrow::backend
