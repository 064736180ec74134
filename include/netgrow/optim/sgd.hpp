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
    detail::check_gradient_shape(p, name);
    const bool momentum = options_.momentum > 0;
    detail::prepare_state(p, "sgd", momentum ? 1 : 0, name);
    ops::SgdHyper h;
    h.lr = lr * p.lr_multiplier;
    h.momentum = options_.momentum;
    h.nesterov = options_.nesterov;
    h.weight_decay = p.weight_decay ? options_.weight_decay : 0.0;
    ops::sgd_update<S>(p.value.view(), p.grad.cview(), momentum ? p.state[0].view() : TensorView<S, D>(),
                       p.lr_scale.cview(), h, p.mask.cview());
  }

 private:
  SgdOptions options_;
};

}  // namespace netgrow
