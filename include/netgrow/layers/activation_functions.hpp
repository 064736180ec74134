/// \file
/// netgrow/layers/activation_functions.hpp: activation functions as types, with compile-time traits.
///
/// Each activation is a layer kind (put it straight into a network's type list; its layer_type is
/// ActivationLayer from layers/activation.hpp) and a functor with
/// ~~~{.unparsed}
///   T f(T x) const          the activation
///   T df(T x, T y) const    its derivative at x, given y = f(x) (whichever is cheaper is used)
/// ~~~
/// usable on host and device (this header needs neither Eigen nor CUDA). The traits say what growth
/// methods may rely on:
/// ~~~{.unparsed}
///   zero_at_zero            f(0) == 0: a neuron with zero incoming weights outputs 0, so adding it
///                           preserves the network's function
///   nonzero_slope_at_zero   f'(0) != 0: GradMax's new neurons (zero incoming weights, pre-activation
///                           0) receive a gradient; with f'(0) == 0 (standard Relu) it vanishes
///   slope_at_zero()         the value f'(0) (the subgradient chosen at kinks)
/// ~~~
#pragma once

#include <cmath>
#include <concepts>
#include <numbers>
#include <string_view>
#include <tuple>

#include "netgrow/core/config.hpp"
#include "netgrow/core/fields.hpp"

namespace netgrow {

template <class Act, class S, class D>
class ActivationLayer;

/// ReLU with subgradient 1 at 0: max(x, 0), f'(0) = 1. The GradMax paper's choice for activations
/// between grown layers (the reference code's "relu1").
struct Relu1 {
  /// Activation interface (see the file comment): layer_type, name, traits, f(x), df(x, y = f(x)).
  ///@{
  template <class S, class D>
  using layer_type = ActivationLayer<Relu1, S, D>;
  static constexpr std::string_view name = "Relu1";
  static constexpr bool idempotent = true;  ///< f(f(z)) = f(z): the same values as Relu (depth growth)
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = true;
  constexpr double slope_at_zero() const { return 1.0; }
  template <class T>
  NETGROW_HOST_DEVICE T f(T x) const { return x > T(0) ? x : T(0); }
  template <class T>
  NETGROW_HOST_DEVICE T df(T x, T) const { return x >= T(0) ? T(1) : T(0); }
  ///@}
};

/// Standard ReLU: max(x, 0) with f'(0) = 0 (PyTorch's and TensorFlow's convention).
struct Relu {
  /// Activation interface (see the file comment): layer_type, name, traits, f(x), df(x, y = f(x)).
  ///@{
  template <class S, class D>
  using layer_type = ActivationLayer<Relu, S, D>;
  static constexpr std::string_view name = "Relu";
  static constexpr bool idempotent = true;  ///< f(f(z)) = f(z): max(max(z, 0), 0) = max(z, 0) (depth growth)
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = false;
  constexpr double slope_at_zero() const { return 0.0; }
  template <class T>
  NETGROW_HOST_DEVICE T f(T x) const { return x > T(0) ? x : T(0); }
  template <class T>
  NETGROW_HOST_DEVICE T df(T x, T) const { return x > T(0) ? T(1) : T(0); }
  ///@}
};

/// Leaky ReLU: x for x > 0, slope * x otherwise; f'(0) = slope (PyTorch's convention).
/// nonzero_slope_at_zero holds for slope != 0.
struct LeakyRelu {
  /// Activation interface (see the file comment): layer_type, name, traits, f(x), df(x, y = f(x)).
  ///@{
  template <class S, class D>
  using layer_type = ActivationLayer<LeakyRelu, S, D>;
  static constexpr std::string_view name = "LeakyRelu";
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = true;
  double slope = 0.01;  ///< f(x) = slope * x for x <= 0
  /// The configuration fields (core/fields.hpp).
  static constexpr auto fields() { return std::tuple{field("slope", &LeakyRelu::slope)}; }
  constexpr double slope_at_zero() const { return slope; }
  template <class T>
  NETGROW_HOST_DEVICE T f(T x) const { return x > T(0) ? x : T(slope) * x; }
  template <class T>
  NETGROW_HOST_DEVICE T df(T x, T) const { return x > T(0) ? T(1) : T(slope); }
  ///@}
};

/// Hyperbolic tangent; f'(0) = 1.
struct Tanh {
  /// Activation interface (see the file comment): layer_type, name, traits, f(x), df(x, y = f(x)).
  ///@{
  template <class S, class D>
  using layer_type = ActivationLayer<Tanh, S, D>;
  static constexpr std::string_view name = "Tanh";
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = true;
  constexpr double slope_at_zero() const { return 1.0; }
  template <class T>
  NETGROW_HOST_DEVICE T f(T x) const { return std::tanh(x); }
  template <class T>
  NETGROW_HOST_DEVICE T df(T, T y) const { return T(1) - y * y; }
  ///@}
};

/// Identity (a linear layer); f'(0) = 1.
struct Identity {
  /// Activation interface (see the file comment): layer_type, name, traits, f(x), df(x, y = f(x)).
  ///@{
  template <class S, class D>
  using layer_type = ActivationLayer<Identity, S, D>;
  static constexpr std::string_view name = "Identity";
  static constexpr bool idempotent = true;  ///< f(f(z)) = f(z): trivially (depth growth)
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = true;
  constexpr double slope_at_zero() const { return 1.0; }
  template <class T>
  NETGROW_HOST_DEVICE T f(T x) const { return x; }
  template <class T>
  NETGROW_HOST_DEVICE T df(T, T) const { return T(1); }
  ///@}
};

/// GELU, exact form x * Phi(x) (PyTorch's default); f'(0) = 1/2.
struct Gelu {
  /// Activation interface (see the file comment): layer_type, name, traits, f(x), df(x, y = f(x)).
  ///@{
  template <class S, class D>
  using layer_type = ActivationLayer<Gelu, S, D>;
  static constexpr std::string_view name = "Gelu";
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = true;
  constexpr double slope_at_zero() const { return 0.5; }
  template <class T>
  // Phi(x) = erfc(-x / sqrt 2) / 2, not (1 + erf(x / sqrt 2)) / 2: the latter cancels for negative x and
  // loses all relative precision there (and CPU and GPU erf then disagree in the leading digits).
  NETGROW_HOST_DEVICE T f(T x) const { return T(0.5) * x * std::erfc(-x * T(std::numbers::sqrt2 / 2)); }
  template <class T>
  NETGROW_HOST_DEVICE T df(T x, T) const {
    const T cdf = T(0.5) * std::erfc(-x * T(std::numbers::sqrt2 / 2));
    const T pdf = T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2) * std::exp(T(-0.5) * x * x);
    return cdf + x * pdf;
  }
  ///@}

  /// Optional array interface (float only; the CPU back end uses it on Eigen arrays, vectorised):
  /// f_array(x) and df_array(x). Phi comes from Numerical Recipes' Chebyshev fit of erfc (fractional
  /// error below 1.2e-7 for every argument, float's own precision), which needs nothing but exp, where
  /// the scalar erfcf is a library call per element (a quarter of a transformer step). Double keeps
  /// the scalar f and df above.
  ///@{
  template <class A>
    requires std::same_as<typename A::Scalar, float>
  auto f_array(const A& x) const {
    return (x * phi_array(x)).eval();
  }
  template <class A>
    requires std::same_as<typename A::Scalar, float>
  auto df_array(const A& x) const {
    const float c = static_cast<float>(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
    return (phi_array(x) + x * (c * (-0.5f * x * x).exp())).eval();
  }
  ///@}

 private:
  // Phi(x) = erfc(-x / sqrt 2) / 2 with erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), z = |x| / sqrt 2.
  template <class A>
  static auto phi_array(const A& x) {
    const auto z = (x.abs() * static_cast<float>(std::numbers::sqrt2 / 2)).eval();
    const auto t = (1.0f / (1.0f + 0.5f * z)).eval();
    const auto p = (-1.26551223f +
                    t * (1.00002368f +
                         t * (0.37409196f +
                              t * (0.09678418f +
                                   t * (-0.18628806f +
                                        t * (0.27886807f +
                                             t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f)))))))))
                       .eval();
    const auto half_erfc = (0.5f * t * (p - z * z).exp()).eval();  // erfc(|x| / sqrt 2) / 2
    return (x >= 0.0f).select(1.0f - half_erfc, half_erfc).eval();
  }
};

/// Logistic sigmoid shifted to pass through the origin: 1 / (1 + e^-x) - 1/2 (the GradMax paper's
/// suggestion for making the logistic usable with GradMax); f'(0) = 1/4.
struct CenteredLogistic {
  /// Activation interface (see the file comment): layer_type, name, traits, f(x), df(x, y = f(x)).
  ///@{
  template <class S, class D>
  using layer_type = ActivationLayer<CenteredLogistic, S, D>;
  static constexpr std::string_view name = "CenteredLogistic";
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = true;
  constexpr double slope_at_zero() const { return 0.25; }
  template <class T>
  NETGROW_HOST_DEVICE T f(T x) const {
    // Stable on both tails: never exponentiates a large positive number.
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x)) - T(0.5);
    const T e = std::exp(x);
    return e / (T(1) + e) - T(0.5);
  }
  template <class T>
  NETGROW_HOST_DEVICE T df(T, T y) const { return T(0.25) - y * y; }  ///< s(1 - s) with s = y + 1/2
  ///@}
};

/// An activation kind: a functor with f/df and the traits above.
template <class A>
concept Activation = requires(const A& a, float x, double xd) {
  { A::name } -> std::convertible_to<std::string_view>;
  { A::zero_at_zero } -> std::convertible_to<bool>;
  { A::nonzero_slope_at_zero } -> std::convertible_to<bool>;
  { a.slope_at_zero() } -> std::convertible_to<double>;
  { a.f(x) } -> std::same_as<float>;
  { a.df(x, x) } -> std::same_as<float>;
  { a.f(xd) } -> std::same_as<double>;
};

/// Compile-time facts about an activation, in one place for growth code to query.
template <Activation A>
struct activation_traits {
  static constexpr bool zero_at_zero = A::zero_at_zero;                    ///< f(0) == 0
  static constexpr bool nonzero_slope_at_zero = A::nonzero_slope_at_zero;  ///< f'(0) != 0
};

}  // namespace netgrow
