// The growth runs both twins execute, written once against the device parameter D: the host test
// instantiates them for Cpu, growth_shim.cu for Cuda. Layers draw their initial weights on the host
// for every device and Random draws new neurons there, so the twins start and grow from the same
// values; GradMax computes its SVD on the network's device.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow.hpp.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/firefly.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/gradmax_opt.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/split.hpp"
#include "netgrow/grow/stage_lr.hpp"
#include "netgrow/grow/width.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/sgd.hpp"

namespace netgrow::test {

// What a growth run leaves behind, on the host.
struct GrowthTrace {
  std::vector<double> singular_values;     // GradMax's, of the first growth
  Tensor<float, Cpu> before_train, before_eval;  // probe outputs before growth (training / evaluation mode)
  Tensor<float, Cpu> after_train, after_eval;    // ... right after growth
  std::vector<Tensor<float, Cpu>> grown;   // parameters right after growth (visit order)
  Tensor<float, Cpu> new_incoming_grad;    // gradient of the GradMax neurons' incoming weights, after growth
  std::vector<double> losses;              // training steps after growth
  std::vector<Tensor<float, Cpu>> trained; // parameters after the training steps
  std::vector<std::vector<Tensor<float, Cpu>>> state;  // optimizer state after the training steps
  std::vector<double> stage_factors;       // per-stage learning-rate factors after growth (when staged)
};

template <class D>
void record_parameters(auto& net, std::vector<Tensor<float, Cpu>>& values,
                       std::vector<std::vector<Tensor<float, Cpu>>>* state = nullptr) {
  values.clear();
  if (state) state->clear();
  net.visit_parameters([&](const std::string&, Parameter<float, D>& p) {
    values.push_back(to<Cpu>(p.value));
    if (state) {
      std::vector<Tensor<float, Cpu>> s;
      for (const auto& t : p.state) s.push_back(to<Cpu>(t));
      state->push_back(std::move(s));
    }
  });
}

// One training step of a twin on (x, target) with the mean squared error: forward, loss, backward and,
// when `update`, the optimizer's step. Returns the loss.
template <class Net, class Optimizer, class D>
struct MseStep {
  Net& net;
  Optimizer& optimizer;
  const Tensor<float, D>& x;
  const Tensor<float, D>& target;
  Tensor<float, D> grad{};
  double operator()(bool update) {
    const ConstView<float, D> out = net.forward(x.cview());
    grad.resize(out.shape());
    const double loss = MseLoss{}(out, target, grad);
    net.backward(grad.cview());
    if (update) optimizer.step(net);
    return loss;
  }
};

// The end of a growth trace: the parameters right after growth, three training steps, then the
// parameters and optimizer state after them.
template <class D, class Net, class Step>
void finish_trace(Net& net, Step& step, GrowthTrace& trace) {
  record_parameters<D>(net, trace.grown);
  for (int i = 0; i < 3; ++i) trace.losses.push_back(step(true));
  record_parameters<D>(net, trace.trained, &trace.state);
}

// BatchNorm momentum 0 in both twins: the running statistics stay put, so evaluation-mode outputs before
// and after growth are comparable although training-mode passes (the grow batch) run in between.
template <class D>
using GrowMlp = Sequential<float, D, Dense, BatchNorm, Relu1, Dense, Tanh, Dense>;

// MLP 9 -> 12 -> 10 -> 4 with BatchNorm between the first pair: two SGD steps (momentum, so optimizer
// state exists), GradMax growth of pair (0, 3) by 5 from the grow batch (its data centred by the
// BatchNorm Jacobian), Random growth of pair (3, 5) by 3, then three more SGD steps.
template <class D>
GrowthTrace grow_mlp_twin(std::uint64_t seed, const Tensor<float, Cpu>& x_host, const Tensor<float, Cpu>& target_host,
                          const Tensor<float, Cpu>& probe_host) {
  Rng rng(seed);
  GrowMlp<D> net(rng, Dense{.in = x_host.dim(1), .out = 12}, BatchNorm{.channels = 12, .momentum = 0}, Relu1{},
                 Dense{.in = 12, .out = 10}, Tanh{}, Dense{.in = 10, .out = target_host.dim(1)});
  Sgd sgd(0.05, SgdOptions{.momentum = 0.9});
  const Tensor<float, D> x = to<D>(x_host), target = to<D>(target_host), probe = to<D>(probe_host);
  MseStep<std::remove_reference_t<decltype(net)>, decltype(sgd), D> step{net, sgd, x, target};
  auto probe_outputs = [&](Tensor<float, Cpu>& train, Tensor<float, Cpu>& eval) {
    eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
    train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  };
  step(true);
  step(true);

  GrowthTrace trace;
  probe_outputs(trace.before_train, trace.before_eval);
  step(false);  // the grow batch
  const grow::GrowthReport first =
      grow::grow_width<0, 3>(net, 5, grow::GradMax{}, rng, grow::data_from_last_backward<0, 3>(net));
  trace.singular_values = first.singular_values;
  step(false);
  grow::grow_width<3, 5>(net, 3, grow::Random{}, rng);
  probe_outputs(trace.after_train, trace.after_eval);
  record_parameters<D>(net, trace.grown);

  step(false);  // the new neurons' gradient, before any update
  const Tensor<float, Cpu> w_grad = to<Cpu>(net.template layer<0>().weight().grad);
  trace.new_incoming_grad = Tensor<float, Cpu>(Shape{5, w_grad.dim(1)});
  for (Index i = 0; i < 5; ++i)
    for (Index j = 0; j < w_grad.dim(1); ++j) trace.new_incoming_grad.at(i, j) = w_grad.at(12 + i, j);
  for (int i = 0; i < 3; ++i) trace.losses.push_back(step(true));
  record_parameters<D>(net, trace.trained, &trace.state);
  return trace;
}

template <class D>
using GrowCnn = Sequential<float, D, Conv2d, BatchNorm, Relu, Conv2d, Relu, Flatten, Dense>;

// CNN (N, 2, 7, 9) -> conv 3x3 (5 ch) -> BN -> Relu -> conv 3x3 stride 2 (6 ch) -> Relu -> Flatten ->
// Dense: Random growth of the conv pair (0, 3) by 3 channels and of the conv -> dense pair (3, 6) by 2,
// between SGD steps.
template <class D>
GrowthTrace grow_cnn_twin(std::uint64_t seed, const Tensor<float, Cpu>& x_host, const Tensor<float, Cpu>& target_host,
                          const Tensor<float, Cpu>& probe_host) {
  Rng rng(seed);
  const Index c = x_host.dim(1), h = x_host.dim(2), w = x_host.dim(3);
  const Index h2 = (h - 1) / 2 + 1, w2 = (w - 1) / 2 + 1;
  GrowCnn<D> net(rng, Conv2d{.in = c, .out = 5}, BatchNorm{.channels = 5, .momentum = 0}, Relu{},
                 Conv2d{.in = 5, .out = 6, .stride = 2}, Relu{}, Flatten{},
                 Dense{.in = 6 * h2 * w2, .out = target_host.dim(1)});
  Sgd sgd(0.02, SgdOptions{.momentum = 0.9});
  const Tensor<float, D> x = to<D>(x_host), target = to<D>(target_host), probe = to<D>(probe_host);
  MseStep<std::remove_reference_t<decltype(net)>, decltype(sgd), D> step{net, sgd, x, target};
  step(true);
  GrowthTrace trace;
  trace.before_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.before_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  grow::grow_width<0, 3>(net, 3, grow::Random{}, rng);
  grow::grow_width<3, 6>(net, 2, grow::Random{}, rng);
  trace.after_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.after_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  finish_trace<D>(net, step, trace);
  return trace;
}

template <class D>
using CopyMlp = Sequential<float, D, Dense, BatchNorm, Relu1, Dense, LayerNorm, Tanh, Dense>;

// The Cpu-written initializers on a device network (host_staged_growth): MLP 9 -> 12 -> 10 -> 4 with
// BatchNorm between the first pair and LayerNorm between the second, trained with Adam (two moments to
// pad). Net2Net's Split of pair (0, 3) by 5 (the BatchNorm copies its channels, the duplicated neurons'
// outgoing weights are divided on the device), LEMON of pair (3, 6) by 13 (10 copies and 3 averages
// through the LayerNorm, which rescales its gamma and eps), GradMax-Opt of pair (0, 3) by 2 from the grow
// batch's M (formed on the device, optimised on the host), InverseGradMaxOpt by 2 (the BatchNorm and
// Relu1 between run on the device for it), GradMax by 2 with the loss-decrease sign rule, FireflyOpt of
// pair (0, 3) by 3 (its Adam steps on the device), then per-stage learning rates (variance transfer's
// LRA: the factors computed on the host, lr_scale on the device) and three Adam steps.
template <class D>
GrowthTrace grow_copies_twin(std::uint64_t seed, const Tensor<float, Cpu>& x_host, const Tensor<float, Cpu>& target_host,
                             const Tensor<float, Cpu>& probe_host) {
  Rng rng(seed);
  CopyMlp<D> net(rng, Dense{.in = x_host.dim(1), .out = 12}, BatchNorm{.channels = 12, .momentum = 0}, Relu1{},
                 Dense{.in = 12, .out = 10}, LayerNorm{.features = 10}, Tanh{}, Dense{.in = 10, .out = target_host.dim(1)});
  Adam adam(0.01, AdamOptions{.eps = 1e-3});  // a large eps: rounding-level gradients move nothing
  const Tensor<float, D> x = to<D>(x_host), target = to<D>(target_host), probe = to<D>(probe_host);
  MseStep<std::remove_reference_t<decltype(net)>, decltype(adam), D> step{net, adam, x, target};
  step(true);
  step(true);
  grow::StageLearningRates stages;
  stages.start(net);
  GrowthTrace trace;
  trace.before_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.before_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  grow::grow_width<0, 3>(net, 5, grow::Split{}, rng);
  grow::grow_width<3, 6>(net, 13, grow::Lemon{}, rng);
  step(false);  // the grow batch
  grow::grow_width<0, 3>(net, 2, grow::GradMaxOpt{.steps = 20, .learning_rate = 0.01}, rng,
                         grow::data_from_last_backward<0, 3>(net));
  step(false);
  grow::grow_width<0, 3>(net, 2, grow::InverseGradMaxOpt{.steps = 10, .learning_rate = 0.01}, rng,
                         grow::data_from_last_backward<0, 3>(net));
  step(false);
  grow::grow_width<0, 3>(net, 2, grow::GradMax{.sign = grow::GradMaxSign::loss_decrease}, rng,
                         grow::data_from_last_backward<0, 3>(net));
  trace.after_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.after_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  // FireflyOpt trains its new neurons on the grow batch (on the device), so it changes the function on
  // purpose: after the preservation probes.
  step(false);
  grow::grow_width<0, 3>(net, 3, grow::FireflyOpt{.steps = 10, .learning_rate = 0.01}, rng,
                         grow::data_from_last_backward<0, 3>(net).with_recompute([&] { step(false); }));
  stages.begin_stage(net);  // the grown slices train at their own learning rate (lr_scale on the device)
  trace.stage_factors = stages.last().factors;
  finish_trace<D>(net, step, trace);
  return trace;
}

// Depth growth of a Wide-ResNet-10 (one block per group, BatchNorm inside the blocks, inner widths a
// quarter of the group's) on images (N, 3, 9, 9), trained with Adam: DepthGradMax inserts a block after
// group 2's first (its SVD on the device), LEMON's expand_depth copies it once more (DepthCopy), DepthZero
// and DepthRandom insert blocks into groups 1 and 3; then three Adam steps. The singular values are
// DepthGradMax's.
template <class D>
GrowthTrace grow_depth_twin(std::uint64_t seed, const Tensor<float, Cpu>& x_host, const Tensor<float, Cpu>& target_host,
                            const Tensor<float, Cpu>& probe_host) {
  Rng rng(seed);
  models::WideResNet<float, D, true> wrn({.depth = 10, .block_width = 0.25, .classes = target_host.dim(1)}, rng);
  auto& net = wrn.net();
  Adam adam(0.001, AdamOptions{.eps = 1e-3});  // a large eps: rounding-level gradients move nothing
  const Tensor<float, D> x = to<D>(x_host), target = to<D>(target_host), probe = to<D>(probe_host);
  MseStep<std::remove_reference_t<decltype(net)>, decltype(adam), D> step{net, adam, x, target};
  step(true);
  step(true);
  GrowthTrace trace;
  // Training-mode outputs do not depend on the running statistics; the evaluation-mode comparison has no
  // training-mode pass between its two sides.
  trace.before_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  step(false);  // the grow batch; its views at group 2's position 1 copied before the next forward
  auto& group2 = net.template layer<2>();
  const grow::DepthData<float, D> at = grow::depth_data_from_last_backward(group2, 1);
  Tensor<float, D> x_at(at.input.shape()), dx_at(at.output_grad.shape());
  ops::copy<float>(at.input, x_at.view());
  ops::copy<float>(at.output_grad, dx_at.view());
  trace.before_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));

  const grow::DepthReport gm = grow::grow_depth(group2, 1, grow::DepthGradMax{}, rng,
                                                grow::DepthData<float, D>{x_at.cview(), dx_at.cview()});
  trace.singular_values = gm.singular_values;
  grow::expand_depth(group2, 3);
  grow::grow_depth(net.template layer<1>(), 1, grow::DepthZero{}, rng);
  grow::grow_depth(net.template layer<3>(), 1, grow::DepthRandom{}, rng);
  trace.after_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.after_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  finish_trace<D>(net, step, trace);
  return trace;
}

// GradMax's directions for a given matrix M (fan_out, fan_in): unit rows (k, fan_out), and the
// singular values kept (rank-deficient M: the rest of the rows are the random complement).
struct DirectionsTrace {
  Tensor<float, Cpu> rows;
  std::vector<double> singular_values;
};

template <class D>
DirectionsTrace gradmax_directions_twin(const Tensor<float, Cpu>& m, Index k, std::uint64_t seed) {
  Rng rng(seed);
  const auto data = grow::GrowthData<float, D>::from_matrix(to<D>(m));
  grow::GradMaxDirections<float, D> d = grow::gradmax_directions(data, k, ops::SvdOptions{}, rng);
  return {to<Cpu>(d.rows), d.singular_values};
}

// The Cuda twins (growth_shim.cu).
DirectionsTrace gradmax_directions_on_cuda(const Tensor<float, Cpu>& m, Index k, std::uint64_t seed);
GrowthTrace grow_mlp_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                             const Tensor<float, Cpu>& probe);
GrowthTrace grow_cnn_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                             const Tensor<float, Cpu>& probe);
GrowthTrace grow_copies_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                                const Tensor<float, Cpu>& probe);
GrowthTrace grow_depth_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                               const Tensor<float, Cpu>& probe);

}  // namespace netgrow::test
