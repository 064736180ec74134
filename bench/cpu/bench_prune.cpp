// bench/cpu/bench_prune.cpp: the cost of sparsity in netgrow, on the small CNN of examples/prune_fashion
// (models::SmallCnn 32/64/128, Fashion-MNIST-shaped inputs, batch 128):
//
//   BM_step_dense / BM_step_masked   one training step (forward, loss, backward, SGD with momentum) of
//                                    the dense network and of the same network with masks at 10%
//                                    density: the mask's overhead (netgrow's kernels stay dense)
//   BM_score_<criterion>             one call of a pruning criterion (NTK-SAP: one draw, batch 128;
//                                    SynFlow: one round) on the network; a pruning at initialisation
//                                    costs rounds x this
//   BM_rigl_update                   one RigL update (drop 30%, regrow by gradient) over every weight
//
// Each benchmark validates its result once before timing. Threads: OMP_NUM_THREADS (default: all cores).
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>

#include "netgrow/models/small_cnn.hpp"
#include "netgrow/netgrow.hpp"

using namespace netgrow;

namespace {

using Model = models::SmallCnn<float, Cpu>;

struct CnnCase {
  Rng rng{1};
  Model model{{}, rng};
  Sgd sgd{0.01, {.momentum = 0.9}};
  Tensor<float> x{128, 1, 28, 28};
  Tensor<std::int32_t> y{128};
  Tensor<float> grad;

  explicit CnnCase(double density = 1.0) {
    fill_normal(x.view(), 0.0, 1.0, rng);
    for (Index i = 0; i < y.numel(); ++i) y[i] = static_cast<std::int32_t>(rng.uniform_int(10));
    if (density < 1) {
      prune::prune_at_init(model.net(), prune::RandomScore{}, context(), {.density = density});
      if (prune::density_report(model.net()).density() > density * 1.01) throw std::runtime_error("masking failed");
    }
  }
  prune::ScoreContext<float> context() { return {.inputs = x.cview(), .labels = y.cview(), .rng = &rng}; }
  double step() {
    const auto logits = model.net().forward(x);
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    model.net().backward(grad);
    sgd.step(model.net());
    return loss;
  }
};

void validate_step(CnnCase& c) {
  const double first = c.step();
  double last = first;
  for (int i = 0; i < 5; ++i) last = c.step();
  if (!(std::isfinite(last) && last < first)) throw std::runtime_error("training step: loss did not decrease");
}

void BM_step_dense(benchmark::State& state) {
  CnnCase c;
  validate_step(c);
  for (auto _ : state) benchmark::DoNotOptimize(c.step());
  state.SetItemsProcessed(state.iterations() * 128);
}

void BM_step_masked(benchmark::State& state) {
  CnnCase c(0.1);
  validate_step(c);
  for (auto _ : state) benchmark::DoNotOptimize(c.step());
  state.SetItemsProcessed(state.iterations() * 128);
}

template <class Criterion>
void score_benchmark(benchmark::State& state, const Criterion& criterion) {
  CnnCase c;
  const prune::Scores first = criterion.score(c.model.net(), c.context());
  if (first.size() != 4) throw std::runtime_error(std::string(Criterion::name) + ": expected 4 scored weights");
  for (auto _ : state) benchmark::DoNotOptimize(criterion.score(c.model.net(), c.context()));
}

void BM_score_snip(benchmark::State& state) { score_benchmark(state, prune::Snip{}); }
void BM_score_grasp(benchmark::State& state) { score_benchmark(state, prune::Grasp{}); }
void BM_score_synflow(benchmark::State& state) { score_benchmark(state, prune::SynFlow{}); }
void BM_score_ntk_sap(benchmark::State& state) { score_benchmark(state, prune::NtkSap{}); }

void BM_rigl_update(benchmark::State& state) {
  CnnCase c(0.1);
  c.step();
  prune::DynamicSparse rigl({.regrow = prune::Regrow::gradient, .fraction = 0.3, .every = 1, .end_step = 1 << 30});
  const Index before = prune::active_parameter_count(c.model.net());
  std::int64_t step = 1;
  rigl.update(c.model.net(), step++);
  if (prune::active_parameter_count(c.model.net()) != before) throw std::runtime_error("RigL changed the count");
  for (auto _ : state) benchmark::DoNotOptimize(rigl.update(c.model.net(), step++));
}

}  // namespace

BENCHMARK(BM_step_dense)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_step_masked)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_score_snip)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_score_grasp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_score_synflow)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_score_ntk_sap)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_rigl_update)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
