/// \file
/// netgrow/grow/gradmax_opt.hpp: GradMax's objective optimised iteratively instead of in closed form.
///
/// GradMaxOpt (paper section 3, "GradMax-Optimized"): incoming weights zero (epsilon rule), outgoing
/// weights O (k, fan_out) from a random start, then `steps` Adam steps of projected gradient ascent on
/// ||O M||_F (the norm of the new incoming weights' gradient, eq. 14), each followed by a projection:
/// ~~~{.unparsed}
///   orthonormal = false (the reference's projection): every new neuron's outgoing vector is rescaled
///     to the norm rule's magnitude. Under this constraint alone the objective is maximised by putting
///     every neuron on the top singular direction (k c^2 sigma_1^2 > c^2 (sigma_1^2 + ... + sigma_k^2)),
///     so long runs drift towards duplicated neurons and can exceed GradMax's gradient norm;
///   orthonormal = true: the rows are re-orthonormalised (QR) before the rescaling, so the iterates stay
///     distinct neurons and converge to GradMax's closed form (the top-k singular subspace) from below.
/// ~~~
/// The GradMax reference runs 100 steps of Adam with learning rate 1e-3 (the defaults here); its
/// teacher-student notebook's Fig. 2a uses learning rate 100. Adam's per-coordinate scaling bends the
/// ascent direction, so projected Adam stalls a few percent short of the constrained optimum;
/// Ascent::gradient takes plain projected gradient steps, x += learning_rate * gradient, which with
/// orthonormal = true is a damped subspace iteration and converges to GradMax's solution.
///
/// InverseGradMaxOpt (the "inverse" formulation, paper section 3 after eq. 14): outgoing weights zero
/// (epsilon rule), so the function is kept for any activation; the incoming weights I (k, fan_in) are
/// optimised the same way to maximise the gradient norm of the new outgoing weights, eq. 7:
///     || dz^T f(h I^T) ||_F     over the grow batch (h (N, fan_in), dz (N, fan_out)),
/// with f the layers between the pair, and each new neuron's incoming vector rescaled to the norm
/// rule's magnitude after every step. This is what the paper suggests with BatchNorm between a pair,
/// where zero incoming weights are unstable.
#pragma once

#include <cmath>

#include "netgrow/ops/optim.hpp"
#include "netgrow/ops/svd.hpp"
#include "netgrow/grow/initializer.hpp"

namespace netgrow::grow {

/// How the iterative initializers climb their objective.
enum class Ascent { adam, gradient };

namespace detail {

// Ascent state for one (k, d) block of new weights.
template <class S>
struct AscentState {
  Tensor<S, Cpu> m, v;
  std::int64_t t = 0;
  Ascent kind;
  AscentState(const Shape& s, Ascent a) : m(s), v(s), kind(a) {}
  // x += a step along `gradient` (the gradient of the objective to increase).
  void step(Tensor<S, Cpu>& x, Tensor<S, Cpu>& gradient, double lr) {
    if (kind == Ascent::gradient) {
      ops::axpy<S>(static_cast<S>(lr), gradient.cview(), x.view());
      return;
    }
    ++t;
    ops::scale<S>(gradient.view(), S(-1));
    ops::AdamHyper h;
    h.lr = lr;
    h.bias_correction1 = 1.0 - std::pow(h.beta1, static_cast<double>(t));
    h.bias_correction2 = 1.0 - std::pow(h.beta2, static_cast<double>(t));
    ops::adam_update<S>(x.view(), gradient.cview(), m.view(), v.view(), ConstView<S, Cpu>(), h);
  }
};

inline void check_steps(int steps, double lr, const char* who) {
  require(steps >= 0, who, ": steps must be non-negative, got ", steps);
  require(lr > 0 && std::isfinite(lr), who, ": learning_rate must be positive, got ", lr);
}

}  // namespace detail

/// GradMax-Optimized: outgoing weights found by projected ascent on ||O M||_F, incoming weights epsilon x
/// norm rule (see the file comment). Written for the Cpu; device networks run it through the host
/// (grow/initializer.hpp, host_staged_growth: M copied over).
struct GradMaxOpt {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = true;
  static constexpr bool needs_nonzero_slope = true;
  static constexpr bool needs_data = true;
  ///@}

  NormRule norm = NormRule::mean_norm(1.0);         ///< outgoing side
  double epsilon = 0.0;                             ///< incoming side
  int steps = 100;                                  ///< ascent steps
  double learning_rate = 1e-3;                      ///< step size
  RandomDirection start = RandomDirection::sphere;  ///< how the starting directions are drawn
  bool orthonormal = false;                         ///< re-orthonormalise the rows after each step
  Ascent ascent = Ascent::adam;                     ///< Adam or plain gradient steps

  /// k new neurons for `pair` from M (data.matrix()); throws for invalid settings or an M whose shape
  /// does not match the pair.
  template <class S>
  NewNeurons<S> initialize(const PairView<S>& pair, Index k, const GrowthData<S>& data, Rng& rng) const {
    detail::check_steps(steps, learning_rate, "GradMaxOpt");
    const Tensor<S, Cpu>& m = data.matrix();  // (fan_out, fan_in)
    require<ShapeError>(m.shape() == Shape{pair.fan_out(), pair.fan_in()}, "GradMaxOpt: gradient matrix ",
                        m.shape(), " for a pair with fan_out ", pair.fan_out(), " and fan_in ", pair.fan_in());
    NewNeurons<S> n;
    n.incoming = random_unit_rows<S>(k, pair.fan_in(), start, rng);
    set_row_norms(n.incoming, norm.with_scale(epsilon).magnitude(pair.mean_incoming_norm));
    n.outgoing = random_unit_rows<S>(k, pair.fan_out(), start, rng);
    const double magnitude = norm.magnitude(pair.mean_outgoing_norm);
    set_row_norms(n.outgoing, magnitude);

    detail::AscentState<S> climber(n.outgoing.shape(), ascent);
    Tensor<S, Cpu> g(Shape{k, pair.fan_in()}), direction(n.outgoing.shape());
    for (int step = 0; step < steps; ++step) {
      ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(1), n.outgoing.cview(), m.cview(), S(0), g.view());  // O M
      const double norm_g = std::sqrt(ops::squared_norm<S>(g.cview()));
      if (norm_g == 0) break;  // M = 0: nothing to maximise
      // d||O M||_F / dO = (O M) M^T / ||O M||_F
      ops::gemm<S>(ops::Trans::no, ops::Trans::yes, static_cast<S>(1.0 / norm_g), g.cview(), m.cview(), S(0),
                   direction.view());
      climber.step(n.outgoing, direction, learning_rate);
      if (orthonormal && k <= pair.fan_out()) {
        backend::detail::DenseMatrix<S> columns = matrix(n.outgoing).transpose();  // (fan_out, k)
        backend::detail::orthonormalize<S>(columns, rng);
        matrix(n.outgoing) = columns.transpose();
      }
      set_row_norms(n.outgoing, magnitude);
    }
    return n;
  }
};

/// The inverse formulation: outgoing weights epsilon x norm rule, incoming weights found by projected ascent
/// on || dz^T f(h I^T) ||_F over the grow batch (see the file comment). Written for the Cpu; device
/// networks run it through the host (host_staged_growth), the layers between the pair on the device.
struct InverseGradMaxOpt {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = false;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = true;
  ///@}

  NormRule norm = NormRule::mean_norm(1.0);         ///< incoming side
  double epsilon = 0.0;                             ///< outgoing side
  int steps = 100;                                  ///< ascent steps
  double learning_rate = 1e-3;                      ///< step size
  RandomDirection start = RandomDirection::sphere;  ///< how the starting directions are drawn
  Ascent ascent = Ascent::adam;                     ///< Adam or plain gradient steps

  /// k new neurons for `pair` from the batch's h and dL/dz (data.inputs(), data.output_grads()), through
  /// pair.between_forward / between_backward; throws for invalid settings or mismatched shapes.
  template <class S>
  NewNeurons<S> initialize(const PairView<S>& pair, Index k, const GrowthData<S>& data, Rng& rng) const {
    detail::check_steps(steps, learning_rate, "InverseGradMaxOpt");
    require(static_cast<bool>(pair.between_forward) && static_cast<bool>(pair.between_backward),
            "InverseGradMaxOpt: needs the layers between the pair (PairView::between_forward / between_backward, "
            "which grow_width sets)");
    const ConstView<S, Cpu> h = data.inputs();      // (N, fan_in)
    const ConstView<S, Cpu> dz = data.output_grads();  // (N, fan_out)
    require<ShapeError>(h.dim(1) == pair.fan_in() && dz.dim(1) == pair.fan_out(), "InverseGradMaxOpt: batch h ",
                        h.shape(), ", dL/dz ", dz.shape(), " for a pair with fan_in ", pair.fan_in(), " and fan_out ",
                        pair.fan_out());
    NewNeurons<S> n;
    n.incoming = random_unit_rows<S>(k, pair.fan_in(), start, rng);
    const double magnitude = norm.magnitude(pair.mean_incoming_norm);
    set_row_norms(n.incoming, magnitude);
    n.outgoing = random_unit_rows<S>(k, pair.fan_out(), start, rng);
    set_row_norms(n.outgoing, norm.with_scale(epsilon).magnitude(pair.mean_outgoing_norm));

    const Index batch = h.dim(0);
    Tensor<S, Cpu> z(Shape{batch, k}), f(Shape{batch, k}), g(Shape{pair.fan_out(), k}), df(Shape{batch, k}),
        dzn(Shape{batch, k}), direction(n.incoming.shape());
    detail::AscentState<S> climber(n.incoming.shape(), ascent);
    for (int step = 0; step < steps; ++step) {
      ops::gemm<S>(ops::Trans::no, ops::Trans::yes, S(1), h, n.incoming.cview(), S(0), z.view());  // z = h I^T
      pair.between_forward(z.cview(), f.view());                                                   // f(z)
      ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), dz, f.cview(), S(0), g.view());         // dz^T f
      const double norm_g = std::sqrt(ops::squared_norm<S>(g.cview()));
      if (norm_g == 0) break;
      // d||G||/df = dz G / ||G||; back through f; d/dI = (d/dz)^T h
      ops::gemm<S>(ops::Trans::no, ops::Trans::no, static_cast<S>(1.0 / norm_g), dz, g.cview(), S(0), df.view());
      pair.between_backward(z.cview(), f.cview(), df.cview(), dzn.view());
      ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), dzn.cview(), h, S(0), direction.view());
      climber.step(n.incoming, direction, learning_rate);
      set_row_norms(n.incoming, magnitude);
    }
    return n;
  }
};

}  // namespace netgrow::grow
