// Device side of the growth twin tests: the Cuda instantiations, through the umbrella header users
// include.
#include "netgrow/cuda.hpp"
#include "twin_growth.hpp"
#include "twin_transformer.hpp"

namespace netgrow::test {

GrowthTrace grow_mlp_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                             const Tensor<float, Cpu>& probe) {
  return grow_mlp_twin<Cuda>(seed, x, target, probe);
}

GrowthTrace grow_cnn_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                             const Tensor<float, Cpu>& probe) {
  return grow_cnn_twin<Cuda>(seed, x, target, probe);
}

GrowthTrace grow_copies_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                                const Tensor<float, Cpu>& probe) {
  return grow_copies_twin<Cuda>(seed, x, target, probe);
}

GrowthTrace grow_depth_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                               const Tensor<float, Cpu>& probe) {
  return grow_depth_twin<Cuda>(seed, x, target, probe);
}

GrowthTrace grow_transformer_on_cuda(std::uint64_t seed, Index vocabulary, const Tensor<float, Cpu>& ids,
                                     const Tensor<std::int32_t, Cpu>& targets, const Tensor<float, Cpu>& probe) {
  return grow_transformer_twin<Cuda>(seed, vocabulary, ids, targets, probe);
}

DirectionsTrace gradmax_directions_on_cuda(const Tensor<float, Cpu>& m, Index k, std::uint64_t seed) {
  return gradmax_directions_twin<Cuda>(m, k, seed);
}

}  // namespace netgrow::test
