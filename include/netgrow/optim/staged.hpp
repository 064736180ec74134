/// \file
/// netgrow/optim/staged.hpp: an optimizer's changing constants in device memory, so that the optimizer
/// step can sit inside a recorded CUDA graph (cuda::StepGraph) under a learning-rate schedule.
///
/// A graph freezes the host values it was recorded with; a scheduled learning rate changes every step,
/// and so do Adam's bias corrections. Staged<Opt, D> keeps them in a small double tensor on device D:
/// Adam {lr, 1 / (1 - beta1^t), 1 / sqrt(1 - beta2^t)}, Sgd {lr}. stage(), called before each step
/// *outside* the recorded body, writes the next update's values there (in place, queued on the stream
/// after the previous step) and counts the update on the optimizer; step(net), inside the body, queues
/// updates that read them when they run. The result is the optimizer's own step(), bit for bit (the
/// same doubles, rounded the same way).
///
/// ~~~
///   AdamW adam(WarmupLr{...});
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
#include <tuple>
#include <type_traits>
#include <utility>

#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/sgd.hpp"

namespace netgrow {

/// Updates by `Opt` (Adam, Sgd: step_constants(lr, t) and update_staged(p, constants, name)) whose
/// changing constants are staged in device memory (see the file comment).
template <class Opt, class D>
class Staged {
 public:
  /// How many doubles one step stages.
  static constexpr Index constant_count =
      static_cast<Index>(std::tuple_size_v<decltype(std::declval<const Opt&>().step_constants(0.0, 1))>);

  /// Updates with `optimizer`'s settings, schedule and step count; it must outlive this object.
  explicit Staged(Opt& optimizer) : opt_(&optimizer), constants_(Shape{constant_count}) {}

  /// Writes the next update's constants (update number steps() + 1 at the schedule's rate) to the
  /// device and counts that update. Call once per step, outside a recorded body, before it.
  void stage() {
    const std::int64_t t = opt_->steps() + 1;
    const auto c = opt_->step_constants(opt_->learning_rate(), t);
    Tensor<double, Cpu> host(Shape{constant_count});
    for (Index i = 0; i < constant_count; ++i) host[i] = c[static_cast<std::size_t>(i)];
    grow::copy_between<double>(host.cview(), constants_.view());
    opt_->set_steps(t);
    staged_ = true;
  }

  /// Queues the update of every trainable parameter of `net` with the staged constants. StateError
  /// unless stage() was called first.
  template <class Net>
  void step(Net& net) {
    require<StateError>(staged_, "Staged optimizer: call stage() before the first step");
    const double* constants = constants_.data();
    net.visit_parameters([&](std::string_view name, auto& p) {
      static_assert(std::same_as<typename std::remove_cvref_t<decltype(p)>::device_type, D>,
                    "Staged<Opt, D>::step: the network's parameters live on another device than D");
      opt_->update_staged(p, constants, name);
    });
  }

  /// The staged constants (constant_count doubles on D).
  ConstView<double, D> constants() const { return constants_.cview(); }

 private:
  Opt* opt_;
  Tensor<double, D> constants_;
  bool staged_ = false;
};

/// Adam (or AdamW) with its learning rate and bias corrections staged on D.
template <class D>
using StagedAdam = Staged<Adam, D>;
/// Sgd with its learning rate staged on D.
template <class D>
using StagedSgd = Staged<Sgd, D>;

}  // namespace netgrow
