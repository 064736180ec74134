/// \file
/// netgrow/prune/snip.hpp: SNIP (Lee et al. 2019), connection sensitivity: |w dL/dw| on a batch, the
/// first-order change of the loss when the connection's mask goes from 1 to 0.
#pragma once

#include <cmath>

#include "netgrow/prune/scores.hpp"

namespace netgrow::prune {

/// SNIP's score |w g| with g the cross-entropy gradient on ctx's batch (train mode).
struct Snip {
  static constexpr const char* name = "SNIP";  ///< for reports
  /// Criterion interface (prune/scores.hpp); needs inputs and labels.
  template <class Net, class S>
  Scores score(Net& net, const ScoreContext<S>& ctx) const {
    detail::require_batch(ctx, "prune::Snip", true);
    ParameterSnapshot<Net> snapshot(net);  // puts BatchNorm's running statistics back
    detail::loss_backward(net, ctx);
    return detail::abs_weight_times_gradient(net, ctx.select);
  }
};

}  // namespace netgrow::prune
