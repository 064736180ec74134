/// \file
/// netgrow/models/growth_site.hpp: the places a model grows, and a plan that takes each one from its
/// seed width to its target width in a fixed number of growths.
///
/// A growth site is a producer/consumer pair (P, C) inside some Sequential — the model's top-level
/// network, or a network inside one of its blocks (WideBlock::branch()). The model builders in
/// models/ list their sites with for_each_site(f), calling f(site) in network order; a site knows its
/// name and width, and grows with any initializer:
///
/// ~~~
///   model.for_each_site([&](auto& site) { site.grow(k, grow::GradMax{}, rng, refresh); });
/// ~~~
///
/// refresh() runs forward, loss and backward of the whole model on the grow batch; data-driven
/// initializers call it first, so every site reads the gradients of the network as it is then.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "netgrow/grow/width.hpp"

namespace netgrow::models {

/// Pair (P, C) of the Sequential `net`.
template <class Net, std::size_t P, std::size_t C>
struct PairSite {
  Net* net = nullptr;  ///< the network holding the pair (not owned)
  std::string name;    ///< the site's name, e.g. "fc1"

  /// The producer's current width (neurons along its output axis).
  Index width() const {
    using Producer = typename Net::template layer_type<P>;
    return net->template layer<P>().weight().value.dim(Producer::output_axis);
  }

  /// Grows the pair by k neurons with `init` (grow::grow_width); for data-driven initializers runs
  /// refresh() first and takes the grow batch from the network (throws without refresh).
  template <class Init>
  grow::GrowthReport grow(Index k, const Init& init, Rng& rng, const std::function<void()>& refresh = {},
                          const grow::PairDataOptions& options = {}) {
    using S = typename Net::scalar_type;
    if constexpr (Init::needs_data) {
      require(static_cast<bool>(refresh), "growth site ", name, ": this initializer needs the grow batch; pass refresh");
      refresh();
      grow::GrowthData<S> data = grow::data_from_last_backward<P, C>(*net, options);
      data.with_recompute(refresh);
      return grow::grow_width<P, C>(*net, k, init, rng, data);
    } else {
      return grow::grow_width<P, C>(*net, k, init, rng);
    }
  }

  /// Reserves capacity for `target_width` neurons, so growth up to it does not reallocate.
  void reserve(Index target_width) { grow::reserve_width<P, C>(*net, target_width); }
};

/// The site of pair (P, C) of `net`, named `name`.
template <std::size_t P, std::size_t C, class Net>
PairSite<Net, P, C> pair_site(Net& net, std::string name) {
  return PairSite<Net, P, C>{&net, std::move(name)};
}

/// Seed and target width of every site, and how many neurons each growth adds: the difference spread
/// over `growths` steps as evenly as possible (earlier growths take the remainder).
struct GrowthPlan {
  std::vector<std::string> names;  ///< site names, in network order
  /// Each site's seed and target width.
  ///@{
  std::vector<Index> seed, target;
  ///@}
  int growths = 1;  ///< number of growths

  std::size_t sites() const { return seed.size(); }  ///< number of sites

  /// Neurons site i gains at growth g (0-based).
  Index neurons(std::size_t i, int g) const {
    require(i < seed.size() && g >= 0 && g < growths, "GrowthPlan::neurons: site ", i, " growth ", g, " out of range");
    const Index total = target[i] - seed[i];
    const Index base = total / growths, extra = total % growths;
    return base + (g < extra ? 1 : 0);
  }
};

/// Width of a network from a base width and a multiplier, at least 1: the reference's int(w * m).
inline Index scaled_width(Index base, double multiplier) {
  return std::max<Index>(1, static_cast<Index>(static_cast<double>(base) * multiplier));
}

/// The plan from the widths a model has now to those of `target` (the same model built at the target
/// multiplier), in `growths` steps.
template <class Model>
GrowthPlan plan_growth(Model& seed_model, Model& target_model, int growths) {
  require(growths >= 1, "plan_growth: needs at least one growth, got ", growths);
  GrowthPlan plan;
  plan.growths = growths;
  seed_model.for_each_site([&](auto& site) {
    plan.names.push_back(site.name);
    plan.seed.push_back(site.width());
  });
  target_model.for_each_site([&](auto& site) { plan.target.push_back(site.width()); });
  require(plan.seed.size() == plan.target.size(), "plan_growth: the two models have different sites");
  for (std::size_t i = 0; i < plan.sites(); ++i)
    require(plan.target[i] >= plan.seed[i], "plan_growth: site ", plan.names[i], " would shrink from ", plan.seed[i],
            " to ", plan.target[i]);
  return plan;
}

/// Growth number g of the plan: every site in network order (the reference's AllAtOnce updater).
template <class Model, class Init>
std::vector<grow::GrowthReport> grow_all_sites(Model& model, const GrowthPlan& plan, int g, const Init& init, Rng& rng,
                                               const std::function<void()>& refresh = {},
                                               const grow::PairDataOptions& options = {}) {
  std::vector<grow::GrowthReport> reports;
  std::size_t i = 0;
  model.for_each_site([&](auto& site) {
    const Index k = plan.neurons(i++, g);
    if (k > 0) reports.push_back(site.grow(k, init, rng, refresh, options));
  });
  return reports;
}

/// Grows only site `index` by k neurons (round-robin schedules).
template <class Model, class Init>
grow::GrowthReport grow_site(Model& model, std::size_t index, Index k, const Init& init, Rng& rng,
                             const std::function<void()>& refresh = {}, const grow::PairDataOptions& options = {}) {
  grow::GrowthReport report;
  std::size_t i = 0;
  bool found = false;
  model.for_each_site([&](auto& site) {
    if (i++ == index) {
      report = site.grow(k, init, rng, refresh, options);
      found = true;
    }
  });
  require(found, "grow_site: site ", index, " does not exist (the model has ", i, " sites)");
  return report;
}

}  // namespace netgrow::models
