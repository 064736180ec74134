/// \file
/// netgrow/prune/synflow.hpp: SynFlow (Tanaka et al. 2020), iterative synaptic flow conservation,
/// data-free. Every parameter (running statistics included, as the reference does) is replaced by its
/// absolute value, an all-ones input of one sample goes through the network in evaluation mode, and
/// with R = the sum of the outputs the score is |w dR/dw|. Meant for many rounds (prune_at_init's
/// iterations, 100 in the paper): pruning changes the flow that the next round scores.
#pragma once

#include <cmath>

#include "netgrow/prune/scores.hpp"

namespace netgrow::prune {

/// SynFlow's score |w dR/dw| (see the file comment); reads only the inputs' shape.
struct SynFlow {
  static constexpr const char* name = "SynFlow";  ///< for reports

  /// Criterion interface (prune/scores.hpp).
  template <class Net, class S>
  Scores score(Net& net, const ScoreContext<S>& ctx) const {
    detail::require_batch(ctx, "prune::SynFlow", false);
    using D = typename Net::device_type;
    ParameterSnapshot<Net> snapshot(net);
    net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
      detail::transform_value(p, [](Index, S w) { return std::abs(w); });
    });
    Shape one = ctx.inputs.shape();
    one[0] = 1;
    Tensor<S, D> x(one);
    ops::fill<S>(x.view(), S(1));
    const auto y = net.forward(x.cview(), Mode::eval);
    Tensor<S, D> ones(y.shape());
    ops::fill<S>(ones.view(), S(1));
    net.backward(ones.cview());
    return detail::abs_weight_times_gradient(net, ctx.select);
  }
};

}  // namespace netgrow::prune
