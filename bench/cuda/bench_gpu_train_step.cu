// bench/cuda/bench_gpu_train_step.cu: whole training steps and a GradMax growth step on the GPU, the rows
// of the GPU-performance table that bench/compare/gpu_torch.py times for PyTorch (same models, shapes,
// losses and optimizer):
//
//   train/mlp_784_1024_1024_10/gemm:<path>  Dense 784-1024-1024-10 with ReLU, batch 128
//   train/wrn_28_1/gemm:<path>              WideResNet-28-1 (models/wide_resnet.hpp: pre-activation
//                                           blocks, no BatchNorm inside a block), 3x32x32, batch 128
//   train/wrn_28_1_bn/gemm:<path>           the same with a BatchNorm inside each block (WideBlockBN)
//   train/vgg11_maxpool/gemm:<path>         VGG-11 for CIFAR: 3x3 convolutions 64, M, 128, M, 256, 256, M,
//                                           512, 512, M, 512, 512, M (M: 2x2 max-pool) with ReLU and
//                                           bias, Flatten, Dense 512 -> 10, 3x32x32, batch 128
//   grow/gradmax_dense_1024/k:64/batch:512/gemm:<path>
//                                           the growth decision for 64 neurons in the middle 1024-wide
//                                           layer of Dense 784-1024-1024-1024-10 (Relu1): forward and
//                                           backward of a batch of 512 (the auxiliary gradient), the
//                                           pair's data and GradMax's top-64 directions (svd_topk_of_
//                                           product on the device)
// A training step is forward, softmax cross-entropy (its loss read back to the host, as a training
// loop does), backward and SGD with momentum 0.9, lr 0.01. <path> is the op facade's GEMM path:
// cublas (cuBLAS, no TF32) or native (kernels/gemm.cuh). The convolutional rows also run as
// train/<model>/conv:implicit: every convolution an implicit GEMM (kernels/conv_implicit.cuh), the Dense
// layers on cuBLAS. train/<model>/graph:<cublas|native|implicit>: the same steps recorded once as a CUDA
// graph (cuda::StepGraph) and replayed, the loss kept on the device (cuda::QueuedCrossEntropy).
//
// Timing: CUDA events around `calls` back-to-back steps (about 20 ms per iteration); counters
// ms_per_step and samples/s. Before timing, each training row runs 8 steps on one fixed batch and
// skips with an error unless the loss went down and stayed finite; the growth row checks that the
// directions are orthonormal.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include <netgrow/cuda.hpp>
#include <netgrow/netgrow.hpp>

#include "event_timer.hpp"

namespace {

using namespace netgrow;

constexpr double learning_rate = 0.01;
constexpr Index batch = 128;

// A fixed batch on the device: inputs N(0, 1) of `input` shape, labels uniform in [0, classes).
void random_batch(Shape input, Index classes, Rng& rng, Tensor<float, Cuda>& x, Tensor<std::int32_t, Cuda>& y) {
  Tensor<float, Cpu> hx(input);
  fill_normal(hx.view(), 0.0, 1.0, rng);
  Tensor<std::int32_t, Cpu> hy(Shape{input[0]});
  for (Index i = 0; i < hy.numel(); ++i) hy[i] = static_cast<std::int32_t>(rng.uniform_int(classes));
  x = to<Cuda>(hx);
  y = to<Cuda>(hy);
}

template <class Net>
struct TrainStep {
  Rng rng{7};
  Net net;
  Sgd sgd{learning_rate, {.momentum = 0.9}};
  Tensor<float, Cuda> x, grad;
  Tensor<std::int32_t, Cuda> y;

  template <class... Kinds>
  TrainStep(Shape input, Index classes, Kinds... kinds) : net(rng, kinds...) {
    random_batch(input, classes, rng, x, y);
  }
  TrainStep(Net built, Shape input, Index classes) : net(std::move(built)) { random_batch(input, classes, rng, x, y); }
  double step() {
    const ConstView<float, Cuda> logits = net.forward(x.cview());
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    net.backward(grad.cview());
    sgd.step(net);
    return loss;
  }
  // The same step recorded once as a CUDA graph and replayed (backend/cuda/graph.hpp); its loss stays
  // on the device (queued.result() reads it).
  netgrow::cuda::StepGraph graph;
  netgrow::cuda::QueuedCrossEntropy queued;
  void graph_step() {
    graph.run([&] {
      const ConstView<float, Cuda> logits = net.forward(x.cview());
      grad.resize(logits.shape());
      queued.queue(logits, y.cview(), grad.view());
      net.backward(grad.cview());
      sgd.step(net);
    });
  }
};

using Mlp = Sequential<float, Cuda, Dense, Relu, Dense, Relu, Dense>;
using Vgg11MaxPool = Sequential<float, Cuda, Conv2d, Relu, MaxPool2d, Conv2d, Relu, MaxPool2d, Conv2d, Relu, Conv2d,
                                Relu, MaxPool2d, Conv2d, Relu, Conv2d, Relu, MaxPool2d, Conv2d, Relu, Conv2d, Relu,
                                MaxPool2d, Flatten, Dense>;

Conv2d conv3(Index in, Index out) { return Conv2d{.in = in, .out = out, .kernel = 3, .stride = 1, .padding = 1}; }

struct MlpRow : TrainStep<Mlp> {
  MlpRow()
      : TrainStep<Mlp>(Shape{batch, 784}, 10, Dense{.in = 784, .out = 1024}, Relu{}, Dense{.in = 1024, .out = 1024},
                       Relu{}, Dense{.in = 1024, .out = 10}) {}
};

template <bool InnerNorm>
struct WrnRow : TrainStep<typename models::WideResNet<float, Cuda, InnerNorm>::Net> {
  using Model = models::WideResNet<float, Cuda, InnerNorm>;
  static typename Model::Net build() {
    Rng rng(11);
    Model model(models::WideResNetConfig{.depth = 28, .width_multiplier = 1.0, .block_width = 1.0}, rng);
    return std::move(model.net());
  }
  WrnRow() : TrainStep<typename Model::Net>(build(), Shape{batch, 3, 32, 32}, 10) {}
};

struct VggRow : TrainStep<Vgg11MaxPool> {
  VggRow()
      : TrainStep<Vgg11MaxPool>(Shape{batch, 3, 32, 32}, 10, conv3(3, 64), Relu{}, MaxPool2d{}, conv3(64, 128), Relu{},
                                MaxPool2d{}, conv3(128, 256), Relu{}, conv3(256, 256), Relu{}, MaxPool2d{},
                                conv3(256, 512), Relu{}, conv3(512, 512), Relu{}, MaxPool2d{}, conv3(512, 512), Relu{},
                                conv3(512, 512), Relu{}, MaxPool2d{}, Flatten{}, Dense{.in = 512, .out = 10}) {}
};

void set_gemm_path(netgrow::cuda::GemmPath path) { netgrow::cuda::context().set_gemm_path(path); }

const char* path_name(netgrow::cuda::GemmPath path) { return path == netgrow::cuda::GemmPath::library ? "cublas" : "native"; }

// Skips the benchmark with `why` (nothing is timed).
void skip(benchmark::State& state, const std::string& why) {
  state.SkipWithError(why.c_str());
  for (auto _ : state) {
  }
}

// Times `run` (iterations of about 20 ms) and returns the seconds per call.
template <class Run>
double time_calls(benchmark::State& state, Run& run) {
  return bench::time_manual(state, run, netgrow::cuda::context().stream(), 0.02);
}

// One training row: eager steps (the loss read back each step) or, with `graph`, the same step recorded
// once as a CUDA graph and replayed (no loss read back per timed step, as in PyTorch's graph replay).
// Before timing, 8 steps on the fixed batch must bring the loss down (and a graph must record once).
template <class Row>
void bench_train(benchmark::State& state, netgrow::cuda::GemmPath path, netgrow::cuda::ConvPath conv, bool graph) {
  set_gemm_path(path);
  const netgrow::cuda::ConvPathScope conv_path(conv);
  Row row;
  const auto step_with_loss = [&] {
    if (!graph) return row.step();
    row.graph_step();
    return row.queued.result().loss;
  };
  const double first = step_with_loss();
  double last = first;
  for (int i = 0; i < 7; ++i) last = step_with_loss();
  if (!(std::isfinite(last) && last < first))
    return skip(state, "loss did not go down on a fixed batch: " + std::to_string(first) + " -> " + std::to_string(last));
  if (graph && row.graph.recordings() != 1)
    return skip(state, "the step was recorded " + std::to_string(row.graph.recordings()) + " times, not once");
  auto run = [&] {
    if (graph) row.graph_step();
    else benchmark::DoNotOptimize(row.step());
  };
  const double per_step = time_calls(state, run);
  state.counters["ms_per_step"] = per_step * 1e3;
  state.counters["samples/s"] = static_cast<double>(row.x.dim(0)) / per_step;
  state.counters["first_loss"] = first;
  state.counters["loss_after_8"] = last;
  if (graph) state.counters["graph_reserved_MiB"] = static_cast<double>(row.graph.reserved_bytes()) / (1 << 20);
}

// The growth decision of the GradMax row (see the file comment).
struct GradMaxRow {
  using Net = Sequential<float, Cuda, Dense, Relu1, Dense, Relu1, Dense, Relu1, Dense>;
  static constexpr Index grow_batch = 512, new_neurons = 64;
  Rng rng{5};
  Net net{rng,
          Dense{.in = 784, .out = 1024},
          Relu1{},
          Dense{.in = 1024, .out = 1024},
          Relu1{},
          Dense{.in = 1024, .out = 1024},
          Relu1{},
          Dense{.in = 1024, .out = 10}};
  Tensor<float, Cuda> x, grad;
  Tensor<std::int32_t, Cuda> y;
  ops::SvdOptions svd;

  GradMaxRow() { random_batch(Shape{grow_batch, 784}, 10, rng, x, y); }
  // The pair (2, 4): producer Dense 1024 -> 1024 (the layer that grows), consumer Dense 1024 -> 1024.
  grow::GradMaxDirections<float, Cuda> decide() {
    const ConstView<float, Cuda> logits = net.forward(x.cview());
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad.cview());
    const grow::GrowthData<float, Cuda> data = grow::data_from_last_backward<2, 4>(net);
    return grow::gradmax_directions(data, new_neurons, svd, rng);
  }
};

void bench_gradmax(benchmark::State& state, netgrow::cuda::GemmPath path) {
  set_gemm_path(path);
  GradMaxRow row;
  {
    const auto d = row.decide();
    const Tensor<float, Cpu> rows = to<Cpu>(d.rows);
    const Index k = rows.dim(0), m = rows.dim(1);
    double error = 0;  // max |O O^T - I|
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < k; ++j) {
        double dot = 0;
        for (Index e = 0; e < m; ++e) dot += static_cast<double>(rows.at(i, e)) * rows.at(j, e);
        error = std::max(error, std::abs(dot - (i == j ? 1.0 : 0.0)));
      }
    if (!(error < 1e-4) || d.singular_values.empty())
      return skip(state, "directions are not orthonormal: max |O O^T - I| = " + std::to_string(error));
  }
  auto run = [&] { benchmark::DoNotOptimize(row.decide()); };
  state.counters["ms_per_growth"] = time_calls(state, run) * 1e3;
}

// The rows of one model: eager and graph steps on each GEMM path, and for convolutional models both on
// the implicit-GEMM convolutions (kernels/conv_implicit.cuh; Dense layers on cuBLAS).
template <class Row>
void register_train(const std::string& name, bool convolutional = false) {
  using netgrow::cuda::ConvPath;
  using netgrow::cuda::GemmPath;
  const auto add = [&](const std::string& row, GemmPath path, ConvPath conv, bool graph) {
    benchmark::RegisterBenchmark(("train/" + name + "/" + row).c_str(),
                                 [=](benchmark::State& st) { bench_train<Row>(st, path, conv, graph); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  };
  for (GemmPath path : {GemmPath::library, GemmPath::native}) {
    add(std::string("gemm:") + path_name(path), path, ConvPath::im2col_gemm, false);
    add(std::string("graph:") + path_name(path), path, ConvPath::im2col_gemm, true);
  }
  if (convolutional) {
    add("conv:implicit", GemmPath::library, ConvPath::implicit_gemm, false);
    add("graph:implicit", GemmPath::library, ConvPath::implicit_gemm, true);
  }
}

void register_benchmarks() {
  register_train<MlpRow>("mlp_784_1024_1024_10");
  register_train<WrnRow<false>>("wrn_28_1", true);
  register_train<WrnRow<true>>("wrn_28_1_bn", true);
  register_train<VggRow>("vgg11_maxpool", true);
  for (netgrow::cuda::GemmPath path : {netgrow::cuda::GemmPath::library, netgrow::cuda::GemmPath::native})
    benchmark::RegisterBenchmark(
        (std::string("grow/gradmax_dense_1024/k:64/batch:512/gemm:") + path_name(path)).c_str(),
        [path](benchmark::State& st) { bench_gradmax(st, path); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  return netgrow::bench::run_gpu_benchmarks("bench_gpu_train_step", argc, argv, register_benchmarks);
}
