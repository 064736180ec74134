// bench/cpu/bench_conv.cpp: convolution costs on the CPU.
//
//   fashion_cnn_step      one training step of conv32-conv64-pool-fc128-fc10 (PyTorch's MNIST example
//                         network; 3x3 convolutions without padding) at batch 128: forward, softmax
//                         cross-entropy, backward, SGD with momentum
//   fashion_cnn_gradmax   a GradMax growth of 8 channels between its two convolutions from a separate
//                         batch of 128 (forward, loss, backward, the exact conv matrix, top-k SVD,
//                         weight surgery), for comparison with one training step
//   conv_fwd/conv_bwd     Conv2d 3x3 stride 1 padding 1 forward / backward at the Wide-ResNet-28-1
//                         shapes (batch 128): 16 channels at 32x32, 32 at 16x16, 64 at 8x8
// Each benchmark checks its result once before timing.
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "netgrow/netgrow.hpp"

using namespace netgrow;

namespace {

using FashionCnn = Sequential<float, Cpu, Conv2d, Relu1, Conv2d, Relu1, MaxPool2d, Flatten, Dense, Relu1, Dense>;

FashionCnn fashion_cnn(Rng& rng, Index c1 = 32, Index c2 = 64, Index f1 = 128) {
  return FashionCnn(rng, Conv2d{.in = 1, .out = c1, .kernel = 3, .padding = 0}, Relu1{},
                    Conv2d{.in = c1, .out = c2, .kernel = 3, .padding = 0}, Relu1{}, MaxPool2d{}, Flatten{},
                    Dense{.in = c2 * 144, .out = f1}, Relu1{}, Dense{.in = f1, .out = 10});
}

struct CnnSetup {
  Rng rng{5};
  FashionCnn net = fashion_cnn(rng);
  Tensor<float> x{128, 1, 28, 28};
  Tensor<std::int32_t> y{128};
  Tensor<float> grad;
  Sgd sgd{0.01, {.momentum = 0.9}};
  CnnSetup() {
    fill_normal(x.view(), 0.0, 1.0, rng);
    for (Index i = 0; i < 128; ++i) y[i] = static_cast<std::int32_t>(rng.uniform_int(10));
  }
  double forward_backward() {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    net.backward(grad);
    return loss;
  }
  double step() {
    const double loss = forward_backward();
    sgd.step(net);
    return loss;
  }
};

void fashion_cnn_step(benchmark::State& state) {
  CnnSetup s;
  const double first = s.step();
  double last = first;
  for (int i = 0; i < 5; ++i) last = s.step();
  if (!(last < first)) throw std::runtime_error("fashion_cnn_step: the loss did not decrease");
  for (auto _ : state) benchmark::DoNotOptimize(s.step());
  state.counters["GFLOP/s"] = benchmark::Counter(training_step_flops(s.net, s.x.shape()) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void fashion_cnn_gradmax(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    CnnSetup s;
    grow::reserve_width<0, 2>(s.net, 40);
    s.forward_backward();
    s.sgd.step(s.net);
    state.ResumeTiming();
    s.forward_backward();
    auto data = grow::data_from_last_backward<0, 2>(s.net);
    grow::grow_width<0, 2>(s.net, 8, grow::GradMax{}, s.rng, data);
    state.PauseTiming();
    if (s.net.layer<0>().out_channels() != 40) throw std::runtime_error("fashion_cnn_gradmax: growth failed");
    state.ResumeTiming();
  }
}

void conv_fwd(benchmark::State& state) {
  const Index c = state.range(0), hw = state.range(1);
  Rng rng(1);
  Conv2dLayer<float, Cpu> conv(Conv2d{.in = c, .out = c, .kernel = 3, .padding = 1}, rng);
  Tensor<float> x({128, c, hw, hw});
  fill_normal(x.view(), 0.0, 1.0, rng);
  Tensor<float> y(conv.output_shape(x.shape()));
  conv.forward(x, y, Mode::train);
  if (!ops::all_finite<float>(y)) throw std::runtime_error("conv_fwd: non-finite output");
  for (auto _ : state) {
    conv.forward(x, y, Mode::train);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * y.numel() * c * 9 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void conv_bwd(benchmark::State& state) {
  const Index c = state.range(0), hw = state.range(1);
  Rng rng(1);
  Conv2dLayer<float, Cpu> conv(Conv2d{.in = c, .out = c, .kernel = 3, .padding = 1}, rng);
  Tensor<float> x({128, c, hw, hw}), dx({128, c, hw, hw});
  fill_normal(x.view(), 0.0, 1.0, rng);
  Tensor<float> y(conv.output_shape(x.shape()));
  conv.forward(x, y, Mode::train);
  for (auto _ : state) {
    conv.backward(x, y, y, dx, false);
    benchmark::DoNotOptimize(dx.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * y.numel() * c * 9 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(fashion_cnn_step)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(fashion_cnn_gradmax)->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK(conv_fwd)->Args({16, 32})->Args({32, 16})->Args({64, 8})->Unit(benchmark::kMillisecond);
BENCHMARK(conv_bwd)->Args({16, 32})->Args({32, 16})->Args({64, 8})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
