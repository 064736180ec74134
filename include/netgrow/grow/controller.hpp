/// \file
/// netgrow/grow/controller.hpp: growth that decides when, where and how much by itself.
///
/// A training loop asks a controller at every step whether to check (`due(step)`); when it is, it
/// measures every growth site (models::PairSite::measure, or its own SiteMeasure values) and asks
/// `decide(step, measures, totals)` for the neurons to add per site, then grows them with any
/// initializer. Two policies:
///
/// ~~~{.unparsed}
///   GradMaxTrigger       GradMax's own numbers: a new neuron at site i would start with gradient
///                        norm  g_j = sigma_j x new_gradient_per_sigma  (sigma_j the j-th singular
///                        value of M = E[dL/dz h^T], the factor from the activations' slope, the
///                        BatchNorm scale and the outgoing norm rule). A site gains one neuron per
///                        j with g_j > threshold x (mean gradient norm of its existing neurons'
///                        incoming weights): grow where new neurons would learn faster than the
///                        existing ones (NORTH's "gradient trigger" in the same form).
///   EffectiveRankTrigger NORTH's activation trigger: phi = |{sigma in SVD(H / sqrt(n)) : sigma >
///                        epsilon}| / width, the effective rank of the site's activations H
///                        (n rows); k = max(0, floor(width (phi - gamma phi_0))), phi_0 the site's
///                        value at its first check.
/// ~~~
///
/// Both cap k per site and growth (max_neurons_per_growth, max_width) and never exceed the budget
/// (parameters and/or forward FLOPs per sample): candidate neurons are ranked across sites (by g_j /
/// reference, or by the rank surplus) and taken while the budget allows, so a site with a dominant
/// singular value gets the neurons first. Every check is logged (step, site, k, singular values,
/// reference) and the log exports to JSON for the run's summary.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::grow {

/// What a controller reads about one growth site at one check.
struct SiteMeasure {
  std::string name{};                             ///< the site's name
  Index width = 0;                                ///< current width (neurons)
  double parameters_per_neuron = 0;               ///< parameters one new neuron adds (fan_in, bias, fan_out, ...)
  double flops_per_neuron = 0;                    ///< forward FLOPs per sample one new neuron adds
  std::vector<double> gradient_singular_values{}; ///< top singular values of M, descending
  double new_gradient_per_sigma = 1;              ///< a new neuron's gradient norm per unit of sigma
  double existing_gradient_norm = 0;              ///< mean norm of the existing neurons' incoming gradients
  std::vector<double> activation_singular_values{};///< singular values of H / sqrt(n), descending (NORTH)
};

/// Totals of the network now, and the caps a controller must respect (absent: no cap).
struct GrowthBudget {
  double parameters = 0;                 ///< parameters now
  double flops = 0;                      ///< forward FLOPs per sample now
  std::optional<double> max_parameters{};  ///< never exceed this many parameters
  std::optional<double> max_flops{};       ///< never exceed this many forward FLOPs per sample
};

/// One site's outcome at one check (k may be 0: the check is logged all the same).
struct GrowthDecision {
  std::int64_t step = 0;                ///< the training step of the check
  std::size_t site = 0;                 ///< index in the measures given to decide()
  std::string name{};                   ///< the site's name
  Index k = 0;                          ///< neurons to add
  Index wanted = 0;                     ///< neurons the trigger asked for before caps and budget
  std::vector<double> singular_values{};  ///< the singular values the decision read
  double reference = 0;                 ///< GradMax: the existing gradient norm; NORTH: gamma phi_0 width
};

/// When to check, and the caps common to both policies.
struct ControllerOptions {
  std::int64_t check_every = 100;    ///< steps between checks
  std::int64_t start = 0;            ///< first step that may check
  Index max_neurons_per_growth = 0;  ///< per site and check; 0: no cap
  std::vector<Index> max_width{};      ///< per site (in measure order); empty: no cap
  GrowthBudget budget_caps{};        ///< only max_parameters / max_flops are read here
};

namespace detail {

/// A candidate neuron: its site and its priority (higher first).
struct Candidate {
  std::size_t site;
  double priority;
};

/// Takes candidates in priority order while caps and budget allow; returns k per site.
inline std::vector<Index> admit(std::vector<Candidate> candidates, const std::vector<SiteMeasure>& measures,
                                const ControllerOptions& o, const GrowthBudget& totals) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.priority > b.priority; });
  std::vector<Index> k(measures.size(), 0);
  double parameters = totals.parameters, flops = totals.flops;
  const auto max_parameters = o.budget_caps.max_parameters ? o.budget_caps.max_parameters : totals.max_parameters;
  const auto max_flops = o.budget_caps.max_flops ? o.budget_caps.max_flops : totals.max_flops;
  for (const Candidate& c : candidates) {
    const SiteMeasure& m = measures[c.site];
    if (o.max_neurons_per_growth > 0 && k[c.site] >= o.max_neurons_per_growth) continue;
    if (!o.max_width.empty() && m.width + k[c.site] >= o.max_width[c.site]) continue;
    if (max_parameters && parameters + m.parameters_per_neuron > *max_parameters) continue;
    if (max_flops && flops + m.flops_per_neuron > *max_flops) continue;
    parameters += m.parameters_per_neuron;
    flops += m.flops_per_neuron;
    ++k[c.site];
  }
  return k;
}

inline void check_measures(const std::vector<SiteMeasure>& measures, const ControllerOptions& o, const char* who) {
  require(o.max_width.empty() || o.max_width.size() == measures.size(), who, ": max_width has ", o.max_width.size(),
          " entries for ", measures.size(), " sites");
  for (const SiteMeasure& m : measures)
    require(m.width >= 0 && m.parameters_per_neuron >= 0 && m.flops_per_neuron >= 0, who, ": site ", m.name,
            " has a negative width or cost");
}

}  // namespace detail

/// The log every controller keeps: each check's decisions (io::to_json(log) writes them as JSON).
class GrowthLog {
 public:
  void add(const GrowthDecision& d) { decisions_.push_back(d); }  ///< appends one decision
  const std::vector<GrowthDecision>& decisions() const { return decisions_; }  ///< all, in order
  /// Neurons added over the whole run.
  Index total_neurons() const {
    Index n = 0;
    for (const auto& d : decisions_) n += d.k;
    return n;
  }

 private:
  std::vector<GrowthDecision> decisions_;
};

/// GradMax-driven growth (see the file comment).
class GradMaxTrigger {
 public:
  /// `threshold`: a new neuron must start with more than threshold x the existing neurons' mean
  /// gradient norm (> 0).
  explicit GradMaxTrigger(ControllerOptions options, double threshold = 1.0)
      : options_(std::move(options)), threshold_(threshold) {
    require(options_.check_every > 0, "GradMaxTrigger: check_every must be positive, got ", options_.check_every);
    require(std::isfinite(threshold) && threshold > 0, "GradMaxTrigger: threshold must be positive, got ", threshold);
  }

  /// True when `step` is a check step.
  bool due(std::int64_t step) const { return step >= options_.start && step % options_.check_every == 0; }

  /// Neurons per site (one decision per measure, in order), logged.
  std::vector<GrowthDecision> decide(std::int64_t step, const std::vector<SiteMeasure>& measures,
                                     const GrowthBudget& totals) {
    detail::check_measures(measures, options_, "GradMaxTrigger");
    std::vector<detail::Candidate> candidates;
    std::vector<Index> wanted(measures.size(), 0);
    for (std::size_t i = 0; i < measures.size(); ++i) {
      const SiteMeasure& m = measures[i];
      const double reference = threshold_ * m.existing_gradient_norm;
      for (double sigma : m.gradient_singular_values) {
        const double g = sigma * m.new_gradient_per_sigma;
        if (!(g > reference)) continue;
        ++wanted[i];
        candidates.push_back({i, reference > 0 ? g / reference : std::numeric_limits<double>::infinity()});
      }
    }
    const std::vector<Index> k = detail::admit(std::move(candidates), measures, options_, totals);
    std::vector<GrowthDecision> out;
    for (std::size_t i = 0; i < measures.size(); ++i) {
      out.push_back({step, i, measures[i].name, k[i], wanted[i], measures[i].gradient_singular_values,
                     measures[i].existing_gradient_norm});
      log_.add(out.back());
    }
    return out;
  }

  const GrowthLog& log() const { return log_; }            ///< every decision so far
  const ControllerOptions& options() const { return options_; }  ///< the options
  double threshold() const { return threshold_; }              ///< the gradient-ratio threshold

 private:
  ControllerOptions options_;
  double threshold_;
  GrowthLog log_;
};

/// NORTH's effective-rank trigger (see the file comment).
class EffectiveRankTrigger {
 public:
  /// `epsilon`: singular values of H / sqrt(n) above it count (> 0); `gamma`: the growth margin over
  /// the first check's effective rank (> 0; NORTH uses values near 1).
  EffectiveRankTrigger(ControllerOptions options, double epsilon = 0.01, double gamma = 0.95)
      : options_(std::move(options)), epsilon_(epsilon), gamma_(gamma) {
    require(options_.check_every > 0, "EffectiveRankTrigger: check_every must be positive, got ",
            options_.check_every);
    require(epsilon > 0 && gamma > 0, "EffectiveRankTrigger: epsilon and gamma must be positive, got ", epsilon,
            " and ", gamma);
  }

  bool due(std::int64_t step) const { return step >= options_.start && step % options_.check_every == 0; }  ///< a check step?

  /// phi = (number of activation singular values > epsilon) / width.
  double effective_rank_fraction(const SiteMeasure& m) const {
    require(m.width > 0, "EffectiveRankTrigger: site ", m.name, " has no neurons");
    const auto count = std::count_if(m.activation_singular_values.begin(), m.activation_singular_values.end(),
                                     [&](double s) { return s > epsilon_; });
    return static_cast<double>(count) / static_cast<double>(m.width);
  }

  /// Neurons per site (one decision per measure, in order), logged. The first check of a site sets its
  /// phi_0 (and adds nothing unless phi > gamma phi already).
  std::vector<GrowthDecision> decide(std::int64_t step, const std::vector<SiteMeasure>& measures,
                                     const GrowthBudget& totals) {
    detail::check_measures(measures, options_, "EffectiveRankTrigger");
    if (phi0_.empty()) {
      for (const SiteMeasure& m : measures) phi0_.push_back(effective_rank_fraction(m));
    }
    require(phi0_.size() == measures.size(), "EffectiveRankTrigger: ", measures.size(), " sites, but ", phi0_.size(),
            " at the first check");
    std::vector<detail::Candidate> candidates;
    std::vector<Index> wanted(measures.size(), 0);
    std::vector<double> references(measures.size(), 0);
    for (std::size_t i = 0; i < measures.size(); ++i) {
      const SiteMeasure& m = measures[i];
      const double width = static_cast<double>(m.width);
      references[i] = gamma_ * phi0_[i] * width;
      const double surplus = width * (effective_rank_fraction(m) - gamma_ * phi0_[i]);
      // (1e-9: 10 (0.7 - 0.4) is 2.9999999999999996 in binary floating point)
      wanted[i] = std::max<Index>(0, static_cast<Index>(std::floor(surplus + 1e-9)));
      for (Index j = 0; j < wanted[i]; ++j) candidates.push_back({i, surplus - static_cast<double>(j)});
    }
    const std::vector<Index> k = detail::admit(std::move(candidates), measures, options_, totals);
    std::vector<GrowthDecision> out;
    for (std::size_t i = 0; i < measures.size(); ++i) {
      out.push_back({step, i, measures[i].name, k[i], wanted[i], measures[i].activation_singular_values, references[i]});
      log_.add(out.back());
    }
    return out;
  }

  const GrowthLog& log() const { return log_; }                 ///< every decision so far
  const std::vector<double>& initial_fractions() const { return phi0_; }  ///< phi_0 per site (after the first check)

 private:
  ControllerOptions options_;
  double epsilon_, gamma_;
  std::vector<double> phi0_;
  GrowthLog log_;
};

}  // namespace netgrow::grow
