// The growth runs both twins execute, written once against the device parameter D: the host test
// instantiates them for Cpu, growth_shim.cu for Cuda. Layers draw their initial weights on the host
// for every device and Random draws new neurons there, so the twins start and grow from the same
// values; GradMax computes its SVD on the network's device.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/width.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
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
  Tensor<float, D> grad;
  auto step = [&](bool update) {
    const ConstView<float, D> out = net.forward(x.cview());
    grad.resize(out.shape());
    const double loss = MseLoss{}(out, target, grad);
    net.backward(grad.cview());
    if (update) sgd.step(net);
    return loss;
  };
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
  Tensor<float, D> grad;
  auto step = [&](bool update) {
    const ConstView<float, D> out = net.forward(x.cview());
    grad.resize(out.shape());
    const double loss = MseLoss{}(out, target, grad);
    net.backward(grad.cview());
    if (update) sgd.step(net);
    return loss;
  };
  step(true);
  GrowthTrace trace;
  trace.before_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.before_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  grow::grow_width<0, 3>(net, 3, grow::Random{}, rng);
  grow::grow_width<3, 6>(net, 2, grow::Random{}, rng);
  trace.after_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.after_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  record_parameters<D>(net, trace.grown);
  for (int i = 0; i < 3; ++i) trace.losses.push_back(step(true));
  record_parameters<D>(net, trace.trained, &trace.state);
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

}  // namespace netgrow::test
