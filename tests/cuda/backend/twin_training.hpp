// The training run both twins execute: the same Sequential<float, D, Dense, Relu1, Dense, Tanh, Dense>
// built from the same seed (Dense draws its weights on the host for every device, so the twins start
// with identical weights), SGD steps with Nesterov momentum and weight decay, then Adam steps, on the
// same batches, with per-element learning-rate factors on the first weight. Written once against the
// device parameter D: the host test instantiates it for Cpu, training_shim.cu for Cuda.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/sgd.hpp"

namespace netgrow::test {

enum class TwinLoss { softmax_cross_entropy, mse };

// Widths of the twin network: in -> hidden1 -> hidden2 -> out.
struct TwinWidths {
  Index in = 13, hidden1 = 33, hidden2 = 17, out = 7;
};

// Inputs (N, in), labels (N) in [0, out), regression targets (N, out); batch i of each step.
struct TwinData {
  std::vector<Tensor<float, Cpu>> inputs;
  std::vector<Tensor<std::int32_t, Cpu>> labels;
  std::vector<Tensor<float, Cpu>> targets;
  Tensor<float, Cpu> probe;     // (M, in): evaluated after training
  Tensor<float, Cpu> lr_scale;  // (hidden1, in): learning-rate factors of the first weight
};

// What a run leaves behind, on the host.
struct TwinTrace {
  std::vector<double> losses;  // per step
  std::vector<Index> correct;  // per step (cross-entropy only)
  Tensor<float, Cpu> probe_output;
  std::vector<std::string> names;                   // parameters in visit order
  std::vector<Tensor<float, Cpu>> values;           // after the last step
  std::vector<Tensor<float, Cpu>> gradients;        // of the last step
  std::vector<std::vector<Tensor<float, Cpu>>> state;  // optimizer state after the last step
};

template <class D>
using TwinMlp = Sequential<float, D, Dense, Relu1, Dense, Tanh, Dense>;

template <class D>
TwinTrace train_twin(std::uint64_t seed, const TwinWidths& w, const TwinData& data, TwinLoss loss, int sgd_steps,
                     int adam_steps) {
  Rng rng(seed);
  TwinMlp<D> net(rng, Dense{.in = w.in, .out = w.hidden1}, Relu1{}, Dense{.in = w.hidden1, .out = w.hidden2},
                 Tanh{}, Dense{.in = w.hidden2, .out = w.out});
  net.template layer<0>().weight().lr_scale = to<D>(data.lr_scale);
  Sgd sgd(0.05, SgdOptions{.momentum = 0.9, .nesterov = true, .weight_decay = 1e-3});
  Adam adam(3e-3, AdamOptions{.weight_decay = 1e-3});

  TwinTrace trace;
  Tensor<float, D> grad;
  const std::size_t batches = data.inputs.size();
  for (int step = 0; step < sgd_steps + adam_steps; ++step) {
    const std::size_t b = static_cast<std::size_t>(step) % batches;
    const Tensor<float, D> x = to<D>(data.inputs[b]);  // alive until backward()
    const ConstView<float, D> out = net.forward(x.cview());
    grad.resize(out.shape());
    if (loss == TwinLoss::softmax_cross_entropy) {
      const Tensor<std::int32_t, D> labels = to<D>(data.labels[b]);
      const auto r = SoftmaxCrossEntropy{}(out, labels, grad);
      trace.losses.push_back(r.loss);
      trace.correct.push_back(r.correct);
    } else {
      const Tensor<float, D> target = to<D>(data.targets[b]);
      trace.losses.push_back(MseLoss{}(out, target, grad));
    }
    net.backward(grad.cview());
    if (step < sgd_steps) sgd.step(net);
    else adam.step(net);
  }

  const Tensor<float, D> probe = to<D>(data.probe);
  trace.probe_output = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  net.visit_parameters([&](const std::string& name, Parameter<float, D>& p) {
    trace.names.push_back(name);
    trace.values.push_back(to<Cpu>(p.value));
    trace.gradients.push_back(to<Cpu>(p.grad));
    std::vector<Tensor<float, Cpu>> s;
    for (const auto& t : p.state) s.push_back(to<Cpu>(t));
    trace.state.push_back(std::move(s));
  });
  return trace;
}

// The Cuda twin (training_shim.cu).
TwinTrace train_twin_on_cuda(std::uint64_t seed, const TwinWidths& w, const TwinData& data, TwinLoss loss,
                             int sgd_steps, int adam_steps);

// One forward and backward pass (MseLoss, with the input gradient) of
// Sequential<float, D, Flatten, Dense, Gelu, Dense, LeakyRelu, Dense> on x (N, 3, 5, 7): output, loss,
// dLoss/dx and the parameter gradients, on the host. Exercises Flatten, the input gradient of the
// first layer, accumulate = true (a second backward pass adds to the gradients) and find_non_finite.
struct PassTrace {
  Tensor<float, Cpu> output;
  double loss = 0;
  Tensor<float, Cpu> input_grad;
  std::vector<Tensor<float, Cpu>> gradients;  // after two accumulated backward passes
  bool finite = false;
};

template <class D>
using FlattenMlp = Sequential<float, D, Flatten, Dense, Gelu, Dense, LeakyRelu, Dense>;

template <class D>
PassTrace flatten_pass(std::uint64_t seed, const Tensor<float, Cpu>& x_host, const Tensor<float, Cpu>& target_host) {
  Rng rng(seed);
  const Index features = x_host.numel() / x_host.dim(0);
  FlattenMlp<D> net(rng, Flatten{}, Dense{.in = features, .out = 33, .init = WeightInit::torch_default}, Gelu{},
                    Dense{.in = 33, .out = 16}, LeakyRelu{.slope = 0.1}, Dense{.in = 16, .out = target_host.dim(1)});
  const Tensor<float, D> x = to<D>(x_host);
  const Tensor<float, D> target = to<D>(target_host);
  const ConstView<float, D> out = net.forward(x.cview());
  Tensor<float, D> grad(out.shape());
  PassTrace trace;
  trace.loss = MseLoss{}(out, target, grad);
  trace.output = to<Cpu>(out);
  net.backward(grad.cview(), {.input_grad = true});
  net.backward(grad.cview(), {.accumulate = true, .input_grad = true});
  trace.input_grad = to<Cpu>(net.input_grad());
  net.visit_parameters([&](const std::string&, Parameter<float, D>& p) { trace.gradients.push_back(to<Cpu>(p.grad)); });
  trace.finite = !net.find_non_finite().has_value();
  return trace;
}

PassTrace flatten_pass_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target);

}  // namespace netgrow::test
