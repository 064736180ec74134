/// \file
/// netgrow/grow/stage_lr.hpp: per-stage learning rates, the learning-rate adaptation of Yuan, Savarese
/// and Maire (NeurIPS 2023, "Accelerated Training via Incrementally Growing Neural Networks using
/// Variance Transfer and Learning Rate Adaptation").
///
/// A growing network's weights split by the growth stage that added them, W = {W_0, W_d1, ..., W_dT}
/// (stage 0: the seed). Sub-networks that fade in late get fewer steps, so each stage t trains with
/// ~~~{.unparsed}
///   lr_t = lr_0 * ||W_dt||_F / ||W_0||_F          (lr_0: the optimizer's schedule)
/// ~~~
/// recomputed from the current weights whenever update() runs (after each growth, and as often as the
/// training loop likes between growths: it costs one pass over the parameters).
///
/// ~~~
///   grow::StageLearningRates stages;           // network-wide norms (the paper's rule)
///   stages.start(net);                         // the seed: every slice is stage 0
///   ...
///   grow_all_sites(model, plan, g, init, rng); // any growth: width, depth, LEMON expansion
///   stages.begin_stage(net);                   // the new slices become stage g + 1; lr_scale set
///   ...
///   if (step % 100 == 0) stages.update(net);   // follow the weights' norms
/// ~~~
///
/// Stages are tags on the parameters themselves (Parameter::stage_tags: per row and per column), so
/// they move with their layers when depth growth inserts a block, and checkpoints keep them. An
/// element's stage is the largest tag over its first two axes: a row added at stage 2 and a column
/// added at stage 1 meet in an element of stage 2. Tagging is by extent: begin_stage tags every index
/// past the tagged ones, and every parameter without tags (a new block), with the new stage, so no
/// growth operation needs to know about stages.
///
/// Conventions (where the paper is silent):
/// ~~~{.unparsed}
///   norms        over weights (parameters of rank >= 2: Dense, Conv2d, depthwise filters); biases and
///                normalisation parameters follow the factor of their stage
///   StageScope   network (default): ||W_dt|| over the whole network, one factor per stage; parameter:
///                each weight tensor's own stage norms (biases and normalisation parameters use their
///                own norms too)
///   zero norms   a stage whose weights are all zero, or a zero ||W_0||, keeps factor 1 (the rule would
///                freeze it or divide by zero)
///   lr_scale     overwritten: lr = schedule(step) * lr_multiplier * lr_scale[i] (optim/); parameters
///                whose elements all have factor 1 get an empty lr_scale (all ones)
/// ~~~
/// Any device: the factors are computed on the host (each update() copies the weights there once and
/// the factors back; device networks need the transfer functions, backend/cuda/transfer.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/layers/parameter.hpp"
#include "netgrow/layers/parameter_growth.hpp"

namespace netgrow::grow {

/// Which weights a stage's norm is taken over (see the file comment).
enum class StageScope {
  network,    ///< the whole network: one factor per stage (the paper's rule)
  parameter,  ///< each parameter tensor on its own
};

/// StageLearningRates' settings.
struct StageLrOptions {
  StageScope scope = StageScope::network;                   ///< where the norms are taken
  double max_factor = std::numeric_limits<double>::infinity();  ///< upper clamp of lr_t / lr_0 (> 0)
};

/// What the last StageLearningRates::update computed (network scope; empty vectors for parameter scope).
struct StageLrReport {
  std::vector<double> norms;    ///< ||W_dt||_F per stage t = 0, 1, ... (weights of rank >= 2)
  std::vector<double> factors;  ///< lr_t / lr_0 per stage
};

namespace detail {

// Number of axes that carry stage tags: the first two (one for vectors).
template <class S, class D>
int tagged_axes(const Parameter<S, D>& p) {
  return std::min(p.value.rank(), 2);
}

// The stage of element i (row-major index) of p from its tags; -1 where an axis's index is untagged.
template <class S, class D>
std::int32_t element_stage(const Parameter<S, D>& p, Index i) {
  const Shape& s = p.value.shape();
  const Index inner0 = s.numel() / s[0];
  const auto& t0 = p.stage_tags[0];
  const Index i0 = i / inner0;
  if (i0 >= static_cast<Index>(t0.size())) return -1;
  std::int32_t stage = t0[static_cast<std::size_t>(i0)];
  if (s.rank() >= 2) {
    const Index inner1 = inner0 / s[1];
    const Index i1 = (i / inner1) % s[1];
    const auto& t1 = p.stage_tags[1];
    if (i1 >= static_cast<Index>(t1.size())) return -1;
    stage = std::max(stage, t1[static_cast<std::size_t>(i1)]);
  }
  return stage;
}

inline std::size_t stage_slot(std::int32_t stage) { return static_cast<std::size_t>(stage); }

}  // namespace detail

/// Tags every index of p's first two axes past its tagged ones with `stage` (all of them when p has no
/// tags). Throws StateError when p has fewer indices than tags (it shrank) or for a negative stage.
template <class S, class D>
void tag_parameter_stage(Parameter<S, D>& p, std::int32_t stage, std::string_view name = "") {
  require(stage >= 0, "tag_stage: negative stage ", stage);
  for (int a = 0; a < 2; ++a) {
    auto& tags = p.stage_tags[static_cast<std::size_t>(a)];
    const Index extent = a < detail::tagged_axes(p) ? p.value.dim(a) : 0;
    require<StateError>(static_cast<Index>(tags.size()) <= extent, "tag_stage: parameter ", name, " has ", tags.size(),
                        " stage tags along axis ", a, " but only ", extent, " indices; parameters only grow");
    tags.resize(static_cast<std::size_t>(extent), stage);
  }
}

/// tag_parameter_stage for every parameter of `net` (anything with visit_parameters).
template <class Net>
void tag_stage(Net& net, std::int32_t stage) {
  net.visit_parameters([&](std::string_view name, auto& p) { tag_parameter_stage(p, stage, name); });
}

/// The largest stage tag in `net`, or -1 when nothing is tagged.
template <class Net>
std::int32_t current_stage(Net& net) {
  std::int32_t stage = -1;
  net.visit_parameters([&](std::string_view, auto& p) {
    for (const auto& tags : p.stage_tags)
      for (const std::int32_t t : tags) stage = std::max(stage, t);
  });
  return stage;
}

/// The variance-transfer paper's per-stage learning rates (see the file comment). Holds only its options
/// and the last report: the stages live in the network's parameters.
class StageLearningRates {
 public:
  /// Throws for a non-positive max_factor.
  explicit StageLearningRates(StageLrOptions options = {}) : options_(options) {
    require(options.max_factor > 0, "StageLearningRates: max_factor must be positive, got ", options.max_factor);
  }

  const StageLrOptions& options() const { return options_; }  ///< the settings
  const StageLrReport& last() const { return last_; }         ///< what the last update() computed

  /// The seed: tags every slice of `net` as stage 0 and sets every factor to 1. Throws StateError when
  /// `net` is tagged already (a resumed run keeps its stages: skip start then).
  template <class Net>
  void start(Net& net) {
    require<StateError>(current_stage(net) < 0, "StageLearningRates::start: the network has stage tags already "
                                                "(resumed from a checkpoint?); call begin_stage after growths instead");
    tag_stage(net, 0);
    update(net);
  }

  /// After a growth: tags every slice added since the last stage (and every new parameter) with the next
  /// stage, then update(). Returns the new stage. Throws StateError when start() was never called.
  template <class Net>
  std::int32_t begin_stage(Net& net) {
    const std::int32_t stage = current_stage(net);
    require<StateError>(stage >= 0, "StageLearningRates::begin_stage: the network has no stage tags; call "
                                    "start(net) on the seed network before its first growth");
    tag_stage(net, stage + 1);
    update(net);
    return stage + 1;
  }

  /// Recomputes every trainable parameter's lr_scale from the current weights (see the file comment).
  /// Throws StateError for an untagged element (a growth not followed by begin_stage).
  template <class Net>
  const StageLrReport& update(Net& net) {
    last_ = {};
    if (options_.scope == StageScope::network) {
      std::vector<double> sq;
      net.visit_parameters([&](std::string_view name, auto& p) {
        if (p.trainable && p.value.rank() >= 2) add_squares(p, name, sq);
      });
      last_.norms.resize(sq.size());
      for (std::size_t t = 0; t < sq.size(); ++t) last_.norms[t] = std::sqrt(sq[t]);
      last_.factors = factors_from(last_.norms);
      net.visit_parameters([&](std::string_view name, auto& p) {
        if (p.trainable) apply(p, name, last_.factors);
      });
    } else {
      net.visit_parameters([&](std::string_view name, auto& p) {
        if (!p.trainable) return;
        std::vector<double> sq;
        add_squares(p, name, sq);
        std::vector<double> norms(sq.size());
        for (std::size_t t = 0; t < sq.size(); ++t) norms[t] = std::sqrt(sq[t]);
        apply(p, name, factors_from(norms));
      });
    }
    return last_;
  }

 private:
  template <class S, class D>
  static std::int32_t checked_stage(const Parameter<S, D>& p, Index i, std::string_view name) {
    const std::int32_t stage = detail::element_stage(p, i);
    require<StateError>(stage >= 0, "StageLearningRates: parameter ", name, " has untagged elements; call "
                                    "begin_stage(net) after every growth (start(net) before the first)");
    return stage;
  }

  template <class S, class D>
  static void add_squares(const Parameter<S, D>& p, std::string_view name, std::vector<double>& sq) {
    Tensor<S, Cpu> staging;
    const ConstView<S, Cpu> value = host_view(p.value, staging);
    for (Index i = 0; i < p.numel(); ++i) {
      const std::size_t t = detail::stage_slot(checked_stage(p, i, name));
      if (sq.size() <= t) sq.resize(t + 1, 0.0);
      const double v = static_cast<double>(value.data()[i]);
      sq[t] += v * v;
    }
  }

  std::vector<double> factors_from(const std::vector<double>& norms) const {
    std::vector<double> f(norms.size(), 1.0);
    if (norms.empty() || norms[0] == 0) return f;
    for (std::size_t t = 1; t < norms.size(); ++t)
      if (norms[t] > 0) f[t] = std::min(options_.max_factor, norms[t] / norms[0]);
    return f;
  }

  template <class S, class D>
  static void apply(Parameter<S, D>& p, std::string_view name, const std::vector<double>& factors) {
    auto factor = [&](Index i) {
      const std::size_t t = detail::stage_slot(checked_stage(p, i, name));
      return t < factors.size() ? factors[t] : 1.0;
    };
    bool all_ones = true;
    for (Index i = 0; i < p.numel() && all_ones; ++i) all_ones = factor(i) == 1.0;
    if (all_ones) {
      p.lr_scale = Tensor<S, D>();
      return;
    }
    Tensor<S, Cpu> scale(p.value.shape());
    for (Index i = 0; i < p.numel(); ++i) scale[i] = static_cast<S>(factor(i));
    if (p.lr_scale.shape() != p.value.shape()) p.lr_scale = Tensor<S, D>(p.value.shape());
    copy_between<S>(scale.cview(), p.lr_scale.view());
  }

  StageLrOptions options_;
  StageLrReport last_;
};

}  // namespace netgrow::grow
