/// \file
/// netgrow/prune/prune_at_init.hpp: pruning before training with any criterion (Magnitude, RandomScore,
/// Snip, Grasp, SynFlow, NtkSap, or one of the caller's: prune/scores.hpp), globally or per parameter,
/// in one round or iteratively: round t of T keeps density^(t / T) of the selected entries (the
/// exponential schedule of SynFlow and NTK-SAP), each round scoring the network as the previous one
/// left it. Entries already masked stay masked.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "netgrow/prune/scores.hpp"

namespace netgrow::prune {

/// Where the kept fraction applies.
enum class Scope {
  global,         ///< one threshold over every selected parameter (layers end at different densities)
  per_parameter,  ///< each selected parameter keeps the fraction of its own entries
  erk,            ///< each selected parameter keeps its Erdos-Renyi-Kernel share (erk_densities)
};

/// Erdos-Renyi-Kernel densities (RigL's default distribution): parameter l of shape (d_1, ..., d_r)
/// keeps eps (d_1 + ... + d_r) / (d_1 ... d_r) of its entries, eps chosen so that the selected
/// parameters keep `density` of their entries together; a parameter whose share would exceed 1 is dense
/// and eps is found again for the others. Small layers stay denser than large ones. `sizes` are the
/// parameters' shapes; returns their densities in that order.
inline std::vector<double> erk_densities(const std::vector<Shape>& sizes, double density) {
  require(density > 0 && density <= 1, "erk_densities: density must be in (0, 1], got ", density);
  std::vector<double> raw(sizes.size()), out(sizes.size(), 0.0);
  std::vector<bool> dense(sizes.size(), false);
  double total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    double sum = 0;
    for (int a = 0; a < sizes[i].rank(); ++a) sum += static_cast<double>(sizes[i][a]);
    raw[i] = sum / static_cast<double>(std::max<Index>(1, sizes[i].numel()));
    total += static_cast<double>(sizes[i].numel());
  }
  for (bool changed = true; changed;) {
    changed = false;
    double budget = density * total, weighted = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (dense[i]) budget -= static_cast<double>(sizes[i].numel());
      else weighted += raw[i] * static_cast<double>(sizes[i].numel());
    }
    const double eps = weighted > 0 ? budget / weighted : 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (dense[i]) continue;
      if (eps * raw[i] > 1) dense[i] = true, changed = true;
      out[i] = std::min(1.0, eps * raw[i]);
    }
  }
  for (std::size_t i = 0; i < sizes.size(); ++i)
    if (dense[i]) out[i] = 1.0;
  return out;
}

/// prune_at_init's settings.
struct PruneOptions {
  double density = 0.1;           ///< fraction of the selected entries kept, in (0, 1]
  Scope scope = Scope::global;    ///< see Scope
  int iterations = 1;             ///< rounds (density^(t / T) after round t)
  Selector select = weight_matrices;  ///< which parameters are pruned
};

/// What prune_at_init did.
struct PruneReport {
  std::vector<double> round_density;  ///< selected density after each round
  DensityReport final;                ///< per parameter, at the end
  double seconds = 0;                 ///< wall-clock time of scoring and selection
};

namespace detail {

// Keeps the `keep` highest-scored active entries among `params` (ties: the lower index first), masks the
// rest. masks[i] is params[i]'s host mask, updated in place.
template <class S>
void keep_top(const std::vector<const Tensor<double, Cpu>*>& scores, std::vector<Tensor<S, Cpu>*>& masks, Index keep,
              const std::vector<std::string>& names) {
  struct Entry {
    double score;
    std::size_t param;
    Index index;
  };
  std::vector<Entry> active;
  for (std::size_t p = 0; p < scores.size(); ++p)
    for (Index i = 0; i < masks[p]->numel(); ++i) {
      if (masks[p]->data()[i] == S(0)) continue;
      const double s = scores[p]->data()[i];
      require(!std::isnan(s), "prune_at_init: the criterion scored parameter ", names[p], " NaN at entry ", i);
      active.push_back({s, p, i});
    }
  if (keep >= static_cast<Index>(active.size())) return;
  const auto before = [](const Entry& a, const Entry& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.param != b.param ? a.param < b.param : a.index < b.index;
  };
  std::nth_element(active.begin(), active.begin() + keep, active.end(), before);
  for (auto it = active.begin() + keep; it != active.end(); ++it) masks[it->param]->data()[it->index] = S(0);
}

}  // namespace detail

/// Prunes the selected parameters of `net` to options.density by `criterion` (see the file comment).
/// Parameters without a mask get one first (prune::enable_masks). The network's values and optimizer
/// state are zeroed where masked; nothing else changes (criteria restore what they touch). Throws
/// ArgumentError for a density outside (0, 1] or no iterations, and when the criterion leaves out a
/// selected parameter or scores it NaN (the network is unchanged then).
template <class Net, class Criterion>
PruneReport prune_at_init(Net& net, const Criterion& criterion, ScoreContext<typename Net::scalar_type> ctx,
                          const PruneOptions& options) {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  require(options.density > 0 && options.density <= 1, "prune_at_init: density must be in (0, 1], got ",
          options.density);
  require(options.iterations >= 1, "prune_at_init: iterations must be at least 1, got ", options.iterations);
  ctx.select = options.select;
  const auto start = std::chrono::steady_clock::now();
  PruneReport report;
  // Host masks of the selected parameters (ones where none yet); written to the network after each round.
  std::vector<std::string> names;
  std::vector<Tensor<S, Cpu>> masks;
  Index total = 0;
  detail::for_selected(net, options.select, [&](const std::string& n, Parameter<S, D>& p, std::size_t) {
    names.push_back(n);
    masks.push_back(mask_on_host(p));
    total += p.numel();
  });
  require(!names.empty(), "prune_at_init: no parameter of the network is selected");
  for (int t = 1; t <= options.iterations; ++t) {
    const double d = std::pow(options.density, static_cast<double>(t) / options.iterations);
    const Scores scores = criterion.score(net, ctx);
    std::vector<const Tensor<double, Cpu>*> s;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto it = scores.find(names[i]);
      require(it != scores.end() && it->second.shape() == masks[i].shape(), "prune_at_init: the criterion gave no "
              "scores of shape ", masks[i].shape(), " for parameter ", names[i]);
      s.push_back(&it->second);
    }
    if (options.scope == Scope::global) {
      std::vector<Tensor<S, Cpu>*> m;
      for (auto& x : masks) m.push_back(&x);
      detail::keep_top<S>(s, m, static_cast<Index>(std::llround(d * static_cast<double>(total))), names);
    } else {
      std::vector<Shape> shapes;
      for (const auto& m : masks) shapes.push_back(m.shape());
      const std::vector<double> share =
          options.scope == Scope::erk ? erk_densities(shapes, d) : std::vector<double>(names.size(), d);
      for (std::size_t i = 0; i < names.size(); ++i) {
        std::vector<Tensor<S, Cpu>*> m{&masks[i]};
        const Index keep = std::max<Index>(1, std::llround(share[i] * static_cast<double>(masks[i].numel())));
        detail::keep_top<S>({s[i]}, m, keep, {names[i]});
      }
    }
    std::size_t i = 0;
    detail::for_selected(net, options.select, [&](const std::string& n, Parameter<S, D>& p, std::size_t) {
      set_mask(p, masks[i++], n);
    });
    report.round_density.push_back(density_report(net, options.select).density());
  }
  report.final = density_report(net, options.select);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace netgrow::prune
