/// \file
/// netgrow/core/init.hpp: random initialisers for Cpu tensors, drawn from a netgrow::Rng.
///
/// Same seed -> bitwise-identical tensors. Device tensors are initialised on the host and transferred,
/// so a CPU and a GPU network built from the same seed start from identical weights.
#pragma once

#include <array>
#include <cmath>
#include <string_view>

#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// Weight initialisation schemes (fan_in / fan_out as in Glorot & Bengio 2010, He et al. 2015).
enum class WeightInit {
  zeros,           ///< all zero
  glorot_uniform,  ///< U(-a, a), a = sqrt(6 / (fan_in + fan_out)); the Keras default
  glorot_normal,   ///< N(0, 2 / (fan_in + fan_out))
  he_uniform,      ///< U(-a, a), a = sqrt(6 / fan_in)
  he_normal,       ///< N(0, 2 / fan_in) (not truncated)
  lecun_normal,    ///< N(0, 1 / fan_in)
  torch_default,   ///< U(-a, a), a = 1 / sqrt(fan_in); PyTorch's nn.Linear / nn.Conv default
};

/// The scheme's name as spelled in the enum ("glorot_uniform", ...).
constexpr std::string_view to_string(WeightInit init) {
  switch (init) {
    case WeightInit::zeros: return "zeros";
    case WeightInit::glorot_uniform: return "glorot_uniform";
    case WeightInit::glorot_normal: return "glorot_normal";
    case WeightInit::he_uniform: return "he_uniform";
    case WeightInit::he_normal: return "he_normal";
    case WeightInit::lecun_normal: return "lecun_normal";
    case WeightInit::torch_default: return "torch_default";
  }
  return "unknown";
}

/// Every WeightInit, for code that lists or parses them (found by argument lookup: io/kind_config.hpp).
constexpr std::array<WeightInit, 7> enum_values(WeightInit) {
  return {WeightInit::zeros,     WeightInit::glorot_uniform, WeightInit::glorot_normal, WeightInit::he_uniform,
          WeightInit::he_normal, WeightInit::lecun_normal,   WeightInit::torch_default};
}

/// The enum's name in messages.
constexpr std::string_view enum_name(WeightInit) { return "weight initialiser"; }

/// Fills t with U[lo, hi) drawn in double (for float tensors, rounding can give exactly hi).
template <class T>
void fill_uniform(TensorView<T, Cpu> t, double lo, double hi, Rng& rng) {
  require(lo <= hi, "fill_uniform: lo ", lo, " > hi ", hi);
  for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(rng.uniform(lo, hi));
}

/// Fills t with N(mean, stddev^2).
template <class T>
void fill_normal(TensorView<T, Cpu> t, double mean, double stddev, Rng& rng) {
  require(stddev >= 0, "fill_normal: negative stddev ", stddev);
  const Index n = t.numel();
  for (Index i = 0; i < n; i += 2) {
    const auto z = rng.normal_pair();
    t[i] = static_cast<T>(mean + stddev * z[0]);
    if (i + 1 < n) t[i + 1] = static_cast<T>(mean + stddev * z[1]);
  }
}

/// Fills a weight tensor according to `init` with the given fans.
template <class T>
void init_weights(TensorView<T, Cpu> t, WeightInit init, Index fan_in, Index fan_out, Rng& rng) {
  require(fan_in > 0 && fan_out > 0, "init_weights: fans must be positive, got fan_in=", fan_in,
          " fan_out=", fan_out);
  const double fi = static_cast<double>(fan_in), fo = static_cast<double>(fan_out);
  switch (init) {
    case WeightInit::zeros:
      for (Index i = 0; i < t.numel(); ++i) t[i] = T(0);
      return;
    case WeightInit::glorot_uniform: {
      const double a = std::sqrt(6.0 / (fi + fo));
      return fill_uniform(t, -a, a, rng);
    }
    case WeightInit::glorot_normal: return fill_normal(t, 0.0, std::sqrt(2.0 / (fi + fo)), rng);
    case WeightInit::he_uniform: {
      const double a = std::sqrt(6.0 / fi);
      return fill_uniform(t, -a, a, rng);
    }
    case WeightInit::he_normal: return fill_normal(t, 0.0, std::sqrt(2.0 / fi), rng);
    case WeightInit::lecun_normal: return fill_normal(t, 0.0, std::sqrt(1.0 / fi), rng);
    case WeightInit::torch_default: {
      const double a = 1.0 / std::sqrt(fi);
      return fill_uniform(t, -a, a, rng);
    }
  }
  throw ArgumentError("init_weights: unknown WeightInit value");
}

}  // namespace netgrow
