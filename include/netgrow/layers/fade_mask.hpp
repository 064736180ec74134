/// \file
/// netgrow/layers/fade_mask.hpp: the mask of masked structural growth (MSG, Yao et al., ICLR 2024):
/// new units enter multiplied by a gain that rises linearly from 0 to 1 over a number of steps, so the
/// network's function is unchanged at the growth whatever the new weights are.
///
/// A FadeMask belongs to one axis of one layer (a Dense's inputs or outputs, a LayerNorm's features).
/// It is inactive (no gains, the layer computes as without it) until start(); each advance() moves every
/// ramp one step; when the last ramp reaches 1 the gains are dropped and the layer is plain again. The
/// state lives in the layer, so it follows the layer through moves (depth growth reallocating a Stack).
/// The ramps run on the host; on another device D the gains have a copy there, rewritten in place at each
/// advance() (so a recorded CUDA graph that reads them sees the new values: cuda::StepGraph).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/layers/parameter_growth.hpp"

namespace netgrow {

/// Per-feature gains in [0, 1] on one axis of a layer on device D, ramped by advance() (see the file
/// comment).
template <class S, class D = Cpu>
class FadeMask {
 public:
  /// True while a ramp is in progress (the layer must apply gains()).
  bool active() const { return !ramps_.empty(); }

  /// The gains (width) on the layer's device, valid while active().
  ConstView<S, D> gains() const {
    if constexpr (std::same_as<D, Cpu>) return gain_.cview();
    else return device_gain_.cview();
  }
  /// The same gains on the host.
  ConstView<S, Cpu> host_gains() const { return gain_.cview(); }

  /// Starts a ramp on features [begin, end) of an axis of `width` features: their gain is 0 now and
  /// reaches 1 after `steps` calls of advance(). Other features keep their gain (1 when no ramp covers
  /// them). Throws ArgumentError for an empty or out-of-range span or steps < 1.
  void start(Index width, Index begin, Index end, std::int64_t steps) {
    require(0 <= begin && begin < end && end <= width, "FadeMask: features [", begin, ", ", end,
            ") are not a non-empty span of ", width);
    require(steps >= 1, "FadeMask: a fade needs at least 1 step, got ", steps);
    require(!active() || gain_.numel() == width, "FadeMask: started on ", width, " features while ", gain_.numel(),
            " are fading");
    if (!active()) {
      gain_ = Tensor<S, Cpu>(Shape{width});
      std::fill_n(gain_.data(), width, S(1));
    }
    ramps_.push_back({begin, end, steps, 0});
    std::fill(gain_.data() + begin, gain_.data() + end, S(0));
    publish();
  }

  /// Moves every ramp `steps` steps on (gain = steps done / steps of the ramp, at most 1); drops finished
  /// ramps, and the gains with the last one. Returns active().
  bool advance(std::int64_t steps = 1) {
    for (auto& r : ramps_) {
      r.done = std::min(r.steps, r.done + steps);
      const S g = static_cast<S>(static_cast<double>(r.done) / static_cast<double>(r.steps));
      std::fill(gain_.data() + r.begin, gain_.data() + r.end, g);
    }
    std::erase_if(ramps_, [](const Ramp& r) { return r.done >= r.steps; });
    if (ramps_.empty()) gain_ = Tensor<S, Cpu>();
    publish();
    return active();
  }

  /// The axis grew by k features (appended with gain 1) while a ramp runs; nothing when inactive.
  void grow(Index k) {
    if (!active() || k == 0) return;
    Tensor<S, Cpu> g(Shape{gain_.numel() + k});
    std::copy_n(gain_.data(), gain_.numel(), g.data());
    std::fill_n(g.data() + gain_.numel(), k, S(1));
    gain_ = std::move(g);
    publish();
  }

  /// Steps left until the slowest ramp ends (0 when inactive).
  std::int64_t steps_left() const {
    std::int64_t left = 0;
    for (const auto& r : ramps_) left = std::max(left, r.steps - r.done);
    return left;
  }

 private:
  struct Ramp {
    Index begin, end;
    std::int64_t steps, done;
  };
  // The device copy follows the host gains: rewritten in place while the width stays, reallocated when
  // it changes, released with them.
  void publish() {
    if constexpr (!std::same_as<D, Cpu>) {
      if (gain_.empty()) device_gain_ = Tensor<S, D>();
      else if (device_gain_.shape() == gain_.shape()) grow::copy_between<S>(gain_.cview(), device_gain_.view());
      else device_gain_ = grow::host_to<D>(gain_.clone());
    }
  }

  Tensor<S, Cpu> gain_;
  Tensor<S, D> device_gain_;  // D != Cpu: the gains on the device
  std::vector<Ramp> ramps_;
};

}  // namespace netgrow
