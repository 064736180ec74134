// Device side of the growth twin tests (see growth_shim.cu): the Wide-ResNet depth twin.
#include "netgrow/cuda.hpp"
#include "twin_growth.hpp"

namespace netgrow::test {

GrowthTrace grow_depth_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                               const Tensor<float, Cpu>& probe) {
  return grow_depth_twin<Cuda>(seed, x, target, probe);
}

}  // namespace netgrow::test
