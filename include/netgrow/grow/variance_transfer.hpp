/// \file
/// netgrow/grow/variance_transfer.hpp: the function-preserving random growth with variance transfer of
/// Yuan, Savarese and Maire (NeurIPS 2023); its learning-rate half is grow/stage_lr.hpp.
///
/// Cancelling pairs. k new neurons come as k / 2 pairs that share random incoming weights V and have
/// opposite random outgoing weights Z and -Z:
/// ~~~{.unparsed}
///   producer rows  [W1; V; V]        consumer columns  [c W2, Z, -Z]
/// ~~~
/// Both neurons of a pair compute the same value through any per-channel layers between the pair
/// (activations, BatchNorm grown by identity, pooling), so their contributions cancel exactly, for any
/// activation. Unlike zero-initialised neurons both sides are non-zero, so the new neurons learn from
/// the first step (their incoming weights get opposite gradients, which also breaks the pair's
/// symmetry). An odd k gives its last neuron random incoming and zero outgoing weights. `noise` > 0
/// adds N(0, (noise std_V)^2) to the second copy's incoming weights (GroMo's symmetry breaking; the
/// function is then kept only approximately).
///
/// Variance transfer. Weight scales follow the fan-in: std proportional to fan_in^(-1/2) (Rule::
/// sqrt_fan_in, the standard fan-in rule; GroMo's default_vt) or to fan_in^(-1) (Rule::fan_in, the
/// growing wiki's muP-style form with C_t / C_{t+1}). The consumer's fan-in grows from F to F', so:
/// ~~~{.unparsed}
///   c = (F / F')^e                 e = 1/2 or 1: the factor on the consumer's existing weights and bias
///   Scale::fan_in_rule (default)   std(V) = gain fan_in^(-e), std(Z) = gain F'^(-e): an initialiser's draw
///                                  at the new fan-in, which is what the paper's parameterisation prescribes
///   Scale::existing_rms            std(V) = gain rms(W1), std(Z) = gain rms(W2) c: the existing weights'
///                                  (trained) scale moved to the new fan-in (the paper's empirical variant)
/// ~~~
/// (rms: the root mean square of the existing weights.) Why the initialiser's scale is the default: a
/// trained layer's rms is mostly its learned low-rank part (2 to 2.5 times the initialiser's std in the
/// small Fashion-MNIST CNN after 140 steps), and i.i.d. weights at that rms on both sides of every new
/// pair add far more curvature than the existing neurons carry. Measured on examples/fashion_mnist
/// (plain small CNN, all three sites growing at once, SGD Nesterov lr 0.05): with existing_rms the loss
/// spikes after the second growth and one of two seeds diverges; fan_in_rule with gain 1 trains through
/// every growth without a spike (see README, "Variance transfer on a network without BatchNorm").
/// The rescale keeps the function only where a normalisation absorbs it: with a BatchNorm right after
/// the consumer, grow_width multiplies its running mean by c, its running variance and eps by c^2
/// (BatchNormLayer::rescale_input), which is exact in training and evaluation mode. Without one the
/// existing weights stay as they are (GrowthReport::consumer_scale says which happened), so the growth
/// always preserves the function. The optimizer state of rescaled weights is kept as it is.
#pragma once

#include <cmath>
#include <vector>

#include "netgrow/core/init.hpp"
#include "netgrow/grow/initializer.hpp"

namespace netgrow::grow {

/// Cancelling random pairs with variance transfer (see the file comment). Any device: the new neurons
/// are drawn on the host and copied over.
struct VarianceTransfer {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = false;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = false;
  ///@}

  /// How weight scales depend on the fan-in.
  enum class Rule {
    sqrt_fan_in,  ///< std ~ fan_in^(-1/2): c = sqrt(F / F')
    fan_in,       ///< std ~ fan_in^(-1): c = F / F'
  };

  /// Where the new weights' standard deviation comes from (see the file comment).
  enum class Scale {
    fan_in_rule,   ///< gain x (fan-in)^(-e) at the new fan-in: an initialiser's draw (default)
    existing_rms,  ///< gain x the existing weights' root mean square, the consumer's moved by c
  };

  Rule rule = Rule::sqrt_fan_in;     ///< the scaling rule
  Scale scale = Scale::fan_in_rule;  ///< the new weights' scale
  double gain = 1.0;                 ///< factor on the new weights' standard deviation; > 0
  /// Rescale the consumer's existing weights by c where a BatchNorm after it keeps the function.
  bool rescale = true;
  double noise = 0.0;  ///< symmetry-breaking noise on the second copy's incoming weights, relative to std(V)

  /// k new neurons for `pair` (see the file comment); throws for a gain that is not positive and finite, or a
  /// negative or non-finite noise.
  template <class S, class D>
  NewNeurons<S, D> initialize(const PairView<S, D>& pair, Index k, const GrowthData<S, D>&, Rng& rng) const {
    require(gain > 0 && std::isfinite(gain), "VarianceTransfer: gain must be finite and positive, got ", gain);
    require(noise >= 0 && std::isfinite(noise), "VarianceTransfer: noise must be finite and non-negative, got ",
            noise);
    require(pair.consumer_outputs > 0 && pair.consumer_fan_in > 0, "VarianceTransfer: the pair view lacks the "
            "consumer's fan-in");
    const double e = rule == Rule::sqrt_fan_in ? 0.5 : 1.0;
    const Index fan_in = pair.fan_in(), fan_out = pair.fan_out();
    const double f_old = static_cast<double>(pair.consumer_fan_in);
    const double f_new = f_old + static_cast<double>(k * (fan_out / pair.consumer_outputs));
    const double c = std::pow(f_old / f_new, e);
    auto rms = [](const std::vector<double>& row_norms, Index per_row) {
      double sq = 0;
      for (const double n : row_norms) sq += n * n;
      const double count = static_cast<double>(row_norms.size()) * static_cast<double>(per_row);
      return count > 0 ? std::sqrt(sq / count) : 0.0;
    };
    const double rule_in = gain * std::pow(static_cast<double>(fan_in), -e), rule_out = gain * std::pow(f_new, -e);
    double std_in = rule_in, std_out = rule_out;
    if (scale == Scale::existing_rms) {
      std_in = gain * rms(ops::axis_norms<S>(pair.incoming, 0), fan_in);
      std_out = gain * rms(ops::axis_norms<S>(pair.outgoing().cview(), 0), fan_out) * c;
      // Existing weights all zero: the fan-in rule instead.
      if (std_in == 0) std_in = rule_in;
      if (std_out == 0) std_out = rule_out;
    }

    Tensor<S, Cpu> incoming(Shape{k, fan_in}), outgoing(Shape{k, fan_out});
    auto in = matrix(incoming);
    auto out = matrix(outgoing);
    Tensor<S, Cpu> v(Shape{fan_in}), z(Shape{fan_out});
    for (Index i = 0; i + 1 < k; i += 2) {
      fill_normal(v.view(), 0.0, std_in, rng);
      fill_normal(z.view(), 0.0, std_out, rng);
      in.row(i) = vector(v).transpose();
      in.row(i + 1) = vector(v).transpose();
      out.row(i) = vector(z).transpose();
      out.row(i + 1) = -vector(z).transpose();
      if (noise > 0)
        for (Index j = 0; j < fan_in; ++j) in(i + 1, j) += static_cast<S>(noise * std_in * rng.normal());
    }
    if (k % 2 == 1) {  // the unpaired last neuron: outgoing zero
      fill_normal(v.view(), 0.0, std_in, rng);
      in.row(k - 1) = vector(v).transpose();
    }
    NewNeurons<S, D> n;
    n.incoming = host_to<D>(std::move(incoming));
    n.outgoing = host_to<D>(std::move(outgoing));
    if (rescale && pair.normalized_after_consumer) n.consumer_scale = c;
    return n;
  }
};

}  // namespace netgrow::grow
