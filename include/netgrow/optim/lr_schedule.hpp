/// \file
/// netgrow/optim/lr_schedule.hpp: learning-rate schedules, as functions of the optimizer step
/// (0 for the first update). They are pure functions of the step, so a checkpoint only needs the step.
///
/// ~~~{.unparsed}
///   ConstantLr{0.1}                                      0.1 at every step
///   CosineLr{.base = 0.1, .total_steps = 10000}          base -> final along half a cosine, then final
///   StepLr{.base = 0.1, .milestones = {30, 60}}          x gamma at each milestone
///   WarmupLr{.warmup_steps = 500, .after = CosineLr{..}} linear ramp multiplying `after`
///   TwoStageLinearLr{.peak = 0.1, ...}                   LEMON's fast drop, then a slow linear decay
/// ~~~
///
/// LrSchedule type-erases any of these (or any callable double(std::int64_t)); a plain number
/// converts to a constant schedule.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <numbers>
#include <type_traits>
#include <utility>
#include <vector>

#include "netgrow/core/error.hpp"

namespace netgrow {

/// lr(t) = lr at every step.
struct ConstantLr {
  double lr = 0.01;                                     ///< the rate
  double operator()(std::int64_t) const { return lr; }  ///< lr, whatever the step
};

/// lr(t) = final + (base - final) (1 + cos(pi t / total_steps)) / 2 for t < total_steps, then final
/// (PyTorch's CosineAnnealingLR without restarts; Keras' CosineDecay with alpha = final / base).
struct CosineLr {
  double base = 0.1;             ///< the rate at step 0
  std::int64_t total_steps = 1;  ///< steps of the decay
  double final = 0.0;            ///< the rate from total_steps on
  /// lr(step) as above; steps before 0 count as 0.
  double operator()(std::int64_t step) const {
    if (step >= total_steps) return final;
    const double t = static_cast<double>(std::max<std::int64_t>(step, 0)) / static_cast<double>(total_steps);
    return final + (base - final) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  }
};

/// lr(t) = base * gamma^(number of milestones <= t).
struct StepLr {
  double base = 0.1;                     ///< the rate before the first milestone
  std::vector<std::int64_t> milestones;  ///< steps at which the rate is multiplied by gamma
  double gamma = 0.1;                    ///< the factor per milestone
  /// lr(step) as above.
  double operator()(std::int64_t step) const {
    double lr = base;
    for (std::int64_t m : milestones)
      if (step >= m) lr *= gamma;
    return lr;
  }
};

/// Linear warm-up: lr(t) = after(t) * (start_factor + (1 - start_factor) * t / warmup_steps) for
/// t < warmup_steps, then after(t). The wrapped schedule sees the absolute step.
struct WarmupLr {
  std::int64_t warmup_steps = 0;                             ///< length of the ramp (0: no warm-up)
  std::function<double(std::int64_t)> after = ConstantLr{};  ///< the schedule being warmed up
  double start_factor = 0.0;                                 ///< the ramp's factor at step 0
  /// lr(step) as above.
  double operator()(std::int64_t step) const {
    const double lr = after(step);
    if (step >= warmup_steps) return lr;
    const double t = static_cast<double>(std::max<std::int64_t>(step, 0)) / static_cast<double>(warmup_steps);
    return lr * (start_factor + (1.0 - start_factor) * t);
  }
};

/// LEMON's recipe for BERT after expansion: linear warm-up to `peak`, a fast linear drop to `second`
/// over fast_decay_steps, then a linear decay to `final` at total_steps (and final after it):
/// ~~~{.unparsed}
///   t < w                 peak t / w                                        w = warmup_steps
///   w <= t < w + f        peak + (second - peak) (t - w) / f                f = fast_decay_steps
///   w + f <= t < total    second + (final - second) (t - w - f) / (total - w - f)
/// ~~~
/// (For vision models LEMON keeps a cosine from the same peak over the shorter budget: CosineLr.)
struct TwoStageLinearLr {
  double peak = 0.1;                  ///< the rate after warm-up (the from-scratch maximum)
  std::int64_t warmup_steps = 0;      ///< steps of the linear warm-up from 0
  std::int64_t fast_decay_steps = 1;  ///< steps of the fast drop from peak to second (> 0)
  double second = 0.01;               ///< the rate at the end of the fast drop
  std::int64_t total_steps = 1;       ///< the step at which the rate reaches final
  double final = 0.0;                 ///< the rate from total_steps on
  /// lr(step) as above; steps before 0 count as 0.
  double operator()(std::int64_t step) const {
    require(fast_decay_steps > 0 && warmup_steps >= 0 && total_steps > warmup_steps + fast_decay_steps,
            "TwoStageLinearLr: need fast_decay_steps > 0 and total_steps > warmup_steps + fast_decay_steps");
    const double t = static_cast<double>(std::max<std::int64_t>(step, 0));
    const double w = static_cast<double>(warmup_steps), f = static_cast<double>(fast_decay_steps);
    if (t < w) return peak * t / w;
    if (t < w + f) return peak + (second - peak) * (t - w) / f;
    if (step >= total_steps) return final;
    return second + (final - second) * (t - w - f) / (static_cast<double>(total_steps) - w - f);
  }
};

/// Any schedule: a number (constant) or a callable double(std::int64_t step).
class LrSchedule {
 public:
  /// A constant rate (implicit, so optimizers take a plain number); throws when it is negative or not
  /// finite.
  LrSchedule(double constant) : fn_(ConstantLr{constant}) { check(constant, 0); }  // NOLINT(implicit)
  /// Any callable double(std::int64_t step), e.g. CosineLr{...} (implicit).
  template <class F>
    requires(std::is_invocable_r_v<double, const F&, std::int64_t> && !std::is_arithmetic_v<F> &&
             !std::same_as<std::decay_t<F>, LrSchedule>)
  LrSchedule(F f) : fn_(std::move(f)) {}  // NOLINT(implicit)

  /// Learning rate at an optimizer step; throws when the schedule yields a negative or non-finite rate.
  double operator()(std::int64_t step) const {
    const double lr = fn_(step);
    check(lr, step);
    return lr;
  }

 private:
  static void check(double lr, std::int64_t step) {
    require(std::isfinite(lr) && lr >= 0, "learning rate schedule: invalid learning rate ", lr, " at step ", step);
  }
  std::function<double(std::int64_t)> fn_;
};

}  // namespace netgrow
