// bench/cpu/bench_growth.cpp: the cost of a GradMax growth step on the CPU, next to a training step,
// for the MLP 784-1024-1024-10 (Relu1) growing 64 neurons in its first hidden layer at batch 512:
//
//   gradmax_marginal          growth at a training step: reuses that step's stored activations h and
//                             back-propagated dL/dz; top-64 SVD of dz^T h (without forming it)
//   gradmax_marginal_matrix   the same through the explicit matrix M = dz^T h (one GEMM) + top-64 SVD
//   gradmax_standalone        from a separate batch: forward, loss, backward down to z of layer 2,
//                             then the marginal work
//   grow_width_marginal       the marginal work plus the weight surgery (grow_width with GradMax), as
//                             a first growth that allocates the grown tensors
//   grow_width_reserved       the same after grow::reserve_width (memory reserved for the target width)
//   train_step_512            one training step of the same network at the same batch (reference)
//
// Each benchmark checks its result once before timing (directions orthonormal, network finite).
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "netgrow/netgrow.hpp"

using namespace netgrow;

namespace {

using Mlp = Sequential<float, Cpu, Dense, Relu1, Dense, Relu1, Dense>;
constexpr Index batch = 512, new_neurons = 64;

struct Setup {
  Rng rng{3};
  Mlp net{rng, Dense{.in = 784, .out = 1024}, Relu1{}, Dense{.in = 1024, .out = 1024}, Relu1{},
          Dense{.in = 1024, .out = 10}};
  Tensor<float> x{batch, 784};
  Tensor<std::int32_t> y{batch};
  Tensor<float> grad;

  Setup() {
    fill_normal(x.view(), 0.0, 1.0, rng);
    for (Index i = 0; i < batch; ++i) y[i] = static_cast<std::int32_t>(rng.uniform_int(10));
    forward_backward();
  }
  void forward_backward(BackwardOptions options = {}) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad, options);
  }
};

void check_directions(const grow::GradMaxDirections<float>& d) {
  const auto rows = matrix(d.rows);
  const float off = ((rows * rows.transpose()) - Eigen::MatrixXf::Identity(rows.rows(), rows.rows())).cwiseAbs().maxCoeff();
  if (!(off < 1e-3f) || d.singular_values.empty()) throw std::runtime_error("GradMax directions are not orthonormal");
}

void gradmax_marginal(benchmark::State& state) {
  Setup s;
  Rng rng(1);
  check_directions(grow::gradmax_directions(grow::data_from_last_backward<0, 2>(s.net), new_neurons, {}, rng));
  for (auto _ : state) {
    const auto data = grow::data_from_last_backward<0, 2>(s.net);
    benchmark::DoNotOptimize(grow::gradmax_directions(data, new_neurons, {}, rng));
  }
}

void gradmax_marginal_matrix(benchmark::State& state) {
  Setup s;
  Rng rng(1);
  auto directions = [&] {
    const auto batch_data = grow::data_from_last_backward<0, 2>(s.net);
    const auto data = grow::GrowthData<float>::from_matrix(batch_data.matrix().clone());
    return grow::gradmax_directions(data, new_neurons, {}, rng);
  };
  check_directions(directions());
  for (auto _ : state) benchmark::DoNotOptimize(directions());
}

void gradmax_standalone(benchmark::State& state) {
  Setup s;
  Rng rng(1);
  auto standalone = [&] {
    s.forward_backward({.down_to = 2});
    return grow::gradmax_directions(grow::data_from_last_backward<0, 2>(s.net), new_neurons, {}, rng);
  };
  check_directions(standalone());
  for (auto _ : state) benchmark::DoNotOptimize(standalone());
}

void grow_width_marginal(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    Setup s;
    Rng rng(1);
    state.ResumeTiming();
    const auto data = grow::data_from_last_backward<0, 2>(s.net);
    grow::grow_width<0, 2>(s.net, new_neurons, grow::GradMax{}, rng, data);
    state.PauseTiming();
    if (s.net.layer<0>().out_features() != 1024 + new_neurons || s.net.find_non_finite())
      throw std::runtime_error("grow_width did not grow the network cleanly");
    state.ResumeTiming();
  }
}

void grow_width_reserved(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    Setup s;
    grow::reserve_width<0, 2>(s.net, 1024 + new_neurons);
    Rng rng(1);
    state.ResumeTiming();
    const auto data = grow::data_from_last_backward<0, 2>(s.net);
    grow::grow_width<0, 2>(s.net, new_neurons, grow::GradMax{}, rng, data);
  }
}

void train_step_512(benchmark::State& state) {
  Setup s;
  Sgd sgd(0.01, {.momentum = 0.9});
  for (auto _ : state) {
    s.forward_backward();
    sgd.step(s.net);
  }
  if (s.net.find_non_finite()) throw std::runtime_error("training diverged");
}

}  // namespace

BENCHMARK(gradmax_marginal)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(gradmax_marginal_matrix)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(gradmax_standalone)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(grow_width_marginal)->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK(grow_width_reserved)->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK(train_step_512)->Unit(benchmark::kMillisecond)->MinTime(1.0);

BENCHMARK_MAIN();
