// The small CNN both twins train: Sequential<S, D, Conv2d, BatchNorm, Relu1, MaxPool2d, Conv2d, Relu1,
// GlobalAvgPool, Dense> built from one seed (layers draw their weights on the host for every device, so
// the twins start identical), SGD steps with momentum and weight decay on the same batches with softmax
// cross-entropy, then one evaluation-mode pass (BatchNorm's running statistics) over a probe batch.
// Written once against the scalar S and device D: the host test instantiates it for Cpu, layer_shims.cu
// for Cuda.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow headers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/sgd.hpp"

namespace netgrow::test {

// Inputs (N, 3, 11, 13) and labels (N) in [0, 5) per step; a probe batch evaluated after training.
template <class S>
struct CnnData {
  std::vector<Tensor<S, Cpu>> inputs;
  std::vector<Tensor<std::int32_t, Cpu>> labels;
  Tensor<S, Cpu> probe;
};

template <class S>
struct CnnTrace {
  std::vector<double> losses;              // per step
  Tensor<S, Cpu> first_logits;              // output of the first forward pass (training mode)
  Tensor<S, Cpu> probe_output;              // evaluation mode, after the last step
  std::vector<std::string> names;          // parameters in visit order
  std::vector<Tensor<S, Cpu>> values;       // after the last step (BatchNorm running statistics included)
  std::vector<Tensor<S, Cpu>> gradients;    // of the last step
};

template <class S, class D>
using TwinCnn = Sequential<S, D, Conv2d, BatchNorm, Relu1, MaxPool2d, Conv2d, Relu1, GlobalAvgPool, Dense>;

template <class T, class D>
Tensor<T, D> device_copy(const Tensor<T, Cpu>& t) {
  Tensor<T, D> out(t.shape());
  copy(t.cview(), out.view());
  return out;
}

template <class S, class D>
CnnTrace<S> train_cnn(std::uint64_t seed, const CnnData<S>& data, int steps) {
  Rng rng(seed);
  TwinCnn<S, D> net(rng, Conv2d{.in = 3, .out = 8, .kernel = 3, .stride = 1, .padding = 1}, BatchNorm{.channels = 8},
                 Relu1{}, MaxPool2d{}, Conv2d{.in = 8, .out = 13, .kernel = 3, .stride = 2, .padding = 1}, Relu1{},
                 GlobalAvgPool{}, Dense{.in = 13, .out = 5});
  Sgd sgd(0.05, SgdOptions{.momentum = 0.9, .weight_decay = 1e-3});
  CnnTrace<S> trace;
  Tensor<S, D> grad;
  for (int step = 0; step < steps; ++step) {
    const std::size_t b = static_cast<std::size_t>(step) % data.inputs.size();
    const Tensor<S, D> x = device_copy<S, D>(data.inputs[b]);  // alive until backward()
    const Tensor<std::int32_t, D> labels = device_copy<std::int32_t, D>(data.labels[b]);
    const ConstView<S, D> logits = net.forward(x.cview());
    if (step == 0) trace.first_logits = host_copy(logits);
    grad.resize(logits.shape());
    trace.losses.push_back(SoftmaxCrossEntropy{}(logits, labels, grad).loss);
    net.backward(grad.cview());
    sgd.step(net);
  }
  const Tensor<S, D> probe = device_copy<S, D>(data.probe);
  trace.probe_output = host_copy(net.forward(probe.cview(), Mode::eval));
  net.visit_parameters([&](std::string_view name, Parameter<S, D>& p) {
    trace.names.emplace_back(name);
    trace.values.push_back(host_copy(p.value.cview()));
    trace.gradients.push_back(host_copy(p.grad.cview()));
  });
  return trace;
}

// The Cuda twins (layer_shims.cu).
CnnTrace<float> train_cnn_on_cuda(std::uint64_t seed, const CnnData<float>& data, int steps);
CnnTrace<double> train_cnn_on_cuda(std::uint64_t seed, const CnnData<double>& data, int steps);

}  // namespace netgrow::test
