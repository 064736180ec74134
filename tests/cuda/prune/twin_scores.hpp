// The pruning scores and the growth controllers' site measures both twins compute
// (tests/cuda/prune/test_scores_on_cuda.cpp), written once against the device D: a small CNN with
// BatchNorm (models::SmallCnn, double) built from one seed, scored by every criterion of prune/, pruned
// by prune_at_init, and measured by PairSite::measure and models::ntk_site_kernels. Every random draw
// (weights, criteria's Rngs, the NTK sketch) happens on the host, so both twins see the same numbers.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/models/ntk_measure.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/prune/prune_at_init.hpp"
#include "support/prune_criteria.hpp"

namespace netgrow::test {

// The batch: images (6, 1, 10, 10) and labels in [0, 3).
struct ScoreData {
  Tensor<double, Cpu> x;
  Tensor<std::int32_t, Cpu> labels;
};

template <class D>
using ScoreCnn = models::SmallCnn<double, D, true>;

inline models::SmallCnnConfig score_cnn_config() {
  return {.in_channels = 1, .image = 10, .c1 = 3, .c2 = 4, .fc = 5, .classes = 3};
}

// Every parameter's value (visit order) on the host: running statistics included.
template <class Net>
std::vector<Tensor<double, Cpu>> host_parameters(Net& net) {
  std::vector<Tensor<double, Cpu>> out;
  net.visit_parameters([&](const std::string&, auto& p) { out.push_back(host_copy(p.value.cview())); });
  return out;
}

// What the scoring twin leaves behind.
struct ScoreTrace {
  std::vector<std::string> criteria;            // names, in the order of `scores`
  std::vector<prune::Scores> scores;            // one per criterion
  std::vector<Tensor<double, Cpu>> before, after;  // parameters before and after all the scoring
  std::vector<std::vector<Tensor<double, Cpu>>> masks;  // after prune_at_init: SNIP, SynFlow, NTK-SAP runs
  std::vector<std::vector<double>> round_density;       // their PruneReport::round_density
};

template <class D>
ScoreTrace score_twin(std::uint64_t seed, const ScoreData& data) {
  ScoreTrace trace;
  const auto score_all = [&](auto& net) {
    prune::ScoreContext<double> ctx{.inputs = data.x.cview(), .labels = data.labels.cview()};
    std::uint64_t k = 0;
    const auto run = [&](const auto& criterion) {
      Rng rng(seed + 100 + k++);
      ctx.rng = &rng;
      trace.criteria.emplace_back(criterion.name);
      trace.scores.push_back(criterion.score(net, ctx));
    };
    test::for_each_criterion(run);
  };
  {
    Rng rng(seed);
    ScoreCnn<D> model(score_cnn_config(), rng);
    prune::enable_masks(model.net());
    trace.before = host_parameters(model.net());
    score_all(model.net());
    trace.after = host_parameters(model.net());
  }
  // prune_at_init with three criteria and scopes, each on a fresh copy of the seed network.
  const auto prune_run = [&](const auto& criterion, prune::PruneOptions options) {
    Rng rng(seed);
    ScoreCnn<D> model(score_cnn_config(), rng);
    Rng score_rng(seed + 7);
    const prune::PruneReport report = prune::prune_at_init(
        model.net(), criterion,
        prune::ScoreContext<double>{.inputs = data.x.cview(), .labels = data.labels.cview(), .rng = &score_rng},
        options);
    std::vector<Tensor<double, Cpu>> masks;
    model.net().visit_parameters([&](const std::string&, auto& p) {
      if (!p.mask.empty()) masks.push_back(prune::mask_on_host(p));
    });
    trace.masks.push_back(std::move(masks));
    trace.round_density.push_back(report.round_density);
  };
  prune_run(prune::Snip{}, {.density = 0.3, .scope = prune::Scope::global, .iterations = 2});
  prune_run(prune::SynFlow{}, {.density = 0.2, .scope = prune::Scope::per_parameter, .iterations = 3});
  prune_run(prune::NtkSap{}, {.density = 0.4, .scope = prune::Scope::erk, .iterations = 2});
  return trace;
}

// What the measuring twin leaves behind.
struct MeasureTrace {
  std::vector<grow::SiteMeasure> gradmax;         // PairSite::measure (GradMax's M, activations), per site
  std::vector<models::NtkSiteKernel> kernels;     // models::ntk_site_kernels, per site
  std::vector<grow::SiteMeasure> ntk;             // models::measure_ntk, per site
};

template <class D>
MeasureTrace measure_twin(std::uint64_t seed, const ScoreData& data) {
  Rng rng(seed);
  ScoreCnn<D> model(score_cnn_config(), rng);
  auto& net = model.net();
  const Tensor<double, D> x = to<D>(data.x);
  const Tensor<std::int32_t, D> labels = to<D>(data.labels);
  Tensor<double, D> grad;
  const auto refresh = [&] {
    const ConstView<double, D> logits = net.forward(x.cview(), Mode::train);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, labels.cview(), grad.view());
    net.backward(grad.cview());
  };
  MeasureTrace trace;
  model.for_each_site([&](auto& site) { trace.gradmax.push_back(site.measure(3, refresh)); });
  const models::NtkMeasureOptions options{.exact_up_to = 40, .oversampling = 4};
  trace.kernels = models::ntk_site_kernels(model, x.cview(), {3, 3, 2}, options);
  trace.ntk = models::measure_ntk(model, x.cview(), {2, 2, 2}, options);
  return trace;
}

// The Cuda twins (prune_shim.cu).
ScoreTrace score_on_cuda(std::uint64_t seed, const ScoreData& data);
MeasureTrace measure_on_cuda(std::uint64_t seed, const ScoreData& data);

}  // namespace netgrow::test
