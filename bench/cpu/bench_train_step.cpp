// bench/cpu/bench_train_step.cpp: one full training step (forward, loss, backward, optimizer update)
// of the networks the peer comparison (bench/compare/train_step_torch.py) also times:
//
//   mlp_784_1024_1024_10   Dense 784-1024-1024-10 with ReLU, batch 128, softmax cross-entropy,
//                          SGD with momentum 0.9
//   teacher_student_100_50_10   Dense 100-50-10 without bias, Relu1, full batch N = 1000, MSE, SGD
//
// Each benchmark first checks that a few steps reduce the loss (so a broken build cannot report a
// fast time), then times steps. Threads: OMP_NUM_THREADS (default: all cores).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <stdexcept>

#include "netgrow/netgrow.hpp"

using namespace netgrow;

namespace {

struct MlpStep {
  Rng rng{1};
  Sequential<float, Cpu, Dense, Relu, Dense, Relu, Dense> net{rng, Dense{.in = 784, .out = 1024}, Relu{},
                                                              Dense{.in = 1024, .out = 1024}, Relu{},
                                                              Dense{.in = 1024, .out = 10}};
  Sgd sgd{0.01, {.momentum = 0.9}};
  Tensor<float> x{128, 784};
  Tensor<std::int32_t> y{128};
  Tensor<float> grad;

  MlpStep() {
    fill_normal(x.view(), 0.0, 1.0, rng);
    for (Index i = 0; i < y.numel(); ++i) y[i] = static_cast<std::int32_t>(rng.uniform_int(10));
  }
  double step() {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    net.backward(grad);
    sgd.step(net);
    return loss;
  }
};

struct TeacherStudentStep {
  Rng rng{2};
  TeacherStudentTask<float> task = make_teacher_student<float>({.in = 100, .hidden = 50, .out = 10, .samples = 1000}, rng);
  Sequential<float, Cpu, Dense, Relu1, Dense> net{rng, Dense{.in = 100, .out = 50, .bias = false}, Relu1{},
                                                  Dense{.in = 50, .out = 10, .bias = false}};
  Sgd sgd{0.1};
  Tensor<float> grad;

  double step() {
    const auto pred = net.forward(task.x);
    grad.resize(pred.shape());
    const double loss = MseLoss{}(pred, task.y, grad);
    net.backward(grad);
    sgd.step(net);
    return loss;
  }
};

// Runs a few steps and throws unless the loss went down and stayed finite.
template <class Step>
void validate(Step& s, const char* name) {
  const double first = s.step();
  double last = first;
  for (int i = 0; i < 5; ++i) last = s.step();
  if (!(std::isfinite(last) && last < first))
    throw std::runtime_error(std::string(name) + ": loss did not decrease during validation");
}

template <class Step>
void run(benchmark::State& state, const char* name, Index samples_per_step) {
  Step s;
  validate(s, name);
  for (auto _ : state) benchmark::DoNotOptimize(s.step());
  state.SetItemsProcessed(state.iterations() * samples_per_step);
}

void mlp_784_1024_1024_10(benchmark::State& state) { run<MlpStep>(state, "mlp_784_1024_1024_10", 128); }
void teacher_student_100_50_10(benchmark::State& state) {
  run<TeacherStudentStep>(state, "teacher_student_100_50_10", 1000);
}

}  // namespace

BENCHMARK(mlp_784_1024_1024_10)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(teacher_student_100_50_10)->Unit(benchmark::kMillisecond)->MinTime(1.0);

BENCHMARK_MAIN();
