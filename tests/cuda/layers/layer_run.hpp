// One forward/backward run of a single layer (conv family, attention, transformer block), written once against the device D: the host
// tests instantiate it for Cpu, layer_shims.cu for Cuda. Both twins build the layer from the same seed
// (layers draw their initial weights on the host for every device), may overwrite every parameter with
// the same seeded random values (so BatchNorm's gamma/beta/running statistics are not trivial), run
// `steps` forward + backward passes on the same input and output gradient, and return everything on
// the host.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include the layer headers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/layers/avg_pool2d.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/conv_transpose2d.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"
#include "netgrow/layers/dropout.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "netgrow/layers/patch_embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/layers/sequence_pool.hpp"
#include "netgrow/layers/multi_head_attention.hpp"
#include "netgrow/blocks/transformer_block.hpp"

namespace netgrow::test {

struct LayerRunOptions {
  Mode mode = Mode::train;
  bool input_grad = true;           // pass a dx to backward (false: an empty view)
  bool accumulate = false;          // backward adds to the gradients (which start as seeded random values)
  int steps = 1;                    // forward + backward passes (BatchNorm's running statistics compound)
  std::uint64_t parameter_seed = 0;  // != 0: overwrite every parameter with values drawn from this seed
};

// What a run leaves behind, on the host.
struct LayerRun {
  Tensor<float, Cpu> y, dx;                  // of the last step
  std::vector<std::string> names;            // parameters in visit order
  std::vector<Tensor<float, Cpu>> values;    // after the last step (running statistics included)
  std::vector<Tensor<float, Cpu>> gradients;  // of the last step
};

template <class Kind, class D>
LayerRun run_layer(const Kind& kind, std::uint64_t seed, const Tensor<float, Cpu>& x_host,
                   const Tensor<float, Cpu>& dy_host, const LayerRunOptions& options) {
  Rng rng(seed);
  layer_t<Kind, float, D> layer(kind, rng);
  if (options.parameter_seed != 0) {
    Rng values(options.parameter_seed);
    layer.visit_parameters([&](std::string_view name, Parameter<float, D>& p) {
      Tensor<float, Cpu> v(p.value.shape()), g(p.value.shape());
      if (name == "running_var") fill_uniform(v.view(), 0.5, 2.0, values);
      else fill_normal(v.view(), name == "weight" && p.value.rank() == 1 ? 1.0 : 0.0, 0.5, values);
      fill_normal(g.view(), 0.0, 1.0, values);
      copy(v.cview(), p.value.view());
      copy(g.cview(), p.grad.view());  // what `accumulate` adds to
    });
  }
  Tensor<float, D> x(x_host.shape()), dy(dy_host.shape());
  copy(x_host.cview(), x.view());
  copy(dy_host.cview(), dy.view());
  Tensor<float, D> y(layer.output_shape(x.shape())), dx(x.shape());
  for (int step = 0; step < options.steps; ++step) {
    layer.forward(x.cview(), y.view(), options.mode);
    layer.backward(x.cview(), y.cview(), dy.cview(), options.input_grad ? dx.view() : TensorView<float, D>(),
                   options.accumulate);
  }
  LayerRun run;
  run.y = Tensor<float, Cpu>(y.shape());
  copy(y.cview(), run.y.view());
  if (options.input_grad) {
    run.dx = Tensor<float, Cpu>(dx.shape());
    copy(dx.cview(), run.dx.view());
  }
  layer.visit_parameters([&](std::string_view name, Parameter<float, D>& p) {
    run.names.emplace_back(name);
    Tensor<float, Cpu> v(p.value.shape()), g(p.grad.shape());
    copy(p.value.cview(), v.view());
    copy(p.grad.cview(), g.view());
    run.values.push_back(std::move(v));
    run.gradients.push_back(std::move(g));
  });
  return run;
}

// The Cuda twins (layer_shims.cu).
LayerRun run_layer_on_cuda(const ConvTranspose2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const Conv2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const DepthwiseConv2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const BatchNorm& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const LayerNorm& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const MaxPool2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const AvgPool2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const GlobalAvgPool& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const MultiHeadAttention& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const Embedding& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const PositionalEmbedding& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const PatchEmbedding& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const SequencePool& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const TransformerBlock& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
LayerRun run_layer_on_cuda(const Dropout& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options);
// Records a Dropout's forward in `mode` into a cuda::StepGraph three times: the StateError's message, or "".
std::string record_dropout_in_graph(Mode mode);

}  // namespace netgrow::test
