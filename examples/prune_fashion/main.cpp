// examples/prune_fashion: pruning at initialisation and dynamic sparse training of the small CNN on
// Fashion-MNIST (conv(3x3, 32) -> Relu1 -> conv(3x3, 64) -> Relu1 -> max-pool 2 -> Flatten -> Dense(128) ->
// Relu1 -> Dense(10), models::SmallCnn), every method at every density of --densities, over --seeds.
//
// Methods (--methods), all trained alike (SGD with Nesterov momentum 0.9, weight decay 5e-4, cosine
// learning rate from --lr, batch 128, --epochs):
//   Dense       no pruning (the reference; run once per seed, whatever the densities)
//   Dense-0.3   the dense network at 0.3 of the widths: about the FLOPs of a 10 % sparse one (dense
//               training at equal FLOPs; run once per seed)
//   Random, Magnitude, SNIP, GraSP, SynFlow, NTK-SAP
//               pruned before training to the density (global threshold over every Dense and Conv2d
//               weight; SynFlow in --synflow-rounds rounds, NTK-SAP in --ntksap-rounds, each an
//               exponential schedule); SNIP and GraSP read one batch of 128 training images, SynFlow and
//               NTK-SAP no data (NTK-SAP: Gaussian inputs of that batch's shape, fresh He-normal weights
//               per round)
//   Random-ERK  a random mask with RigL's Erdos-Renyi-Kernel layer densities (prune::Scope::erk)
//   SET, RigL   start from the Random-ERK mask at the density and move connections every
//               --dst-every steps until 3/4 of training, drop fraction --dst-fraction on a cosine decay
//   Grow-Prune  (budget: the density's active weights) the seed network at a quarter of the widths,
//               dense, grows by GradMax to the full widths in 4 growths over the first third of
//               training, is pruned by magnitude to the density at the middle of training, trains on
//   Prune-Grow  the seed network at half the widths pruned at initialisation by NTK-SAP to the density,
//               grows by GradMax to the full widths in 4 growths over the first third with its masks
//               grown at the layer's density (MaskGrowth::layer_density), so that it ends at the budget
// Prints per method and density: test accuracy (mean and 80% interval over seeds), the final density,
// the scoring seconds, training FLOPs relative to Dense (sparse counts: prune/flops.hpp) and
// wall-clock seconds, and the percentage each weight keeps (a weight that keeps nothing has collapsed the
// network: no signal passes). Writes <--out>_summary.json.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../common/evaluate.hpp"
#include "../common/summary.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/netgrow.hpp"
#include "netgrow/train/run_summary.hpp"

using namespace netgrow;

namespace {

using Model = models::SmallCnn<float, Cpu>;
using Net = Model::Net;

struct Settings {
  std::int64_t steps = 0;
  double lr = 0.05;
  Index batch = 128;
  int synflow_rounds = 100, ntksap_rounds = 20;
  std::int64_t dst_every = 100;
  double dst_fraction = 0.3;
};

struct Result {
  double accuracy = 0, density = 1, score_seconds = 0, train_flops = 0, seconds = 0;
  std::string layer_densities;  // per weight, "conv1/conv2/fc1/fc2" in percent
  bool collapsed = false;       // some weight kept nothing: the network cannot pass a signal
};

template <class Criterion>
double prune_with(Net& net, const Criterion& c, const FashionMnist& data, double density, int rounds, Rng& rng,
                  prune::Scope scope = prune::Scope::global) {
  BatchSampler s(data.train.size(), 128, Rng(rng.next_u64()));
  Tensor<float> x;
  Tensor<std::int32_t> y;
  const auto idx = s.next();
  gather_rows(data.train.images, idx, x);
  gather_rows(data.train.labels, idx, y);
  const auto report = prune::prune_at_init(net, c, {.inputs = x.cview(), .labels = y.cview(), .rng = &rng},
                                           {.density = density, .scope = scope, .iterations = rounds});
  return report.seconds;
}

// One run of `method` at `density` with `seed`.
Result run(const std::string& method, double density, std::uint64_t seed, const FashionMnist& data, const Settings& s) {
  Rng rng(seed);
  const bool grows = method == "Grow-Prune" || method == "Prune-Grow";
  const double start_width = method == "Grow-Prune"   ? 0.25
                             : method == "Prune-Grow" ? 0.5
                             : method == "Dense-0.3"  ? 0.3
                                                      : 1.0;
  Model model({.width_multiplier = start_width}, rng);
  Net& net = model.net();
  Result r;
  Rng score_rng(seed + 7);
  if (method == "Random") r.score_seconds = prune_with(net, prune::RandomScore{}, data, density, 1, score_rng);
  else if (method == "Magnitude") r.score_seconds = prune_with(net, prune::Magnitude{}, data, density, 1, score_rng);
  else if (method == "SNIP") r.score_seconds = prune_with(net, prune::Snip{}, data, density, 1, score_rng);
  else if (method == "GraSP") r.score_seconds = prune_with(net, prune::Grasp{}, data, density, 1, score_rng);
  else if (method == "SynFlow") r.score_seconds = prune_with(net, prune::SynFlow{}, data, density, s.synflow_rounds, score_rng);
  else if (method == "NTK-SAP" || method == "Prune-Grow")
    r.score_seconds = prune_with(net, prune::NtkSap{}, data, density, s.ntksap_rounds, score_rng);
  else if (method == "SET" || method == "RigL")
    r.score_seconds =
        prune_with(net, prune::RandomScore{}, data, density, 1, score_rng, prune::Scope::erk);
  else if (method == "Random-ERK")
    r.score_seconds = prune_with(net, prune::RandomScore{}, data, density, 1, score_rng, prune::Scope::erk);
  if (method == "Prune-Grow")
    net.visit_parameters([&](const std::string&, auto& p) {
      if (!p.mask.empty()) p.mask_growth = MaskGrowth::layer_density, p.mask_seed = seed;
    });
  std::optional<prune::DynamicSparse> dst;
  if (method == "SET" || method == "RigL")
    dst.emplace(prune::DynamicSparseOptions{.regrow = method == "SET" ? prune::Regrow::random : prune::Regrow::gradient,
                                            .fraction = s.dst_fraction,
                                            .every = s.dst_every,
                                            .end_step = s.steps * 3 / 4,
                                            .seed = seed});
  // Growth (Grow-Prune, Prune-Grow): 4 GradMax growths to the full widths over the first third.
  Rng unused(0);
  Model target({}, unused);
  const models::GrowthPlan plan = grows ? models::plan_growth(model, target, 4) : models::GrowthPlan{};
  const std::int64_t interval = std::max<std::int64_t>(1, s.steps / 15);
  grow::GrowthSchedule schedule(interval, interval, 4);
  const std::int64_t prune_step = s.steps / 2;

  Sgd sgd(CosineLr{.base = s.lr, .total_steps = s.steps}, {.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  BatchSampler sampler(data.train.size(), s.batch, Rng(seed + 1)), grow_sampler(data.train.size(), s.batch, Rng(seed + 2));
  Tensor<float> x, grad, gx, ggrad;
  Tensor<std::int32_t> y, gy;
  const std::function<void()> refresh = [&] {
    const auto logits = net.forward(gx);
    ggrad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, gy, ggrad);
    net.backward(ggrad);
  };
  // Sparse FLOPs per step change only with growth and pruning (DST keeps every weight's density).
  const Shape batch_shape{s.batch, 1, 28, 28};
  double step_flops = prune::sparse_training_step_flops(net, batch_shape);
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t step = 0; step < s.steps; ++step) {
    if (grows && schedule.due(step)) {
      const auto idx = grow_sampler.next();
      gather_rows(data.train.images, idx, gx);
      gather_rows(data.train.labels, idx, gy);
      models::grow_all_sites(model, plan, static_cast<int>(schedule.growths()), grow::GradMax{.norm = grow::NormRule::mean_norm(0.5)},
                             rng, refresh);
      schedule.record_growth();
      step_flops = prune::sparse_training_step_flops(net, batch_shape);
    }
    if (method == "Grow-Prune" && step == prune_step) {
      r.score_seconds = prune_with(net, prune::Magnitude{}, data, density, 1, score_rng);
      step_flops = prune::sparse_training_step_flops(net, batch_shape);
    }
    const auto idx = sampler.next();
    gather_rows(data.train.images, idx, x);
    gather_rows(data.train.labels, idx, y);
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    if (dst) dst->update(net, step);
    sgd.step(net);
    r.train_flops += step_flops;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.accuracy = examples::evaluate(net, data.test).accuracy();
  const auto report = prune::density_report(net);
  r.density = report.density();
  for (const auto& p : report.parameters) {
    char b[16];
    std::snprintf(b, sizeof b, "%s%.1f", r.layer_densities.empty() ? "" : "/", 100.0 * p.active / p.total);
    r.layer_densities += b;
    r.collapsed = r.collapsed || p.active == 0;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"densities", "0.1,0.05,0.02"},
                         {"methods", "Dense,Random,Magnitude,SNIP,GraSP,SynFlow,NTK-SAP,SET,RigL"},
                         {"epochs", "1"},
                         {"seeds", "3"},
                         {"lr", "0.02"},
                         {"synflow-rounds", "100"},
                         {"ntksap-rounds", "20"},
                         {"dst-every", "100"},
                         {"dst-fraction", "0.3"},
                         {"train-limit", "0"},
                         {"out", "prune_fashion"}});
  if (flags.help()) {
    std::printf("prune_fashion: pruning at initialisation and sparse training on Fashion-MNIST\n%s", flags.usage().c_str());
    return 0;
  }
  RunSummary summary("prune_fashion", argc, argv);
  const FashionMnist data = load_fashion_mnist({.max_train = flags.integer("train-limit")});
  Settings s;
  s.steps = static_cast<std::int64_t>(flags.number("epochs") * static_cast<double>(data.train.size() / s.batch));
  s.lr = flags.number("lr");
  s.synflow_rounds = static_cast<int>(flags.integer("synflow-rounds"));
  s.ntksap_rounds = static_cast<int>(flags.integer("ntksap-rounds"));
  s.dst_every = flags.integer("dst-every");
  s.dst_fraction = flags.number("dst-fraction");
  const int seeds = static_cast<int>(flags.integer("seeds"));
  std::vector<double> densities;
  std::vector<std::string> methods;
  {
    std::stringstream d(flags.str("densities")), m(flags.str("methods"));
    for (std::string t; std::getline(d, t, ',');) densities.push_back(std::stod(t));
    for (std::string t; std::getline(m, t, ',');) methods.push_back(t);
  }
  const std::vector<std::string> known = {"Dense",   "Random", "Magnitude",  "SNIP",       "GraSP",      "SynFlow",
                                          "NTK-SAP", "SET",    "RigL",       "Grow-Prune", "Prune-Grow", "Random-ERK",
                                          "Dense-0.3"};
  for (const auto& m : methods)
    require(std::find(known.begin(), known.end(), m) != known.end(), "--methods: unknown method '", m, "'");
  std::printf("netgrow Fashion-MNIST pruning: small CNN 32/64/128, %lld steps of batch %td, lr %g, %d seed(s)\n\n",
              static_cast<long long>(s.steps), s.batch, s.lr, seeds);
  RunSummary::Json results;
  // Dense training's FLOPs: the full network's count for every step (what "Dense" measures too).
  Rng unused(0);
  Model full({}, unused);
  const double dense_flops = static_cast<double>(s.steps) * training_step_flops(full.net(), Shape{s.batch, 1, 28, 28});
  std::printf("%-11s %-8s %-28s %-9s %-14s %-12s %-8s %s\n", "method", "density", "test accuracy (80% CI)", "final",
              "score seconds", "FLOPs/Dense", "seconds", "kept % per weight, seed 0 (conv1/conv2/fc1/fc2)");
  for (const auto& m : methods) {
    const std::vector<double> ds = m.starts_with("Dense") ? std::vector<double>{1.0} : densities;
    for (double d : ds) {
      std::vector<double> acc, dens, score_s, flops, secs;
      std::vector<std::string> layers;
      int collapsed = 0;
      for (int k = 0; k < seeds; ++k) {
        const Result r = run(m, d, 3000 + static_cast<std::uint64_t>(k), data, s);
        acc.push_back(r.accuracy), dens.push_back(r.density), score_s.push_back(r.score_seconds);
        flops.push_back(r.train_flops), secs.push_back(r.seconds), layers.push_back(r.layer_densities);
        collapsed += r.collapsed;
      }
      const auto mean = [](const std::vector<double>& v) {
        double t = 0;
        for (double e : v) t += e;
        return t / static_cast<double>(v.size());
      };
      char ratio[32] = "n/a";
      if (dense_flops > 0) std::snprintf(ratio, sizeof ratio, "%.3f", mean(flops) / dense_flops);
      std::printf("%-11s %-8g %-28s %-9.4f %-14.2f %-12s %-8.1f %s%s\n", m.c_str(), d,
                  examples::format_interval(examples::interval_80(acc)).c_str(), mean(dens), mean(score_s), ratio,
                  mean(secs), layers[0].c_str(), collapsed ? (" (" + std::to_string(collapsed) + " collapsed)").c_str() : "");
      std::fflush(stdout);
      results[m][std::to_string(d)] = {{"test_accuracy", acc}, {"final_density", dens}, {"score_seconds", score_s},
                                        {"train_flops", flops}, {"seconds", secs}, {"kept_percent_per_weight", layers},
                                        {"collapsed_seeds", collapsed}};
    }
  }
  summary["results"] = results;
  summary["config"] = {{"steps", s.steps}, {"lr", s.lr}, {"seeds", seeds}, {"synflow_rounds", s.synflow_rounds},
                       {"ntksap_rounds", s.ntksap_rounds}, {"dst_every", s.dst_every}, {"dst_fraction", s.dst_fraction}};
  const std::string path = flags.str("out") + "_summary.json";
  summary.write(path);
  std::printf("\nsummary written to %s\n", path.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "prune_fashion: %s\n", e.what());
  return 1;
}
