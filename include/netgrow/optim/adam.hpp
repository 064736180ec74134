/// \file
/// netgrow/optim/adam.hpp: Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter), as torch.optim.Adam
/// and torch.optim.AdamW compute them. With t the update number starting at 1:
///
/// ~~~{.unparsed}
///   g += weight_decay * w                     Adam (L2 penalty through the gradient)
///   w -= lr * weight_decay * w                AdamW (decoupled), before the moment update
///   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
///   w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
/// ~~~
///
/// lr = schedule(step) * lr_multiplier * lr_scale[i]. Moments of neurons added by growth start at
/// zero while t keeps counting, as in the GradMax reference (optimizer slots zero-padded).
#pragma once

#include <array>
#include <cmath>

#include "netgrow/ops/optim.hpp"
#include "netgrow/optim/optimizer.hpp"

namespace netgrow {

/// Adam's settings (the formulas are in the file comment).
struct AdamOptions {
  double beta1 = 0.9;                   ///< first-moment decay, in [0, 1)
  double beta2 = 0.999;                 ///< second-moment decay, in [0, 1)
  double eps = 1e-8;                    ///< added to the root of the second moment, > 0
  double weight_decay = 0.0;            ///< >= 0; parameters with weight_decay = false get none
  bool decoupled_weight_decay = false;  ///< true: AdamW
};

/// Adam as torch.optim.Adam computes it (see the file comment); state "adam": the two moments.
class Adam : public OptimizerClock {
 public:
  /// Throws for betas outside [0, 1), eps <= 0 or a negative weight decay.
  explicit Adam(LrSchedule lr, AdamOptions options = {}) : OptimizerClock(std::move(lr)), options_(options) {
    require(options.beta1 >= 0 && options.beta1 < 1, "Adam: beta1 must be in [0, 1), got ", options.beta1);
    require(options.beta2 >= 0 && options.beta2 < 1, "Adam: beta2 must be in [0, 1), got ", options.beta2);
    require(options.eps > 0, "Adam: eps must be positive, got ", options.eps);
    require(options.weight_decay >= 0, "Adam: weight_decay must be non-negative, got ", options.weight_decay);
  }

  const AdamOptions& options() const { return options_; }  ///< the settings

  /// One update of every trainable parameter of `net` (anything with visit_parameters) from its .grad,
  /// as update number steps() + 1.
  template <class Net>
  void step(Net& net) {
    const double lr = learning_rate();
    const std::int64_t t = steps() + 1;
    net.visit_parameters([&](std::string_view name, auto& p) { update(p, lr, t, name); });
    advance();
  }

  /// Updates one parameter with base learning rate lr as update number t (t >= 1).
  template <class S, class D>
  void update(Parameter<S, D>& p, double lr, std::int64_t t, std::string_view name = "") const {
    if (!p.trainable) return;
    require(t >= 1, "Adam::update: update number must be >= 1, got ", t);
    ops::AdamHyper h = hyper(p, name);
    h.lr = lr * p.lr_multiplier;
    h.bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(t));
    h.bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(t));
    ops::adam_update<S>(p.value.view(), p.grad.cview(), p.state[0].view(), p.state[1].view(), p.lr_scale.cview(), h,
                        p.mask.cview());
  }

  /// The changing constants of update number t with base learning rate lr, as update() computes them:
  /// {lr, 1 / (1 - beta1^t), 1 / sqrt(1 - beta2^t)}.
  std::array<double, 3> step_constants(double lr, std::int64_t t) const {
    require(t >= 1, "Adam::step_constants: update number must be >= 1, got ", t);
    return {lr, 1.0 / (1.0 - std::pow(options_.beta1, static_cast<double>(t))),
            1.0 / std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(t)))};
  }

  /// Updates one parameter with the constants step_constants() gives, read from `staged` (3 doubles on
  /// the parameter's device) when the update runs rather than when it is queued (optim/staged.hpp).
  /// The same result as update() with those values.
  template <class S, class D>
  void update_staged(Parameter<S, D>& p, const double* staged, std::string_view name = "") const {
    if (!p.trainable) return;
    require(staged != nullptr, "Adam::update_staged: no staged constants");
    ops::AdamHyper h = hyper(p, name);
    h.staged = staged;
    h.lr_factor = p.lr_multiplier;
    ops::adam_update<S>(p.value.view(), p.grad.cview(), p.state[0].view(), p.state[1].view(), p.lr_scale.cview(), h,
                        p.mask.cview());
  }

 private:
  // What every update of p shares (state prepared, gradient checked).
  template <class S, class D>
  ops::AdamHyper hyper(Parameter<S, D>& p, std::string_view name) const {
    detail::check_gradient_shape(p, name);
    detail::prepare_state(p, "adam", 2, name);
    ops::AdamHyper h;
    h.beta1 = options_.beta1;
    h.beta2 = options_.beta2;
    h.eps = options_.eps;
    h.weight_decay = p.weight_decay ? options_.weight_decay : 0.0;
    h.decoupled = options_.decoupled_weight_decay;
    return h;
  }

  AdamOptions options_;
};

/// AdamW's options: Adam's, with torch.optim.AdamW's default decoupled weight decay of 0.01.
struct AdamWOptions {
  double beta1 = 0.9;          ///< first-moment decay, in [0, 1)
  double beta2 = 0.999;        ///< second-moment decay, in [0, 1)
  double eps = 1e-8;           ///< added to the root of the second moment, > 0
  double weight_decay = 0.01;  ///< decoupled weight decay, >= 0
};

/// AdamW: Adam with decoupled weight decay.
class AdamW : public Adam {
 public:
  /// Adam with these options and decoupled_weight_decay = true.
  explicit AdamW(LrSchedule lr, AdamWOptions o = {})
      : Adam(std::move(lr), AdamOptions{o.beta1, o.beta2, o.eps, o.weight_decay, true}) {}
};

}  // namespace netgrow
