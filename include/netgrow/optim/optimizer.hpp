/// \file
/// netgrow/optim/optimizer.hpp: what every optimizer shares: the learning-rate schedule, the step
/// counter, and the rules for per-parameter optimizer state.
///
/// Optimizer state lives in each Parameter (Parameter::state), so growth operations resize it with the
/// weights. An optimizer creates it (zero) on first use, and resets it when another optimizer kind
/// created it; state whose shape no longer matches its parameter means the parameter was resized
/// outside netgrow's growth operations, which is reported instead of silently reset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "netgrow/layers/parameter.hpp"
#include "netgrow/optim/lr_schedule.hpp"

namespace netgrow {

/// The learning-rate schedule and the update counter every optimizer has (Sgd and Adam derive from it).
class OptimizerClock {
 public:
  /// Starts at step 0 of `schedule`.
  explicit OptimizerClock(LrSchedule schedule) : schedule_(std::move(schedule)) {}

  /// Learning rate the next update uses: schedule(steps()).
  double learning_rate() const { return schedule_(steps_); }
  /// Number of updates done so far (the schedule position).
  std::int64_t steps() const { return steps_; }
  /// Moves the schedule position, e.g. when resuming from a checkpoint.
  void set_steps(std::int64_t steps) {
    require(steps >= 0, "optimizer: negative step count ", steps);
    steps_ = steps;
  }
  /// Replaces the schedule; the step count stays.
  void set_schedule(LrSchedule schedule) { schedule_ = std::move(schedule); }

 protected:
  /// Counts one update (a derived optimizer calls it at the end of step()).
  void advance() { ++steps_; }

 private:
  LrSchedule schedule_;
  std::int64_t steps_ = 0;
};

namespace detail {

// Ensures p.state holds `count` tensors of p's shape owned by `owner` (zero when newly created).
template <class S, class D>
void prepare_state(Parameter<S, D>& p, std::string_view owner, std::size_t count, std::string_view name) {
  if (p.state_owner != owner || p.state.size() != count) {
    p.state.clear();
    for (std::size_t i = 0; i < count; ++i) p.state.emplace_back(p.value.shape());
    p.state_owner = std::string(owner);
    return;
  }
  for (const auto& s : p.state)
    require<StateError>(s.shape() == p.value.shape(), "optimizer state of parameter ", name, " has shape ",
                        s.shape(), " but the parameter has shape ", p.value.shape(),
                        "; resize parameters only through netgrow's growth operations");
}

template <class S, class D>
void check_gradient_shape(const Parameter<S, D>& p, std::string_view name) {
  require<StateError>(p.grad.shape() == p.value.shape(), "parameter ", name, ": gradient of shape ", p.grad.shape(),
                      " for a value of shape ", p.value.shape());
}

}  // namespace detail

}  // namespace netgrow
