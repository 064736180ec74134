/// \file
/// netgrow/optim/sgd.hpp: stochastic gradient descent with momentum, Nesterov momentum and weight
/// decay, in PyTorch's formulation (torch.optim.SGD, dampening 0):
///
/// ~~~{.unparsed}
///   d = g + weight_decay * w
///   v = momentum * v + d                      (momentum > 0; v starts at 0)
///   d = nesterov ? d + momentum * v : v
///   w -= lr * d                               lr = schedule(step) * lr_multiplier * lr_scale[i]
/// ~~~
///
/// (Keras' SGD keeps v = momentum * v - lr * g instead; the two agree while lr is constant.)
#pragma once

#include <array>
#include <cstdint>

#include "netgrow/ops/optim.hpp"
#include "netgrow/optim/optimizer.hpp"

namespace netgrow {

/// Sgd's settings (the formulas are in the file comment).
struct SgdOptions {
  double momentum = 0.0;      ///< in [0, 1); 0: plain SGD, no velocity state
  bool nesterov = false;      ///< Nesterov momentum (needs momentum > 0)
  double weight_decay = 0.0;  ///< L2 factor, >= 0; parameters with weight_decay = false get none
};

/// SGD in PyTorch's formulation (see the file comment); state "sgd": the velocity, when momentum > 0.
class Sgd : public OptimizerClock {
 public:
  /// Throws for momentum outside [0, 1), Nesterov without momentum or a negative weight decay.
  explicit Sgd(LrSchedule lr, SgdOptions options = {}) : OptimizerClock(std::move(lr)), options_(options) {
    require(options.momentum >= 0 && options.momentum < 1, "Sgd: momentum must be in [0, 1), got ",
            options.momentum);
    require(!options.nesterov || options.momentum > 0, "Sgd: Nesterov momentum needs momentum > 0");
    require(options.weight_decay >= 0, "Sgd: weight_decay must be non-negative, got ", options.weight_decay);
  }

  const SgdOptions& options() const { return options_; }  ///< the settings

  /// One update of every trainable parameter of `net` (anything with visit_parameters) from its .grad.
  template <class Net>
  void step(Net& net) {
    const double lr = learning_rate();
    net.visit_parameters([&](std::string_view name, auto& p) { update(p, lr, name); });
    advance();
  }

  /// Updates one parameter with base learning rate lr (a masked parameter: only where its mask is 1).
  template <class S, class D>
  void update(Parameter<S, D>& p, double lr, std::string_view name = "") const {
    if (!p.trainable) return;
    ops::SgdHyper h;
    h.lr = lr * p.lr_multiplier;
    apply(p, h, name);
  }

  /// The changing constants of update number t (t >= 1) at base rate lr: {lr} (optim/staged.hpp).
  std::array<double, 1> step_constants(double lr, std::int64_t t) const {
    require(t >= 1, "Sgd::step_constants: update number must be >= 1, got ", t);
    return {lr};
  }

  /// Updates one parameter with the base rate read from `staged` (1 double on the parameter's device)
  /// when the update runs rather than when it is queued (optim/staged.hpp). The same result as update().
  template <class S, class D>
  void update_staged(Parameter<S, D>& p, const double* staged, std::string_view name = "") const {
    if (!p.trainable) return;
    require(staged != nullptr, "Sgd::update_staged: no staged constants");
    ops::SgdHyper h;
    h.staged = staged;
    h.lr_factor = p.lr_multiplier;
    apply(p, h, name);
  }

 private:
  // Updates p with h's rate and the options (state prepared, gradient checked).
  template <class S, class D>
  void apply(Parameter<S, D>& p, ops::SgdHyper h, std::string_view name) const {
    detail::check_gradient_shape(p, name);
    const bool momentum = options_.momentum > 0;
    detail::prepare_state(p, "sgd", momentum ? 1 : 0, name);
    h.momentum = options_.momentum;
    h.nesterov = options_.nesterov;
    h.weight_decay = p.weight_decay ? options_.weight_decay : 0.0;
    ops::sgd_update<S>(p.value.view(), p.grad.cview(), momentum ? p.state[0].view() : TensorView<S, D>(),
                       p.lr_scale.cview(), h, p.mask.cview());
  }

  SgdOptions options_;
};

}  // namespace netgrow
