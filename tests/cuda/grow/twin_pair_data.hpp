// GradMax's data for convolutional pairs, computed by both twins (grow::data_from_last_backward): the
// host test instantiates it for Cpu, pair_data_shim.cu for Cuda. Four networks cover the device paths:
// conv -> BatchNorm (training-mode centring) -> conv with stride 2; conv -> max-pool -> conv (the route
// back through pooling); conv -> BatchNorm -> max-pool -> Flatten -> dense (routed, centred patches);
// conv -> global average pool -> dense (averaged patches). Then GradMax grows a conv -> conv pair on
// each device from that data.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/grow/width.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow::test {

// M of a pair on the host: the matrix itself, or the batch it is formed from (inputs^T grads).
struct PairDataTrace {
  Tensor<float, Cpu> matrix;          // (fan_out, fan_in); formed from the batch when the data holds one
  double gradient_scale = 1;
  std::vector<double> singular_values;  // conv -> conv growth: GradMax's
  Tensor<float, Cpu> grown_outgoing;    // ... the consumer weight after growth
};

template <class D>
PairDataTrace trace_of(const grow::GrowthData<float, D>& data) {
  PairDataTrace t;
  t.matrix = to<Cpu>(data.matrix());
  t.gradient_scale = data.gradient_scale();
  return t;
}

// One forward/backward of `net` on x with an MSE loss against a fixed target of the output's shape. The
// network keeps views of its input and of the gradient passed to backward (the last layer's output
// gradient): `batch` holds both, and must outlive the pair data taken from the network.
template <class D>
struct GrowBatch {
  Tensor<float, D> x, grad;
};
template <class D, class Net>
void grow_batch(Net& net, GrowBatch<D>& batch, const Tensor<float, Cpu>& x_host, std::uint64_t seed) {
  batch.x = to<D>(x_host);
  const ConstView<float, D> out = net.forward(batch.x.cview());
  Rng rng(seed);
  Tensor<float, Cpu> target_host(out.shape());
  for (Index i = 0; i < target_host.numel(); ++i) target_host[i] = static_cast<float>(rng.normal());
  const Tensor<float, D> target = to<D>(target_host);
  batch.grad.resize(out.shape());
  MseLoss{}(out, target.cview(), batch.grad.view());
  net.backward(batch.grad.cview());
}

// case 0: conv -> BN -> Relu1 -> conv (stride 2); 1: conv (stride 2) -> Relu1 -> max-pool -> conv;
// 2: conv -> BN -> Relu1 -> max-pool -> Flatten -> dense; 3: conv -> Relu1 -> global average pool -> dense.
// x is (N, 2, H, W).
template <class D>
PairDataTrace conv_pair_data_twin(int which, const Tensor<float, Cpu>& x, std::uint64_t seed) {
  Rng rng(seed);
  GrowBatch<D> batch;
  const Index c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (which == 0) {
    Sequential<float, D, Conv2d, BatchNorm, Relu1, Conv2d> net(
        rng, Conv2d{.in = c, .out = 5, .padding = 1}, BatchNorm{.channels = 5}, Relu1{},
        Conv2d{.in = 5, .out = 4, .stride = 2, .padding = 1});
    grow_batch<D>(net, batch, x, seed + 1);
    PairDataTrace t = trace_of<D>(grow::data_from_last_backward<0, 3>(net));
    // GradMax growth of the same pair from that data.
    grow_batch<D>(net, batch, x, seed + 1);
    const auto report = grow::grow_width<0, 3>(net, 3, grow::GradMax{}, rng, grow::data_from_last_backward<0, 3>(net));
    t.singular_values = report.singular_values;
    t.grown_outgoing = to<Cpu>(net.template layer<3>().weight().value);
    return t;
  }
  if (which == 1) {
    Sequential<float, D, Conv2d, Relu1, MaxPool2d, Conv2d> net(rng, Conv2d{.in = c, .out = 4, .stride = 2},
                                                               Relu1{}, MaxPool2d{}, Conv2d{.in = 4, .out = 3, .padding = 1});
    grow_batch<D>(net, batch, x, seed + 1);
    return trace_of<D>(grow::data_from_last_backward<0, 3>(net));
  }
  if (which == 2) {
    const Index side_h = (h - 2) / 2 + 1, side_w = (w - 2) / 2 + 1;  // a same-padded conv, then 2x2 pooling
    Sequential<float, D, Conv2d, BatchNorm, Relu1, MaxPool2d, Flatten, Dense> net(
        rng, Conv2d{.in = c, .out = 3}, BatchNorm{.channels = 3}, Relu1{}, MaxPool2d{}, Flatten{},
        Dense{.in = 3 * side_h * side_w, .out = 4});
    grow_batch<D>(net, batch, x, seed + 1);
    return trace_of<D>(grow::data_from_last_backward<0, 5>(net));
  }
  Sequential<float, D, Conv2d, Relu1, GlobalAvgPool, Dense> net(rng, Conv2d{.in = c, .out = 3, .padding = 1}, Relu1{},
                                                               GlobalAvgPool{}, Dense{.in = 3, .out = 4});
  grow_batch<D>(net, batch, x, seed + 1);
  return trace_of<D>(grow::data_from_last_backward<0, 3>(net));
}

// The Cuda twin (pair_data_shim.cu).
PairDataTrace conv_pair_data_on_cuda(int which, const Tensor<float, Cpu>& x, std::uint64_t seed);

}  // namespace netgrow::test
