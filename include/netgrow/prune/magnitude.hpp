/// \file
/// netgrow/prune/magnitude.hpp: magnitude and random pruning scores, the baselines of pruning at
/// initialisation.
#pragma once

#include <cmath>

#include "netgrow/prune/scores.hpp"

namespace netgrow::prune {

/// Score |w|: keeps the largest weights.
struct Magnitude {
  static constexpr const char* name = "Magnitude";  ///< for reports
  /// Criterion interface (prune/scores.hpp).
  template <class Net, class S>
  Scores score(Net& net, const ScoreContext<S>& ctx) const {
    Scores out;
    Tensor<S, Cpu> staging;
    detail::for_selected(net, ctx.select, [&](const std::string& n, auto& p, std::size_t) {
      const S* w = host_view(p.value, staging).data();
      out[n] = detail::score_tensor(p, [&](Index i) { return std::abs(static_cast<double>(w[i])); });
    });
    return out;
  }
};

/// Score U[0, 1) from ctx.rng: keeps a random subset (of each parameter, with Scope::per_parameter).
struct RandomScore {
  static constexpr const char* name = "Random";  ///< for reports
  /// Criterion interface (prune/scores.hpp); needs ctx.rng.
  template <class Net, class S>
  Scores score(Net& net, const ScoreContext<S>& ctx) const {
    require(ctx.rng != nullptr, "prune::RandomScore: the context needs an Rng");
    Scores out;
    detail::for_selected(net, ctx.select, [&](const std::string& n, auto& p, std::size_t) {
      out[n] = detail::score_tensor(p, [&](Index) { return ctx.rng->uniform(); });
    });
    return out;
  }
};

}  // namespace netgrow::prune
