/// \file
/// netgrow/optim/staged_adam.hpp: Adam with its changing constants in device memory, so that the
/// optimizer step can sit inside a recorded CUDA graph (cuda::StepGraph) under a learning-rate schedule.
///
/// A graph freezes the host values it was recorded with; Adam's learning rate (a schedule) and bias
/// corrections change every step. StagedAdam keeps {lr, 1 / (1 - beta1^t), 1 / sqrt(1 - beta2^t)} in a
/// 3-double tensor on device D: stage(), called before each step *outside* the recorded body, writes the
/// next update's values there (in place, queued on the stream after the previous step) and counts the
/// update on the Adam; step(net), inside the body, queues updates that read them when they run. The
/// result is update() 's, bit for bit (the same doubles, rounded the same way).
///
/// ~~~
///   Adam adam(schedule);
///   StagedAdam<Cuda> staged(adam);
///   for (...) {
///     staged.stage();                               // this step's lr and bias corrections
///     graph.run([&] { ...; net.backward(grad.cview()); staged.step(net); });
///   }
/// ~~~
///
/// The parameters' lr_multiplier is a recorded constant: after per-stage learning rates change it
/// (grow::StageLearningRates), call the graph's invalidate(). Works on the Cpu too (the same
/// arithmetic; nothing is recorded there).
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/optim/adam.hpp"

namespace netgrow {

/// Adam updates whose learning rate and bias corrections are staged in device memory (file comment).
template <class D>
class StagedAdam {
 public:
  /// Updates with `adam`'s settings, schedule and step count; `adam` must outlive this object.
  explicit StagedAdam(Adam& adam) : adam_(&adam), constants_(Shape{3}) {}

  /// Writes the next update's constants (update number adam.steps() + 1 at the schedule's rate) to the
  /// device and counts that update. Call once per step, outside a recorded body, before it.
  void stage() {
    const std::int64_t t = adam_->steps() + 1;
    const std::array<double, 3> c = adam_->step_constants(adam_->learning_rate(), t);
    Tensor<double, Cpu> host(Shape{3});
    for (Index i = 0; i < 3; ++i) host[i] = c[static_cast<std::size_t>(i)];
    grow::copy_between<double>(host.cview(), constants_.view());
    adam_->set_steps(t);
    staged_ = true;
  }

  /// Queues the update of every trainable parameter of `net` with the staged constants. StateError
  /// unless stage() was called first.
  template <class Net>
  void step(Net& net) {
    require<StateError>(staged_, "StagedAdam::step: call stage() before the first step");
    const double* constants = constants_.data();
    net.visit_parameters([&](std::string_view name, auto& p) {
      static_assert(std::same_as<typename std::remove_cvref_t<decltype(p)>::device_type, D>,
                    "StagedAdam<D>::step: the network's parameters live on another device than D");
      adam_->update_staged(p, constants, name);
    });
  }

  /// The staged constants (3 doubles on D).
  ConstView<double, D> constants() const { return constants_.cview(); }

 private:
  Adam* adam_;
  Tensor<double, D> constants_;
  bool staged_ = false;
};

}  // namespace netgrow
