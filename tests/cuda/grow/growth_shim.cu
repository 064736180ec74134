// Device side of the growth twin tests: the Cuda instantiations, through the umbrella header users
// include. One .cu file per heavy twin (growth_*_shim.cu); the build compiles them as one translation
// unit unless NETGROW_CUDA_TEST_UNITY is OFF (tests/cuda/CMakeLists.txt).
#include "netgrow/cuda.hpp"
#include "twin_growth.hpp"

namespace netgrow::test {

GrowthTrace grow_mlp_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                             const Tensor<float, Cpu>& probe) {
  return grow_mlp_twin<Cuda>(seed, x, target, probe);
}

GrowthTrace grow_cnn_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                             const Tensor<float, Cpu>& probe) {
  return grow_cnn_twin<Cuda>(seed, x, target, probe);
}

DirectionsTrace gradmax_directions_on_cuda(const Tensor<float, Cpu>& m, Index k, std::uint64_t seed) {
  return gradmax_directions_twin<Cuda>(m, k, seed);
}

}  // namespace netgrow::test
