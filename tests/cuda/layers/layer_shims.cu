// Device side of the layer tests: the Cuda instantiations of run_layer (layer_run.hpp) and
// train_cnn (cnn_twin.hpp).
#include "netgrow/cuda.hpp"

#include "cnn_twin.hpp"
#include "layer_run.hpp"

namespace netgrow::test {

LayerRun run_layer_on_cuda(const Conv2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<Conv2d, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const ConvTranspose2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<ConvTranspose2d, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const DepthwiseConv2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<DepthwiseConv2d, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const BatchNorm& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<BatchNorm, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const LayerNorm& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<LayerNorm, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const MaxPool2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<MaxPool2d, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const AvgPool2d& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<AvgPool2d, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const GlobalAvgPool& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<GlobalAvgPool, Cuda>(kind, seed, x, dy, options);
}

LayerRun run_layer_on_cuda(const MultiHeadAttention& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<MultiHeadAttention, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const Embedding& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<Embedding, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const PositionalEmbedding& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<PositionalEmbedding, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const PatchEmbedding& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<PatchEmbedding, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const SequencePool& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<SequencePool, Cuda>(kind, seed, x, dy, options);
}
LayerRun run_layer_on_cuda(const TransformerBlock& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<TransformerBlock, Cuda>(kind, seed, x, dy, options);
}

LayerRun run_layer_on_cuda(const Dropout& kind, std::uint64_t seed, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& dy, const LayerRunOptions& options) {
  return run_layer<Dropout, Cuda>(kind, seed, x, dy, options);
}

std::string record_dropout_in_graph(Mode mode) {
  Rng rng(1);
  DropoutLayer<float, Cuda> layer(Dropout{.p = 0.5}, rng);
  Tensor<float, Cuda> x(Shape{4, 9}), y(Shape{4, 9});
  ops::fill<float>(x.view(), 1.0f);
  cuda::StepGraph graph;
  try {
    for (int i = 0; i < 3; ++i) graph.run([&] { layer.forward(x.cview(), y.view(), mode); });
  } catch (const StateError& e) {
    return e.what();
  }
  return "";
}

CnnTrace<float> train_cnn_on_cuda(std::uint64_t seed, const CnnData<float>& data, int steps) {
  return train_cnn<float, Cuda>(seed, data, steps);
}
CnnTrace<double> train_cnn_on_cuda(std::uint64_t seed, const CnnData<double>& data, int steps) {
  return train_cnn<double, Cuda>(seed, data, steps);
}

}  // namespace netgrow::test
