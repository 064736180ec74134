// examples/fashion_mnist: growing a convolutional network on Fashion-MNIST, the GradMax paper's
// Table 1 protocol transposed to a data set a 2-core machine can train on.
//
// Networks (--model, builders in netgrow/models):
//   small      conv(3x3, c1) -> Relu1 -> conv(3x3, c2) -> Relu1 -> max-pool 2 -> Flatten -> Dense(f1) ->
//              Relu1 -> Dense(10), the classic PyTorch MNIST network; target widths (32, 64, 128)
//   small-bn   the same with a BatchNorm after each convolution
//   mlp        Dense(h) -> Relu1 -> Dense(h) -> Relu1 -> Dense(10) on the flattened images, h = --mlp-hidden
//              (default 1024); both hidden widths grow
//   wrn        Wide-ResNet-d-k (--wrn-depth, --wrn-k) on the 28x28 images; the inner widths of its
//              blocks grow, as in the reference (a GPU-sized run: slow on 2 cores)
// Methods, all trained for the same number of steps (SGD with Nesterov momentum 0.9, cosine learning
// rate, batch 128):
//   Baseline-Small   the seed widths (target x --seed-fraction, default 0.25) throughout
//   Baseline-Big     the target widths throughout
//   Random, FireflyOpt, GradMax (and, on request, GradMax-Sign and GradMax-Pairs (mlp only: dense pairs;
//                    see grow::GradMaxSign), Random-Ref: Random with the reference code's U[0,1)
//   directions, GradMaxOpt, Split, and Inverse = InverseGradMaxOpt,
//                    for models whose sites are all conv -> conv: wrn)
//                    start at the seed widths; every --interval steps from --start, every growth site
//                    grows at once, reaching the target widths after --growths growths. Data-driven
//                    methods use a separate grow batch of 128 training images.
//   GradMax-Depth, Random-Depth, Zero-Depth   (wrn only) depth growth: start with one block per group at
//                    the target inner width (WRN-10) and append blocks to every group at the growth steps
//                    (grow::grow_depth with DepthGradMax, DepthRandom or DepthZero) until each group has
//                    the target depth's blocks; the new blocks start with a zero-output branch.
//   GradMax-Auto     GradMax neurons, but how many and where decides grow::GradMaxTrigger: at the same
//                    steps it measures every site (top singular values of M against the existing
//                    neurons' mean gradient norm, threshold --auto-threshold) and adds up to the
//                    plan's per-growth count per site, within the target widths and --auto-budget (1)
//                    x Baseline-Big's parameter count.
//   NTK-Auto         GradMax-Auto with the neural tangent kernel as the controller's signal
//                    (models::measure_ntk on the first --ntk-samples (32) images of the grow batch): a site
//                    gains neurons where a new one would add more to the NTK's trace than --auto-threshold
//                    x its existing neurons' share (no labels read), still initialised by GradMax.
//   VT, VT+LRA       variance transfer (grow::VarianceTransfer: cancelling random pairs, the consumer
//                    rescaled to its new fan-in where a BatchNorm follows it) on the same schedule as
//                    Random and GradMax; +LRA adds the per-stage learning rates (grow::StageLearningRates,
//                    recomputed at each growth and every --lra-every steps)
//   VT-RMS           VT with the new weights at the existing weights' scale (VarianceTransfer::Scale::
//                    existing_rms) instead of the fan-in rule's; diverges on the plain small CNN
//   VT-Paper         VT+LRA on the paper's schedule: every site grows by 20% of its width (rounded to
//                    even) from the seed until its target (models::plan_geometric_growth), at steps
//                    whose intervals lengthen by 25% from 8% of training (grow::lengthening_steps)
//   LEMON            trains the seed widths until the step at which the scheduled methods reach the
//                    target, expands every site there in one step without changing the function
//                    (grow::Lemon, models::expand_all_sites), and trains on with LEMON's schedule: a
//                    cosine from the same maximum learning rate over the remaining steps
//   LEMON-Depth      (wrn only) the target widths at about half the target depth (two blocks per group
//                    or more), expanded to the target depth at the same step by zero-output copies of
//                    the identity blocks (grow::expand_depth, interpolation order), then LEMON's schedule
// Prints test accuracy per method (mean and 80% interval over --seeds), training FLOPs relative to
// Baseline-Big and wall-clock time, with a progress line during training (--progress). A run whose loss
// or weights become non-finite stops there and is reported as DIVERGED (accuracy NaN, "diverged" in the
// summary); the other methods and seeds still run, and a method's table row aggregates its finished seeds
// ("(1/2 diverged)" after the accuracy). Writes, with
// the prefix --out (default ./fashion_mnist):
//   <out>_curves.csv      loss, accuracy, parameters, FLOPs and widths per logged step, method and seed
//   <out>_summary.json    the settings and every result (per seed and aggregated)
//   <out>_curves.png/.gp  training loss and parameter count over steps per method (with gnuplot)
//   <out>_accuracy.png/.gp  final test accuracy per method (with gnuplot)
// --lemon-at F moves LEMON's one expansion to fraction F of training (default: the scheduled methods' last
// growth step); --lemon-lr R starts its restarted cosine at R x the base learning rate (default 1).
// --first-seed F runs seeds F, F + 1, ... (default 0): fresh seeds for confirming a choice made on others. With --eval-every N (steps) every run also measures its test accuracy every N steps (evaluation time left
// out of the seconds), and the report says when each method first reaches Baseline-Big's final test
// accuracy (mean over seeds), in training FLOPs and seconds relative to Baseline-Big's whole run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../common/evaluate.hpp"
#include "../common/plot.hpp"
#include "../common/summary.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/ntk_measure.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/io/growth_history.hpp"
#include "netgrow/netgrow.hpp"
#include "netgrow/train/csv.hpp"
#include "netgrow/train/progress.hpp"
#include "netgrow/train/run_summary.hpp"

using namespace netgrow;

namespace {

// Site widths as text, "8/16/32".
template <class Model>
std::string widths_of(Model& model) {
  std::string w;
  model.for_each_site([&](auto& site) {
    if (!w.empty()) w += '/';
    w += std::to_string(site.width());
  });
  return w;
}

template <class Model, class ModelConfig>
struct Config {
  ModelConfig seed, target;
  std::optional<ModelConfig> shallow;  // depth methods' start: the target widths at the smallest depth
  std::optional<ModelConfig> half_depth;  // LEMON-Depth's start: the target widths, two blocks per group or more
  std::int64_t steps, start, interval, growths;
  double lr;
  Index batch = 128;
  double lemon_at = 0;  // > 0: LEMON expands at this fraction of training (--lemon-at), else at the last growth step
  double auto_budget = 1;  // GradMax-Auto, NTK-Auto: parameter cap as a fraction of Baseline-Big's (--auto-budget)
  double lemon_lr = 1;  // LEMON's restarted cosine starts at lemon_lr x the base rate (--lemon-lr)
};

struct CurvePoint {
  std::int64_t step;
  double loss, accuracy, flops;
  Index params;
  std::string widths;
};

// Test accuracy during training (--eval-every): the yardstick of "first reaches Baseline-Big's final accuracy".
struct TestPoint {
  std::int64_t step;
  double accuracy, flops, seconds;  // training FLOPs and seconds (evaluations excluded) up to the step
};

struct Run {
  nlohmann::json decisions;  // GradMax-Auto: the controller's log
  std::vector<TestPoint> test_curve;
  double test_accuracy = 0, test_loss = 0, train_flops = 0, seconds = 0, growth_seconds = 0;
  std::string final_widths;
  std::vector<CurvePoint> curve;
  std::string diverged;  // non-empty: training stopped at a non-finite loss or weight (what and where)
};

// Growth number g of the plan at every site of the model.
template <class Model>
using GrowAll = std::function<void(Model&, const models::GrowthPlan&, int, Rng&, const std::function<void()>&)>;

template <class Model, class Init>
GrowAll<Model> grow_all(Init init, grow::PairDataOptions options = {}) {
  return [init, options](Model& model, const models::GrowthPlan& plan, int g, Rng& rng,
                         const std::function<void()>& refresh) {
    models::grow_all_sites(model, plan, g, init, rng, refresh, options);
  };
}

// When a growing method grows: the fixed schedule of every method, the variance-transfer paper's
// geometric widths at lengthening intervals, or once (LEMON's expansion, then its learning-rate schedule).
enum class When { schedule, geometric, once };

template <class Model>
struct Method {
  std::string name;
  bool grows;
  bool big;
  GrowAll<Model> grow;
  bool automatic = false;  // GradMax-Auto: the controller decides k per site
  bool depth = false;      // starts from Config::shallow and grows blocks (grow ignores the width plan)
  When when = When::schedule;
  bool stage_lr = false;   // per-stage learning rates (grow::StageLearningRates)
  bool half_depth = false; // LEMON-Depth: starts from Config::half_depth (target widths, fewer blocks)
  bool ntk_signal = false; // NTK-Auto: the controller reads the NTK's measures (models/ntk_measure.hpp)
};

// GradMax-Auto's and NTK-Auto's growth step: measure every site on the grow batch (GradMax's M, or the
// NTK's K on its first --ntk-samples images), let the controller decide, grow GradMax neurons.
template <class Model>
void grow_automatically(Model& model, const models::GrowthPlan& plan, int g, grow::GradMaxTrigger& trigger,
                        std::int64_t step, double max_parameters, Rng& rng, const std::function<void()>& refresh,
                        const Tensor<float>* ntk_batch) {
  std::vector<grow::SiteMeasure> measures;
  std::size_t i = 0;
  if (ntk_batch) {
    std::vector<Index> probe;
    for (std::size_t s = 0; s < plan.sites(); ++s) probe.push_back(plan.neurons(s, g));
    measures = models::measure_ntk(model, ntk_batch->cview(), probe);
  } else {
    model.for_each_site([&](auto& site) { measures.push_back(site.measure(plan.neurons(i++, g), refresh)); });
  }
  const auto decisions = trigger.decide(
      step, measures, {.parameters = static_cast<double>(model.net().parameter_count()), .max_parameters = max_parameters});
  i = 0;
  model.for_each_site([&](auto& site) {
    const Index k = decisions[i++].k;
    if (k > 0) site.grow(k, grow::GradMax{.norm = grow::NormRule::mean_norm(0.5)}, rng, refresh);
  });
}

// Blocks per group after growth g of `growths` (0: the seed), from `seed` to `target` evenly.
Index blocks_after(Index seed, Index target, std::int64_t g, std::int64_t growths) {
  return seed + (target - seed) * g / growths;
}

// Depth growth g for a WideResNet: every group gets the blocks it is due, appended at its end, each
// from a fresh forward/backward of the grow batch (refresh) at its insertion point.
template <class Model, class Init>
GrowAll<Model> grow_depth_all(Init init, Index seed_blocks, Index target_blocks, std::int64_t growths) {
  return [=](Model& model, const models::GrowthPlan&, int g, Rng& rng, const std::function<void()>& refresh) {
    const Index add = blocks_after(seed_blocks, target_blocks, g + 1, growths) -
                      blocks_after(seed_blocks, target_blocks, g, growths);
    for (Index b = 0; b < add; ++b) {
      if constexpr (Init::needs_data) refresh();
      auto grow_group = [&](auto& stack) {
        const std::size_t end = stack.size();
        if constexpr (Init::needs_data)
          grow::grow_depth(stack, end, init, rng, grow::depth_data_from_last_backward(stack, end));
        else
          grow::grow_depth(stack, end, init, rng);
      };
      grow_group(model.net().template layer<1>());
      grow_group(model.net().template layer<2>());
      grow_group(model.net().template layer<3>());
    }
  };
}

// The step at which the scheduled methods reach their target (their last growth): LEMON expands there.
template <class Model, class ModelConfig>
std::int64_t last_growth_step(const Config<Model, ModelConfig>& c) {
  if (c.lemon_at > 0) return static_cast<std::int64_t>(c.lemon_at * static_cast<double>(c.steps));
  return c.start + (c.growths - 1) * c.interval;
}

template <class Model, class ModelConfig>
Run train(const FashionMnist& data, const Config<Model, ModelConfig>& c, const Method<Model>& m, std::uint64_t seed,
          int log_every, ProgressOptions progress_options, double auto_threshold, std::int64_t lra_every,
          std::int64_t eval_every, Index ntk_samples) {
  Rng rng(seed);
  Model model(m.depth ? *c.shallow : m.half_depth ? *c.half_depth : m.big ? c.target : c.seed, rng);
  auto& net = model.net();
  Sgd sgd(CosineLr{.base = c.lr, .total_steps = c.steps}, {.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  grow::StageLearningRates stages;
  if (m.stage_lr) stages.start(net);
  BatchSampler sampler(data.train.size(), c.batch, Rng(seed + 1));
  BatchSampler grow_sampler(data.train.size(), c.batch, Rng(seed + 2));
  Tensor<float> x, gx, grad, ggrad, ntk_batch;
  Tensor<std::int32_t> y, gy;
  // Forward, loss and backward on the grow batch (what data-driven growth reads).
  const std::function<void()> refresh = [&] {
    const auto logits = net.forward(gx);
    ggrad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, gy, ggrad);
    net.backward(ggrad);
  };
  grow::GrowthSchedule schedule(c.interval, c.start, c.growths);
  models::GrowthPlan plan;
  double parameter_cap = 0;
  if (m.grows && !m.depth && !m.half_depth) {
    Rng unused(0);
    Model target(c.target, unused);
    if (m.when == When::geometric) {
      plan = models::plan_geometric_growth(model, target, 0.2);
      schedule = grow::GrowthSchedule::at_steps(
          grow::lengthening_steps(std::max<std::int64_t>(1, c.steps * 8 / 100), 0.25, plan.growths));
    } else {
      plan = models::plan_growth(model, target, m.when == When::once ? 1 : static_cast<int>(c.growths));
    }
    parameter_cap = c.auto_budget * static_cast<double>(target.net().parameter_count());
  }
  if (m.when == When::once) schedule = grow::GrowthSchedule::at_steps({last_growth_step(c)});
  grow::GradMaxTrigger trigger({.check_every = c.interval, .start = c.start, .max_width = plan.target}, auto_threshold);

  Run run;
  double loss_avg = 0, acc_avg = 0;
  Index parameters = net.parameter_count();
  std::string widths = widths_of(model);
  progress_options.samples_per_step = c.batch;
  ProgressLine progress(c.steps, progress_options);
  const auto start = std::chrono::steady_clock::now();
  double eval_seconds = 0;  // spent on --eval-every evaluations, left out of run.seconds
  for (std::int64_t step = 0; step < c.steps; ++step) {
    if (m.grows && schedule.due(step)) {
      if (const auto where = net.find_non_finite()) {  // growth would read the broken weights
        run.diverged = "non-finite " + *where + " before the growth at step " + std::to_string(step);
        break;
      }
      const auto g0 = std::chrono::steady_clock::now();
      const auto idx = grow_sampler.next();
      gather_rows(data.train.images, idx, gx);
      gather_rows(data.train.labels, idx, gy);
      if (m.automatic) {
        if (m.ntk_signal) ntk_batch.copy_from(gx.cview().rows(0, std::min(ntk_samples, gx.dim(0))));
        grow_automatically(model, plan, static_cast<int>(schedule.growths()), trigger, step, parameter_cap, rng,
                           refresh, m.ntk_signal ? &ntk_batch : nullptr);
      }
      else
        m.grow(model, plan, static_cast<int>(schedule.growths()), rng, refresh);
      schedule.record_growth();
      if (m.stage_lr) stages.begin_stage(net);
      if (m.when == When::once) {  // LEMON: the same maximum rate (x --lemon-lr), a cosine over the remaining steps
        const CosineLr rest{.base = c.lr * c.lemon_lr, .total_steps = c.steps - step};
        sgd.set_schedule([rest, step](std::int64_t t) { return rest(t - step); });
      }
      run.growth_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
      parameters = net.parameter_count();
      widths = widths_of(model);
      progress.message(progress_options.label + ": step " + std::to_string(step) + ", grew to widths " + widths);
    }
    const auto idx = sampler.next();
    gather_rows(data.train.images, idx, x);
    gather_rows(data.train.labels, idx, y);
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    const auto r = SoftmaxCrossEntropy{}(logits, y, grad);
    if (!std::isfinite(r.loss)) {  // recorded as the method's result; the other methods still run
      const auto where = net.find_non_finite();
      run.diverged = "loss " + std::to_string(r.loss) + " at step " + std::to_string(step) + (where ? " (" + *where + ")" : "");
      break;
    }
    net.backward(grad);
    if (m.stage_lr && step > 0 && step % lra_every == 0) stages.update(net);
    sgd.step(net);
    run.train_flops += training_step_flops(net, x.shape());
    loss_avg = step == 0 ? r.loss : 0.98 * loss_avg + 0.02 * r.loss;
    acc_avg = step == 0 ? r.accuracy() : 0.98 * acc_avg + 0.02 * r.accuracy();
    if ((step + 1) % log_every == 0 || step + 1 == c.steps)
      run.curve.push_back({step + 1, loss_avg, acc_avg, run.train_flops, parameters, widths});
    if (eval_every > 0 && ((step + 1) % eval_every == 0 || step + 1 == c.steps)) {
      const auto e0 = std::chrono::steady_clock::now();
      const double accuracy = examples::evaluate(net, data.test).accuracy();
      const double train_seconds = std::chrono::duration<double>(e0 - start).count() - eval_seconds;
      eval_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
      run.test_curve.push_back({step + 1, accuracy, run.train_flops, train_seconds});
    }
    progress.update(step + 1, {.loss = loss_avg, .accuracy = acc_avg, .parameters = parameters, .width = widths});
  }
  progress.finish();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - eval_seconds;
  run.final_widths = widths_of(model);
  if (!run.diverged.empty()) {
    run.test_accuracy = run.test_loss = std::numeric_limits<double>::quiet_NaN();
    return run;
  }
  const auto test = examples::evaluate(net, data.test);
  run.test_accuracy = test.accuracy();
  run.test_loss = test.loss;
  if (m.automatic) run.decisions = io::to_json(trigger.log());
  return run;
}

// Runs every method on one model type and prints the table; returns the process exit code.
template <class Model, class ModelConfig>
int run_experiment(const examples::Flags& flags, const FashionMnist& data, const ModelConfig& seed_config,
                   const ModelConfig& target_config, const std::string& description, RunSummary& summary,
                   std::optional<ModelConfig> shallow_config = std::nullopt,
                   std::optional<ModelConfig> half_depth_config = std::nullopt) {
  Config<Model, ModelConfig> c;
  c.seed = seed_config;
  c.target = target_config;
  c.shallow = shallow_config;
  c.half_depth = half_depth_config;
  const std::int64_t steps_per_epoch = data.train.size() / c.batch;
  c.steps = static_cast<std::int64_t>(flags.number("epochs") * static_cast<double>(steps_per_epoch));
  c.growths = flags.integer("growths");
  // Default schedule: grow during the first half of training, evenly spaced, the first growth after
  // 1/8 of it (the reference grows from step 10000 of 78000, every 2500, 12 times).
  c.interval = flags.integer("interval") > 0 ? flags.integer("interval") : std::max<std::int64_t>(1, c.steps / (2 * (c.growths + 1)));
  c.start = flags.integer("start") > 0 ? flags.integer("start") : c.interval;
  c.lr = flags.number("lr");
  c.lemon_at = flags.number("lemon-at");
  c.auto_budget = flags.number("auto-budget");
  require(c.auto_budget > 0, "--auto-budget must be positive, got ", c.auto_budget);
  c.lemon_lr = flags.number("lemon-lr");
  require(c.lemon_lr > 0, "--lemon-lr must be positive, got ", c.lemon_lr);
  require(c.steps > 0 && c.growths >= 1, "--epochs and --growths must be positive");
  require(c.lemon_at >= 0 && c.lemon_at < 1, "--lemon-at must be a fraction of training in [0, 1), got ", c.lemon_at);

  const auto norm = grow::NormRule::mean_norm(0.5);  // the reference's CIFAR setting
  std::vector<Method<Model>> all = {
      {"Baseline-Small", false, false, {}},
      {"Baseline-Big", false, true, {}},
      {"Random", true, false, grow_all<Model>(grow::Random{.norm = norm})},
      {"Random-Ref", true, false, grow_all<Model>(grow::Random::reference(norm))},
      {"FireflyOpt", true, false, grow_all<Model>(grow::FireflyOpt{.norm = norm, .epsilon = 0.01, .steps = 30})},
      {"GradMax", true, false, grow_all<Model>(grow::GradMax{.norm = norm})},
      {"GradMax-Sign", true, false,
       grow_all<Model>(grow::GradMax{.norm = norm, .sign = grow::GradMaxSign::loss_decrease})},
      {"GradMax-Pairs", true, false, grow_all<Model>(grow::GradMax{.norm = norm, .sign = grow::GradMaxSign::pairs})},
      {"GradMaxOpt", true, false, grow_all<Model>(grow::GradMaxOpt{.norm = norm})},
      {"Split", true, false, grow_all<Model>(grow::Split{.noise = 0.01})},
      {"Inverse", true, false, grow_all<Model>(grow::InverseGradMaxOpt{.norm = norm}, {.rows = true})},
      {"GradMax-Auto", true, false, {}, true},
      {"NTK-Auto", true, false, {}, true, false, When::schedule, false, false, true},
      {"VT", true, false, grow_all<Model>(grow::VarianceTransfer{})},
      {"VT+LRA", true, false, grow_all<Model>(grow::VarianceTransfer{}), false, false, When::schedule, true},
      {"VT-RMS", true, false,
       grow_all<Model>(grow::VarianceTransfer{.scale = grow::VarianceTransfer::Scale::existing_rms})},
      {"VT-Paper", true, false, grow_all<Model>(grow::VarianceTransfer{}), false, false, When::geometric, true},
      {"LEMON", true, false, grow_all<Model>(grow::Lemon{}), false, false, When::once},
  };
  if constexpr (requires(Model& model) { model.net().template layer<1>().size(); }) {  // WideResNet's stacks
    if (c.shallow) {
      const Index seed_blocks = (c.shallow->depth - 4) / 6, target_blocks = (c.target.depth - 4) / 6;
      require(target_blocks > seed_blocks, "depth methods: --wrn-depth must exceed ", c.shallow->depth);
      all.push_back({"GradMax-Depth", true, false,
                     grow_depth_all<Model>(grow::DepthGradMax{.norm = norm}, seed_blocks, target_blocks, c.growths), false,
                     true});
      all.push_back({"Random-Depth", true, false,
                     grow_depth_all<Model>(grow::DepthRandom{.norm = norm}, seed_blocks, target_blocks, c.growths), false,
                     true});
      all.push_back({"Zero-Depth", true, false,
                     grow_depth_all<Model>(grow::DepthZero{}, seed_blocks, target_blocks, c.growths), false, true});
    }
    if (c.half_depth) {
      const std::size_t target_blocks = static_cast<std::size_t>((c.target.depth - 4) / 6);
      GrowAll<Model> expand = [target_blocks](Model& model, const models::GrowthPlan&, int, Rng&,
                                              const std::function<void()>&) {
        grow::expand_depth(model.net().template layer<1>(), target_blocks);
        grow::expand_depth(model.net().template layer<2>(), target_blocks);
        grow::expand_depth(model.net().template layer<3>(), target_blocks);
      };
      all.push_back({"LEMON-Depth", true, false, expand, false, false, When::once, false, true});
    }
  }
  std::vector<Method<Model>> methods;
  std::stringstream list(flags.str("methods"));
  for (std::string name; std::getline(list, name, ',');) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Method<Model>& m) { return m.name == name; });
    require(it != all.end(), "--methods: unknown method '", name, "'");
    methods.push_back(*it);
  }
  const int seeds = static_cast<int>(flags.integer("seeds"));
  Rng unused(0);
  Model seed_model(c.seed, unused), target_model(c.target, unused);
  std::printf("netgrow Fashion-MNIST: %td training / %td test images, %s, site widths %s -> %s, %lld steps of batch "
              "%td (%.1f epochs), SGD Nesterov 0.9, cosine lr %g, %d seed(s)\n",
              data.train.size(), data.test.size(), description.c_str(), widths_of(seed_model).c_str(),
              widths_of(target_model).c_str(), static_cast<long long>(c.steps), c.batch, flags.number("epochs"), c.lr,
              seeds);
  std::printf("growing methods: all sites grow at steps %lld, %lld, ... (%lld growths)\n\n",
              static_cast<long long>(c.start), static_cast<long long>(c.start + c.interval),
              static_cast<long long>(c.growths));

  std::map<std::string, std::vector<Run>> runs;
  const ProgressStyle style = parse_progress_style(flags.str("progress"));
  for (const auto& m : methods)
    for (int s = 0; s < seeds; ++s) {
      const ProgressOptions progress{.label = m.name + " seed " + std::to_string(s), .style = style};
      runs[m.name].push_back(
          train(data, c, m, 2000 + static_cast<std::uint64_t>(flags.integer("first-seed") + s), std::max<int>(1, c.steps / 100), progress,
                flags.number("auto-threshold"), std::max<std::int64_t>(1, flags.integer("lra-every")),
                flags.integer("eval-every"), std::max<Index>(1, flags.integer("ntk-samples"))));
      const Run& r = runs[m.name].back();
      if (r.diverged.empty())
        std::printf("  %-15s seed %d: test accuracy %.4f, %.1f s\n", m.name.c_str(), s, r.test_accuracy, r.seconds);
      else
        std::printf("  %-15s seed %d: DIVERGED, %s\n", m.name.c_str(), s, r.diverged.c_str());
      std::fflush(stdout);
    }

  double big_flops = 0;
  if (runs.count("Baseline-Big"))  // the first finished seed (a diverged run stopped early)
    for (const auto& r : runs["Baseline-Big"])
      if (r.diverged.empty()) {
        big_flops = r.train_flops;
        break;
      }
  std::printf("\n%-15s %-28s %-12s %-18s %-10s %s\n", "method", "test accuracy (80% CI)", "test loss",
              "train FLOPs vs Big", "seconds", "final widths");
  RunSummary::Json results;
  examples::Points accuracy_points{.title = "Fashion-MNIST, " + description +
                                            ": test accuracy (mean, 80% interval over " + std::to_string(seeds) +
                                            " seed(s))",
                                   .ylabel = "test accuracy"};
  for (const auto& m : methods) {
    // Per-seed lists keep every seed (NaN where a run diverged); the aggregates are over finished seeds.
    std::vector<double> acc, finished_acc, losses, seconds, flops_per_seed;
    std::vector<std::string> widths;
    double loss = 0, flops = 0, secs = 0;
    std::string last_widths;
    for (const auto& r : runs[m.name]) {
      acc.push_back(r.test_accuracy), losses.push_back(r.test_loss), seconds.push_back(r.seconds);
      flops_per_seed.push_back(r.train_flops), widths.push_back(r.final_widths);
      if (!r.diverged.empty()) continue;
      finished_acc.push_back(r.test_accuracy), loss += r.test_loss, flops += r.train_flops, secs += r.seconds;
      last_widths = r.final_widths;
    }
    const std::size_t finished = finished_acc.size(), diverged_seeds = runs[m.name].size() - finished;
    const double n = static_cast<double>(finished);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    char flops_text[32] = "n/a";
    if (big_flops > 0 && finished > 0) std::snprintf(flops_text, sizeof flops_text, "%.2f", flops / n / big_flops);
    const auto interval = finished > 0 ? examples::interval_80(finished_acc) : examples::Interval{nan, nan, nan};
    std::string accuracy_text = finished > 0 ? examples::format_interval(interval) : "DIVERGED";
    if (finished > 0 && diverged_seeds > 0)
      accuracy_text += " (" + std::to_string(diverged_seeds) + "/" + std::to_string(runs[m.name].size()) + " diverged)";
    std::printf("%-15s %-28s %-12.4f %-18s %-10.1f %s\n", m.name.c_str(), accuracy_text.c_str(),
                finished > 0 ? loss / n : nan, flops_text, finished > 0 ? secs / n : nan,
                finished > 0 ? last_widths.c_str() : runs[m.name][0].final_widths.c_str());
    results[m.name] = {
        {"test_accuracy", acc},
        {"test_accuracy_mean", interval.mean},
        {"test_accuracy_ci80", {interval.low, interval.high}},
        {"test_loss", losses},
        {"train_flops", flops_per_seed},
        {"train_flops_vs_big",
         big_flops > 0 && finished > 0 ? RunSummary::Json(flops / n / big_flops) : RunSummary::Json()},
        {"seeds_diverged", diverged_seeds},
        {"seconds", seconds},
        {"final_widths", widths}};
    if (m.automatic) results[m.name]["controller_decisions_seed0"] = runs[m.name][0].decisions;
    std::vector<std::string> diverged;
    for (const auto& r : runs[m.name]) diverged.push_back(r.diverged);
    results[m.name]["diverged"] = diverged;  // per seed; empty where training finished
    std::vector<double> growth_seconds;
    for (const auto& r : runs[m.name]) growth_seconds.push_back(r.growth_seconds);
    results[m.name]["growth_seconds"] = growth_seconds;  // per seed: measuring and growing, inside "seconds"
    accuracy_points.labels.push_back(m.name);
    accuracy_points.values.push_back(interval.mean);
    accuracy_points.low.push_back(interval.low);
    accuracy_points.high.push_back(interval.high);
  }

  // Baseline-Big's final test accuracy (mean over seeds) as the yardstick: when each method's test curve
  // first reaches it, in training FLOPs and seconds relative to Baseline-Big's whole run (--eval-every).
  if (flags.integer("eval-every") > 0 && runs.count("Baseline-Big")) {
    double big_accuracy = 0, big_seconds = 0, big_finished = 0;  // over Baseline-Big's finished seeds
    for (const auto& r : runs["Baseline-Big"])
      if (r.diverged.empty()) big_accuracy += r.test_accuracy, big_seconds += r.seconds, big_finished += 1;
    big_accuracy /= big_finished;
    big_seconds /= big_finished;
    std::printf("\nfirst reaching Baseline-Big's final test accuracy %.4f (test set every %lld steps; FLOPs and "
                "seconds relative to Baseline-Big's whole run; per seed, '-' where never):\n",
                big_accuracy, static_cast<long long>(flags.integer("eval-every")));
    for (const auto& m : methods) {
      std::string flops_text, seconds_text;
      int reached = 0;
      std::vector<double> reach_flops, reach_seconds;
      for (const auto& r : runs[m.name]) {
        const auto hit = std::find_if(r.test_curve.begin(), r.test_curve.end(),
                                      [&](const TestPoint& p) { return p.accuracy >= big_accuracy; });
        if (hit == r.test_curve.end() || big_flops <= 0) {
          flops_text += " -", seconds_text += " -";
          reach_flops.push_back(std::numeric_limits<double>::quiet_NaN());
          reach_seconds.push_back(std::numeric_limits<double>::quiet_NaN());
          continue;
        }
        ++reached;
        char f[32], t[32];
        std::snprintf(f, sizeof f, " %.2f", hit->flops / big_flops);
        std::snprintf(t, sizeof t, " %.2f", hit->seconds / big_seconds);
        flops_text += f, seconds_text += t;
        reach_flops.push_back(hit->flops / big_flops);
        reach_seconds.push_back(hit->seconds / big_seconds);
      }
      std::printf("  %-15s reached in %d/%zu seeds; FLOPs%s; seconds%s\n", m.name.c_str(), reached,
                  runs[m.name].size(), flops_text.c_str(), seconds_text.c_str());
      results[m.name]["reach_big_accuracy_flops_vs_big"] = reach_flops;
      results[m.name]["reach_big_accuracy_seconds_vs_big"] = reach_seconds;
      std::vector<double> curve_steps, curve_accuracy;
      for (const auto& p : runs[m.name][0].test_curve) curve_steps.push_back(static_cast<double>(p.step)), curve_accuracy.push_back(p.accuracy);
      results[m.name]["test_curve_seed0"] = {{"step", curve_steps}, {"accuracy", curve_accuracy}};
    }
  }

  // Paired against Random (same seed: same seed network, same batches, same growth steps): the difference
  // of the final test accuracy and of the mean training loss over the growth phase (from the first growth
  // to one interval after the last), mean and 80% interval over the seeds where both finished.
  if (runs.count("Random") && seeds > 1) {
    const std::int64_t phase_end = c.start + c.growths * c.interval;
    const auto phase_loss = [&](const Run& r) {
      double sum = 0, count = 0;
      for (const auto& p : r.curve)
        if (p.step > c.start && p.step <= phase_end) sum += p.loss, count += 1;
      return count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
    };
    std::printf("\npaired against Random over seeds (method - Random; growth phase = steps %lld..%lld):\n",
                static_cast<long long>(c.start), static_cast<long long>(phase_end));
    for (const auto& m : methods) {
      if (m.name == "Random" || !m.grows || m.when != When::schedule || m.depth) continue;
      std::vector<double> d_accuracy, d_loss;
      for (int s = 0; s < seeds; ++s) {
        const Run &a = runs[m.name][static_cast<std::size_t>(s)], &b = runs["Random"][static_cast<std::size_t>(s)];
        if (!a.diverged.empty() || !b.diverged.empty()) continue;
        d_accuracy.push_back(a.test_accuracy - b.test_accuracy);
        d_loss.push_back(phase_loss(a) - phase_loss(b));
      }
      if (d_accuracy.size() < 2) continue;
      const auto acc_i = examples::interval_80(d_accuracy), loss_i = examples::interval_80(d_loss);
      int better = 0;
      for (double d : d_loss) better += d < 0;
      std::printf("  %-15s test accuracy %+.4f [%+.4f, %+.4f]   growth-phase training loss %+.4f [%+.4f, %+.4f]  "
                  "(lower loss in %d/%zu seeds)\n",
                  m.name.c_str(), acc_i.mean, acc_i.low, acc_i.high, loss_i.mean, loss_i.low, loss_i.high, better,
                  d_loss.size());
      results[m.name]["paired_vs_random"] = {{"test_accuracy_diff", d_accuracy}, {"growth_phase_loss_diff", d_loss}};
    }
  }

  const std::string out = flags.str("out");
  const std::string csv_path = out + "_curves.csv", json_path = out + "_summary.json";
  CsvWriter csv(csv_path,
                {"method", "seed", "step", "train_loss", "train_accuracy", "parameters", "train_flops", "site_widths"});
  for (const auto& m : methods)
    for (std::size_t s = 0; s < runs[m.name].size(); ++s)
      for (const auto& p : runs[m.name][s].curve)
        csv.row(m.name, s, p.step, p.loss, p.accuracy, p.params, p.flops, p.widths);
  csv.close();
  std::printf("\ncurves written to %s\n", csv_path.c_str());

  summary["config"] = {{"model", description},
                       {"seed_widths", widths_of(seed_model)},
                       {"target_widths", widths_of(target_model)},
                       {"train_images", data.train.size()},
                       {"test_images", data.test.size()},
                       {"steps", c.steps},
                       {"batch", c.batch},
                       {"epochs", flags.number("epochs")},
                       {"lr", c.lr},
                       {"growths", c.growths},
                       {"first_growth_step", c.start},
                       {"growth_interval", c.interval},
                       {"seeds", seeds},
                       {"methods", flags.str("methods")}};
  summary["results"] = results;
  summary["files"] = {{"curves_csv", csv_path}};

  if (flags.str("plots") != "off") {
    // Training loss and parameter count over steps, mean over seeds (every seed logs the same steps).
    examples::Panel loss_panel{.title = "training loss (moving average)", .xlabel = "step", .ylabel = "loss"};
    examples::Panel params_panel{
        .title = "parameters", .xlabel = "step", .ylabel = "parameters", .si_y = true, .key = "right center"};
    for (const auto& m : methods) {
      examples::Series loss_series{.name = m.name}, params_series{.name = m.name};
      const auto& first = runs[m.name][0].curve;
      for (std::size_t i = 0; i < first.size(); ++i) {
        double sum = 0;
        for (const auto& r : runs[m.name]) sum += r.curve[i].loss;
        loss_series.x.push_back(static_cast<double>(first[i].step));
        loss_series.y.push_back(sum / static_cast<double>(runs[m.name].size()));
        params_series.x.push_back(static_cast<double>(first[i].step));
        params_series.y.push_back(static_cast<double>(first[i].params));
      }
      loss_panel.series.push_back(std::move(loss_series));
      params_panel.series.push_back(std::move(params_series));
    }
    const auto curves_plot =
        examples::plot_panels(out + "_curves", "Fashion-MNIST, " + description, {loss_panel, params_panel});
    const auto accuracy_plot = examples::plot_points(out + "_accuracy", accuracy_points);
    examples::report_plot(curves_plot);
    examples::report_plot(accuracy_plot);
    summary["files"]["curves_plot_script"] = curves_plot.script;
    summary["files"]["accuracy_plot_script"] = accuracy_plot.script;
    if (!curves_plot.png.empty()) summary["files"]["curves_png"] = curves_plot.png;
    if (!accuracy_plot.png.empty()) summary["files"]["accuracy_png"] = accuracy_plot.png;
  }
  summary.write(json_path);
  std::printf("summary written to %s\n", json_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"model", "small"},
                         {"wrn-depth", "16"},
                         {"wrn-k", "1"},
                         {"mlp-hidden", "1024"},
                         {"epochs", "3"},
                         {"seeds", "1"},
                         {"lr", "0.05"},
                         {"seed-fraction", "0.25"},
                         {"growths", "4"},
                         {"start", "0"},
                         {"interval", "0"},
                         {"methods", "Baseline-Small,Baseline-Big,Random,FireflyOpt,GradMax,GradMax-Auto"},
                         {"auto-threshold", "1.0"},
                         {"ntk-samples", "32"},
                         {"auto-budget", "1"},
                         {"lra-every", "50"},
                         {"eval-every", "0"},
                         {"lemon-at", "0"},
                         {"lemon-lr", "1"},
                         {"first-seed", "0"},
                         {"data", ""},
                         {"train-limit", "0"},
                         {"progress", "auto"},
                         {"plots", "on"},
                         {"out", "fashion_mnist"}});
  if (flags.help()) {
    std::printf("fashion_mnist: growing a CNN on Fashion-MNIST with GradMax and its peers\n%s", flags.usage().c_str());
    return 0;
  }
  RunSummary summary("fashion_mnist", argc, argv);
  FashionMnist data = load_fashion_mnist({.directory = flags.str("data"), .max_train = flags.integer("train-limit")});
  const double fraction = flags.number("seed-fraction");
  require(fraction > 0 && fraction <= 1, "--seed-fraction must be in (0, 1]");
  const std::string model = flags.str("model");
  if (model == "small" || model == "small-bn") {
    models::SmallCnnConfig seed{.width_multiplier = fraction}, target{};
    if (model == "small")
      return run_experiment<models::SmallCnn<float, Cpu>>(flags, data, seed, target, "conv-conv-pool-fc-fc", summary);
    return run_experiment<models::SmallCnn<float, Cpu, true>>(flags, data, seed, target, "conv-BN-conv-BN-pool-fc-fc",
                                                              summary);
  }
  if (model == "wrn") {
    const models::WideResNetConfig seed{.depth = static_cast<int>(flags.integer("wrn-depth")),
                                        .width_multiplier = flags.number("wrn-k"),
                                        .block_width = fraction,
                                        .in_channels = 1,
                                        .classes = 10};
    models::WideResNetConfig target = seed;
    target.block_width = 1.0;
    std::optional<models::WideResNetConfig> shallow;  // the depth methods' start: one block per group
    if (target.depth > 10) {
      shallow = target;
      shallow->depth = 10;
    }
    // LEMON-Depth copies identity blocks: it starts at about half the target's blocks, at least two.
    std::optional<models::WideResNetConfig> half_depth;
    const int target_blocks = (target.depth - 4) / 6;
    if (target_blocks > 2) {
      half_depth = target;
      half_depth->depth = 6 * std::max(2, (target_blocks + 1) / 2) + 4;
    }
    return run_experiment<models::WideResNet<float, Cpu>>(
        flags, data, seed, target,
        "WRN-" + std::to_string(seed.depth) + "-" + flags.str("wrn-k") + " (inner block widths grow)", summary, shallow,
        half_depth);
  }
  if (model == "mlp") {  // the images flattened to 784 features
    for (LabeledImages* split : {&data.train, &data.test})
      split->images.reshape_within_capacity(Shape{split->size(), 784});
    const models::MlpConfig target{.hidden1 = flags.integer("mlp-hidden"), .hidden2 = flags.integer("mlp-hidden")};
    models::MlpConfig seed = target;
    seed.width_multiplier = fraction;
    return run_experiment<models::Mlp<float, Cpu>>(flags, data, seed, target,
                                                   "MLP 784-" + flags.str("mlp-hidden") + "-" + flags.str("mlp-hidden") + "-10",
                                                   summary);
  }
  throw Error("--model: unknown model '" + model + "' (small, small-bn, wrn, mlp)");
} catch (const std::exception& e) {
  std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
  return 1;
}
