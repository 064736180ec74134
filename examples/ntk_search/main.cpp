// examples/ntk_search: training-free architecture ranking by the empirical NTK (TE-NAS, MetaNTK-NAS's
// score; prune/ntk.hpp) on Fashion-MNIST. Every candidate is scored at initialisation on one batch of
// --batch training images (the NTK's trace and condition number, in training mode), then trained for one
// epoch over the first --train-limit training images (SGD, Nesterov 0.9, cosine from --lr, batch 128)
// and tested on the test set. Prints each candidate's scores and accuracy, the Kendall tau between each
// score and the accuracy, and what the scores cost against the training they stand in for.
//
// Candidates (22): the small CNN at width multipliers 1/8, 1/4, 1/2, 3/4, 1, with and without BatchNorm
// (models::SmallCnn); Wide-ResNet-d-k for d in 10, 16, 22 and k in 1/4, 1/2, 1 (models::WideResNet); the
// MLP 784-h-h-10 for h in 64, 256, 1024 (models::Mlp).
//
// MetaNTK-NAS ranks candidates by the NTK of a meta-learning (MAML) objective on few-shot tasks; what is
// built here is the supervised NTK score it extends (and TE-NAS uses), not the meta-learning kernel.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "../common/evaluate.hpp"
#include "../common/summary.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/netgrow.hpp"
#include "netgrow/train/run_summary.hpp"

using namespace netgrow;

namespace {

struct Candidate {
  std::string name;
  double parameters = 0, trace = 0, condition = 0, score_seconds = 0, accuracy = 0, train_seconds = 0;
};

struct Settings {
  Index score_batch = 32;
  double lr = 0.02;
  std::uint64_t seed = 1;
};

// Scores `net` at initialisation, trains it one epoch over `data.train`, tests it.
template <class Net>
Candidate evaluate(const std::string& name, Net& net, const FashionMnist& data, const Settings& s, bool flat) {
  Candidate c{.name = name, .parameters = static_cast<double>(net.parameter_count())};
  BatchSampler score_sampler(data.train.size(), s.score_batch, Rng(s.seed + 100));
  Tensor<float> x, grad;
  Tensor<std::int32_t> y;
  const auto idx = score_sampler.next();
  gather_rows(data.train.images, idx, x);
  if (flat) x.reshape_within_capacity(Shape{x.dim(0), 784});
  const auto t0 = std::chrono::steady_clock::now();
  const auto spectrum = prune::ntk_spectrum(net, x);
  c.score_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.trace = spectrum.trace;
  c.condition = spectrum.condition();
  const std::int64_t steps = data.train.size() / 128;
  Sgd sgd(CosineLr{.base = s.lr, .total_steps = steps}, {.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  BatchSampler sampler(data.train.size(), 128, Rng(s.seed + 1));
  const auto t1 = std::chrono::steady_clock::now();
  for (std::int64_t step = 0; step < steps; ++step) {
    const auto b = sampler.next();
    gather_rows(data.train.images, b, x);
    if (flat) x.reshape_within_capacity(Shape{x.dim(0), 784});
    gather_rows(data.train.labels, b, y);
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    sgd.step(net);
  }
  c.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  c.accuracy = examples::evaluate(net, data.test, flat ? 784 : 0).accuracy();
  std::printf("%-22s %10.0f %12.4g %12.4g %8.3f %8.4f %8.1f\n", c.name.c_str(), c.parameters, c.trace, c.condition,
              c.score_seconds, c.accuracy, c.train_seconds);
  std::fflush(stdout);
  return c;
}

// Kendall's tau-b between a and b.
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) ties_a += 1;
      else if (db == 0) ties_b += 1;
      else if ((da > 0) == (db > 0)) concordant += 1;
      else discordant += 1;
    }
  const double n = concordant + discordant;
  return (concordant - discordant) / std::sqrt((n + ties_a) * (n + ties_b));
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv, {{"train-limit", "10000"}, {"batch", "32"}, {"lr", "0.02"}, {"seed", "1"},
                                     {"out", "ntk_search"}});
  if (flags.help()) {
    std::printf("ntk_search: ranking architectures by their NTK at initialisation\n%s", flags.usage().c_str());
    return 0;
  }
  RunSummary summary("ntk_search", argc, argv);
  const FashionMnist data = load_fashion_mnist({.max_train = flags.integer("train-limit")});
  Settings s{.score_batch = flags.integer("batch"), .lr = flags.number("lr"),
             .seed = static_cast<std::uint64_t>(flags.integer("seed"))};
  std::printf("NTK scores of %td-image batches against test accuracy after one epoch of %td images, lr %g\n\n",
              s.score_batch, data.train.size(), s.lr);
  std::printf("%-22s %10s %12s %12s %8s %8s %8s\n", "candidate", "params", "NTK trace", "condition", "score s",
              "accuracy", "train s");
  std::vector<Candidate> all;
  for (double m : {0.125, 0.25, 0.5, 0.75, 1.0}) {
    Rng rng(s.seed);
    models::SmallCnn<float, Cpu> a({.width_multiplier = m}, rng);
    all.push_back(evaluate("small-cnn x" + format_number(m), a.net(), data, s, false));
    Rng rng2(s.seed);
    models::SmallCnn<float, Cpu, true> b({.width_multiplier = m}, rng2);
    all.push_back(evaluate("small-cnn-bn x" + format_number(m), b.net(), data, s, false));
  }
  for (int depth : {10, 16, 22})
    for (double k : {0.25, 0.5, 1.0}) {
      Rng rng(s.seed);
      models::WideResNet<float, Cpu> w({.depth = depth, .width_multiplier = k, .in_channels = 1, .classes = 10}, rng);
      all.push_back(evaluate("wrn-" + std::to_string(depth) + "-" + format_number(k), w.net(), data, s, false));
    }
  for (Index h : {64, 256, 1024}) {
    Rng rng(s.seed);
    models::Mlp<float, Cpu> mlp({.hidden1 = h, .hidden2 = h}, rng);
    all.push_back(evaluate("mlp-" + std::to_string(h), mlp.net(), data, s, true));
  }
  std::vector<double> accuracy, trace, neg_log_condition, params;
  double score_seconds = 0, train_seconds = 0;
  for (const auto& c : all) {
    accuracy.push_back(c.accuracy), trace.push_back(c.trace), params.push_back(c.parameters);
    neg_log_condition.push_back(-std::log(c.condition));
    score_seconds += c.score_seconds, train_seconds += c.train_seconds;
  }
  const double tau_trace = kendall_tau(trace, accuracy), tau_condition = kendall_tau(neg_log_condition, accuracy),
               tau_params = kendall_tau(params, accuracy);
  std::printf("\nKendall tau with test accuracy over %zu candidates: NTK trace %+.3f, -log condition number %+.3f "
              "(parameter count, for reference: %+.3f)\n",
              all.size(), tau_trace, tau_condition, tau_params);
  std::printf("cost: scoring every candidate %.1f s, training them one epoch %.1f s (scoring / training = %.2f)\n", score_seconds,
              train_seconds, score_seconds / train_seconds);
  RunSummary::Json rows = RunSummary::Json::array();
  for (const auto& c : all)
    rows.push_back({{"name", c.name}, {"parameters", c.parameters}, {"ntk_trace", c.trace}, {"ntk_condition", c.condition},
                    {"score_seconds", c.score_seconds}, {"test_accuracy", c.accuracy}, {"train_seconds", c.train_seconds}});
  summary["candidates"] = rows;
  summary["kendall_tau"] = {{"ntk_trace", tau_trace}, {"neg_log_condition", tau_condition}, {"parameters", tau_params}};
  summary["seconds"] = {{"scoring", score_seconds}, {"training", train_seconds}};
  const std::string path = flags.str("out") + "_summary.json";
  summary.write(path);
  std::printf("summary written to %s\n", path.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ntk_search: %s\n", e.what());
  return 1;
}
