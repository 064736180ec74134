/// \file
/// netgrow/grow/random.hpp: random new neurons, the GradMax paper's "Random" baseline and its variants.
///
/// ~~~{.unparsed}
///   Random               incoming weights zero (epsilon x norm rule, random direction), outgoing
///                        weights a random unit direction x norm rule; new bias 0. Preserves the
///                        network's function when epsilon = 0 and f(0) = 0 between the pair.
///   RandomOutgoingZero   incoming random x norm rule, outgoing zero (epsilon); preserves the function
///                        for any activation when epsilon = 0.
///   RandomAllZero        both sides epsilon x norm rule (default 0) and new bias 1 (the paper's
///                        Fig. 13a "all zero, unit bias"); needs a producer with bias.
/// ~~~
///
/// Directions: RandomDirection::sphere (the default: isotropic, a normalised Gaussian) or
/// nonnegative_uniform (U[0, 1) entries normalised: what the GradMax reference code draws, so all new
/// directions point into the positive orthant). The two are different baselines (on the teacher-student
/// task the final losses differ by over 1.5x): Random{} is the isotropic one, Random::reference() the
/// reference's; the examples call them "Random" and "Random-Ref". Draw order: incoming rows, then outgoing rows,
/// always both, so a seed gives the same weights whatever epsilon is. New neurons are drawn on the host
/// and copied to the network's device, so a Cuda network grows exactly as its Cpu twin.
#pragma once

#include "netgrow/grow/initializer.hpp"

namespace netgrow::grow {

namespace detail {

template <class S, class D>
NewNeurons<S, D> random_neurons(const PairView<S, D>& pair, Index k, const NormRule& in_rule, const NormRule& out_rule,
                                RandomDirection direction, Rng& rng) {
  Tensor<S, Cpu> incoming = random_unit_rows<S>(k, pair.fan_in(), direction, rng);
  Tensor<S, Cpu> outgoing = random_unit_rows<S>(k, pair.fan_out(), direction, rng);
  set_row_norms(incoming, in_rule.magnitude(pair.mean_incoming_norm));
  set_row_norms(outgoing, out_rule.magnitude(pair.mean_outgoing_norm));
  NewNeurons<S, D> n;
  n.incoming = host_to<D>(std::move(incoming));
  n.outgoing = host_to<D>(std::move(outgoing));
  return n;
}

}  // namespace detail

/// The paper's Random baseline: incoming weights epsilon x norm rule (zero by default), outgoing weights a
/// random direction x norm rule, bias 0 (see the file comment). Any device.
struct Random {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = true;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = false;
  ///@}

  NormRule norm = NormRule::mean_norm(1.0);             ///< outgoing side
  double epsilon = 0.0;                                 ///< incoming side: norm.with_scale(epsilon)
  RandomDirection direction = RandomDirection::sphere;  ///< how the random directions are drawn

  /// The GradMax reference code's Random: directions with U[0, 1) entries, normalised.
  static Random reference(NormRule norm = NormRule::mean_norm(1.0), double epsilon = 0.0) {
    return Random{.norm = norm, .epsilon = epsilon, .direction = RandomDirection::nonnegative_uniform};
  }

  /// k new neurons for `pair`: incoming rows, then outgoing rows drawn from `rng`; no data used.
  template <class S, class D>
  NewNeurons<S, D> initialize(const PairView<S, D>& pair, Index k, const GrowthData<S, D>&, Rng& rng) const {
    return detail::random_neurons(pair, k, norm.with_scale(epsilon), norm, direction, rng);
  }
};

/// Incoming weights a random direction x norm rule, outgoing weights epsilon x norm rule (zero by
/// default), bias 0: keeps the function for any activation. Any device.
struct RandomOutgoingZero {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = false;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = false;
  ///@}

  NormRule norm = NormRule::mean_norm(1.0);             ///< incoming side
  double epsilon = 0.0;                                 ///< outgoing side: norm.with_scale(epsilon)
  RandomDirection direction = RandomDirection::sphere;  ///< how the random directions are drawn

  /// k new neurons for `pair`: incoming rows, then outgoing rows drawn from `rng`; no data used.
  template <class S, class D>
  NewNeurons<S, D> initialize(const PairView<S, D>& pair, Index k, const GrowthData<S, D>&, Rng& rng) const {
    return detail::random_neurons(pair, k, norm, norm.with_scale(epsilon), direction, rng);
  }
};

/// Both sides epsilon x norm rule (zero by default) and bias 1 (the paper's "all zero, unit bias"); needs
/// a producer with bias. Any device.
struct RandomAllZero {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = false;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = false;
  ///@}

  NormRule norm = NormRule::mean_norm(1.0);             ///< its kind is used, with scale epsilon, on both sides
  double epsilon = 0.0;                                 ///< the scale of that rule on both sides
  RandomDirection direction = RandomDirection::sphere;  ///< how the random directions are drawn

  /// k new neurons for `pair` with bias 1: incoming rows, then outgoing rows drawn from `rng`; throws
  /// for a producer without bias.
  template <class S, class D>
  NewNeurons<S, D> initialize(const PairView<S, D>& pair, Index k, const GrowthData<S, D>&, Rng& rng) const {
    require(!pair.bias.empty(), "RandomAllZero: new neurons get bias 1, so the producer layer needs a bias");
    const NormRule rule = norm.with_scale(epsilon);
    NewNeurons<S, D> n = detail::random_neurons(pair, k, rule, rule, direction, rng);
    n.bias = Tensor<S, D>(Shape{k});
    ops::fill<S>(n.bias.view(), S(1));
    return n;
  }
};

}  // namespace netgrow::grow
