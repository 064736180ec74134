/// \file
/// netgrow/grow/firefly.hpp: FireflyOpt, new neurons trained for a few steps to lower the loss
/// (Wu et al. 2020, eq. 4 of arXiv:2102.08574, as the GradMax reference code runs it, without
/// candidate selection or splitting).
///
/// The new neurons start as Random does: incoming weights a random direction x epsilon-rule, outgoing
/// weights a random direction x norm rule. After they are in place, `steps` Adam steps minimise the
/// grow batch's loss over the new incoming and outgoing weights only (GrowthData::recompute runs
/// forward, loss and backward), and after each step every new neuron's incoming and outgoing vectors
/// are rescaled to the mean norms they started with.
///
/// With epsilon = 0 this is exactly Random: the incoming weights start at zero, so their target norm
/// is zero and the projection keeps them there, and the outgoing weights get no gradient because the
/// new neurons output f(0) = 0. The reference code uses epsilon 0 everywhere and so never differs from
/// Random; the default here is epsilon 0.01 (of the mean incoming norm) so that it does.
#pragma once

#include <cmath>

#include "netgrow/ops/layout.hpp"
#include "netgrow/ops/optim.hpp"
#include "netgrow/grow/random.hpp"

namespace netgrow::grow {

/// Firefly-style growth: Random's neurons, then `steps` Adam steps on the grow batch's loss over the new
/// weights only (see the file comment). Any device: the Adam steps run on the network's device; the norm
/// projection after each step on the host for device networks (the new neurons' rows only).
struct FireflyOpt {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = true;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = true;
  ///@}

  NormRule norm = NormRule::mean_norm(1.0);             ///< outgoing side
  double epsilon = 0.01;                                ///< incoming side: norm.with_scale(epsilon)
  int steps = 100;                                      ///< Adam steps in refine() (0: exactly Random)
  double learning_rate = 1e-3;                          ///< Adam's learning rate
  RandomDirection direction = RandomDirection::sphere;  ///< how the starting directions are drawn

  /// Random's k new neurons; throws for invalid settings or, with steps > 0, data without recompute.
  template <class S, class D>
  NewNeurons<S, D> initialize(const PairView<S, D>& pair, Index k, const GrowthData<S, D>& data, Rng& rng) const {
    require(steps >= 0, "FireflyOpt: steps must be non-negative, got ", steps);
    require(learning_rate > 0 && std::isfinite(learning_rate), "FireflyOpt: learning_rate must be positive");
    require(steps == 0 || data.can_recompute(),
            "FireflyOpt: trains the new neurons on the grow batch; give GrowthData::with_recompute()");
    return Random{norm, epsilon, direction}.initialize(pair, k, data, rng);
  }

  /// Trains the new neurons in place: `steps` times data.recompute() and an Adam step on each side,
  /// followed by the norm projection.
  template <class S, class D>
  void refine(RefineContext<S, D>& c) const {
    if (steps == 0 || c.k == 0) return;
    Side<S, D> in(c.producer_weight, c.producer_axis, c.old_width, c.k, 1);
    Side<S, D> out(c.consumer_weight, c.consumer_axis, c.old_width, c.k, c.consumer_multiplier);
    for (int step = 1; step <= steps; ++step) {
      c.data.recompute();
      in.descend(step, learning_rate);
      out.descend(step, learning_rate);
    }
  }

 private:
  // The new neurons' slice of one weight, as rows (k, fan), with its own Adam state and target norm.
  // Neuron j owns indices [j m, (j + 1) m) along `axis`.
  template <class S, class D>
  struct Side {
    Parameter<S, D>& p;
    int axis;
    Index begin, k, m;
    Tensor<S, D> adam_m, adam_v;
    double target = 0;

    Side(Parameter<S, D>& param, int ax, Index old_width, Index count, Index multiplier)
        : p(param), axis(ax), begin(old_width), k(count), m(multiplier) {
      const Tensor<S, D> rows = read(p.value);
      adam_m = Tensor<S, D>(rows.shape());
      adam_v = Tensor<S, D>(rows.shape());
      const std::vector<double> norms = ops::axis_norms<S>(rows.cview(), 0);
      for (const double n : norms) target += n / static_cast<double>(norms.size());
    }
    Shape block_shape() const {
      Shape s = p.value.shape();
      s[axis] = k * m;
      return s;
    }
    Shape as_outer_k_rest(const Shape& block) const {
      Index outer = 1;
      for (int a = 0; a < axis; ++a) outer *= block[a];
      return Shape{outer, k, block.numel() / (outer * k)};
    }
    Tensor<S, D> read(const Tensor<S, D>& t) const {
      Tensor<S, D> block(block_shape());
      ops::slice<S>(t.cview(), axis, begin * m, k * m, block.view());
      Tensor<S, D> rows(Shape{k, block.numel() / k});
      ops::axis_to_rows<S>(block.cview().reshape(as_outer_k_rest(block.shape())), 1, rows.view());
      return rows;
    }
    void write(const Tensor<S, D>& rows) {
      Tensor<S, D> block(block_shape());
      ops::rows_to_axis<S>(rows.cview(), 1, block.view().reshape(as_outer_k_rest(block.shape())));
      ops::assign_slice<S>(block.cview(), axis, begin * m, p.value.view());
    }
    void descend(int t, double lr) {
      Tensor<S, D> w = read(p.value);
      const Tensor<S, D> g = read(p.grad);
      ops::AdamHyper h;
      h.lr = lr;
      h.bias_correction1 = 1.0 - std::pow(h.beta1, t);
      h.bias_correction2 = 1.0 - std::pow(h.beta2, t);
      ops::adam_update<S>(w.view(), g.cview(), adam_m.view(), adam_v.view(), ConstView<S, D>(), h);
      if constexpr (std::same_as<D, Cpu>) {
        set_row_norms(w, target);
        write(w);
      } else {
        Tensor<S, Cpu> rows = host_copy(w.cview());
        set_row_norms(rows, target);
        write(host_to<D>(std::move(rows)));
      }
    }
  };
};

}  // namespace netgrow::grow
