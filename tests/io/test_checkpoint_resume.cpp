// Tests io/checkpoint.hpp for resuming: training with a growth schedule for N steps straight, and
// training K steps, saving, building a fresh seed-width network and optimizer, loading and training
// the remaining N - K steps, give bit-for-bit the same losses, parameters, optimizer state, growth
// history, generators and batch order, for an MLP (Adam, cosine schedule, GradMax growth) and a
// small CNN with BatchNorm (SGD with Nesterov momentum and weight decay, step schedule, Random growth),
// stopping before, at and after growth steps.
#include <doctest/doctest.h>

#include "netgrow/io/checkpoint.hpp"

#include <memory>
#include <vector>

#include "io/io_support.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/network/loss.hpp"

using namespace netgrow;

namespace {

struct Data {
  Tensor<float> x;
  Tensor<std::int32_t> y;
};

// One training run: a model built at seed width, its optimizer, batches, growth schedule (a growth
// every 4 steps, twice) and records. Everything a resumed run needs is in state().
template <class Model, class Optimizer, class Init>
struct Run {
  Rng build_rng{100};
  Model model;
  Optimizer optimizer;
  BatchSampler sampler;
  Rng grow_rng{9};
  grow::GrowthSchedule schedule{4, 4, 2};
  io::GrowthHistory history;
  std::int64_t step = 0;
  std::vector<double> losses;
  const Data& data;
  const models::GrowthPlan& plan;
  Init init;
  bool stage_lr = false;  // per-stage learning rates (tagged from the start, updated every 3 steps)
  grow::StageLearningRates stages;
  Tensor<float> xb, grad;
  Tensor<std::int32_t> yb;

  template <class Config>
  Run(const Config& seed, Optimizer opt, const Data& d, const models::GrowthPlan& p, Init i, Index batch,
      bool with_stage_lr = false)
      : model(seed, build_rng),
        optimizer(std::move(opt)),
        sampler(d.x.dim(0), batch, Rng(5)),
        data(d),
        plan(p),
        init(i),
        stage_lr(with_stage_lr) {
    if (stage_lr) stages.start(model.net());  // a load replaces these tags with the checkpoint's
  }

  double refresh() {
    const auto logits = model.net().forward(xb);
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, yb, grad).loss;
    model.net().backward(grad);
    return loss;
  }

  void train_until(std::int64_t end) {
    while (step < end) {
      const auto idx = sampler.next();
      gather_rows(data.x, idx, xb);
      gather_rows(data.y, idx, yb);
      losses.push_back(refresh());
      optimizer.step(model.net());
      ++step;
      if (schedule.due(step)) {
        const auto reports = models::grow_all_sites(model, plan, static_cast<int>(schedule.growths()), init, grow_rng,
                                                    [this] { refresh(); });
        for (const auto& r : reports) history.record(step, r);
        schedule.record_growth();
        if (stage_lr) stages.begin_stage(model.net());
      } else if (stage_lr && step % 3 == 0) {
        stages.update(model.net());
      }
    }
  }

  io::TrainingState state() {
    io::TrainingState s;
    s.optimizer(optimizer).rng("grow", grow_rng).sampler("train", sampler).schedule("growth", schedule);
    s.counter("step", step).history(history);
    return s;
  }
};

// Trains `total` steps straight, and for each stop K: K steps, save, load into a fresh run, the rest.
template <class MakeRun>
void check_resume(MakeRun make, std::int64_t total, const std::vector<std::int64_t>& stops) {
  auto straight = make();
  straight->train_until(total);
  REQUIRE(straight->history.size() >= 2);  // it grew
  for (const std::int64_t stop : stops) {
    CAPTURE(stop);
    test::TempDir dir;
    auto first = make();
    first->train_until(stop);
    io::save_checkpoint(dir / "run.safetensors", first->model.net(), first->state());

    auto second = make();  // seed width, fresh optimizer, fresh generators
    io::load_checkpoint(dir / "run.safetensors", second->model.net(), second->state());
    CHECK(second->step == stop);
    CHECK(second->optimizer.steps() == stop);
    CHECK(test::snapshot(second->model.net()) == test::snapshot(first->model.net()));
    second->train_until(total);

    std::vector<double> losses = first->losses;
    losses.insert(losses.end(), second->losses.begin(), second->losses.end());
    CHECK(losses == straight->losses);
    CHECK(test::snapshot(second->model.net()) == test::snapshot(straight->model.net()));
    CHECK(second->model.net().describe() == straight->model.net().describe());
    CHECK(second->history == straight->history);
    CHECK(second->grow_rng == straight->grow_rng);
    CHECK(second->schedule.growths() == straight->schedule.growths());
    CHECK(second->sampler.state().order == straight->sampler.state().order);
    CHECK(second->sampler.state().position == straight->sampler.state().position);
  }
}

}  // namespace

TEST_CASE("resume: an MLP trained with Adam and GradMax growth continues bit for bit") {
  const models::MlpConfig seed{.in = 6, .hidden1 = 16, .hidden2 = 12, .out = 3, .width_multiplier = 0.25};
  models::MlpConfig full = seed;
  full.width_multiplier = 1;
  Rng a(0), b(0);
  models::Mlp<float, Cpu> seed_model(seed, a), target_model(full, b);
  const models::GrowthPlan plan = models::plan_growth(seed_model, target_model, 2);
  Rng data_rng(1);
  const Data data{test::normal_tensor<float>(Shape{40, 6}, data_rng), test::cyclic_labels(40, 3)};
  using R = Run<models::Mlp<float, Cpu>, Adam, grow::GradMax>;
  check_resume(
      [&] {
        return std::make_unique<R>(seed, Adam(CosineLr{.base = 0.02, .total_steps = 12}, {.weight_decay = 1e-4}), data,
                                   plan, grow::GradMax{}, 8);
      },
      12, {1, 4, 6, 9, 11});
}

namespace {

// The small CNN with BatchNorm at a quarter of 8/8/8 channels growing to full in two growths, on 24 random
// 8x8 images drawn from data_seed.
struct SmallCnnCase {
  models::SmallCnnConfig seed{.in_channels = 1, .image = 8, .c1 = 8, .c2 = 8, .fc = 8, .classes = 3,
                              .width_multiplier = 0.25};
  models::GrowthPlan plan;
  Data data;

  explicit SmallCnnCase(std::uint64_t data_seed) {
    models::SmallCnnConfig full = seed;
    full.width_multiplier = 1;
    Rng a(0), b(0);
    models::SmallCnn<float, Cpu, true> seed_model(seed, a), target_model(full, b);
    plan = models::plan_growth(seed_model, target_model, 2);
    Rng data_rng(data_seed);
    data = Data{test::normal_tensor<float>(Shape{24, 1, 8, 8}, data_rng), test::cyclic_labels(24, 3)};
  }
};

}  // namespace

TEST_CASE("resume: a small CNN with BatchNorm trained with SGD and Random growth continues bit for bit") {
  const SmallCnnCase c(2);
  using R = Run<models::SmallCnn<float, Cpu, true>, Sgd, grow::Random>;
  check_resume(
      [&] {
        return std::make_unique<R>(c.seed,
                                   Sgd(StepLr{.base = 0.05, .milestones = {6}, .gamma = 0.5},
                                       {.momentum = 0.9, .nesterov = true, .weight_decay = 1e-4}),
                                   c.data, c.plan, grow::Random{}, 6);
      },
      10, {3, 4, 7});
}

TEST_CASE("resume: variance transfer with per-stage learning rates continues bit for bit") {
  // The small CNN with BatchNorm: variance transfer rescales conv2 (a BatchNorm follows it), which changes
  // that BatchNorm's eps; stage tags, lr_scale and eps must all come back from the checkpoint.
  const SmallCnnCase c(3);
  using R = Run<models::SmallCnn<float, Cpu, true>, Sgd, grow::VarianceTransfer>;
  auto make = [&] {
    return std::make_unique<R>(c.seed, Sgd(0.05, {.momentum = 0.9}), c.data, c.plan, grow::VarianceTransfer{}, 6, true);
  };
  check_resume(make, 10, {3, 4, 7});
  auto run = make();
  run->train_until(10);
  CHECK(grow::current_stage(run->model.net()) == 2);
  CHECK(run->model.net().layer<4>().eps() < 1e-5);  // conv2's BatchNorm took the rescale
  CHECK_FALSE(run->model.net().layer<0>().weight().lr_scale.empty());
}
