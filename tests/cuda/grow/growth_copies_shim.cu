// Device side of the growth twin tests (see growth_shim.cu): the copying initializers' twin.
#include "netgrow/cuda.hpp"
#include "twin_growth.hpp"

namespace netgrow::test {

GrowthTrace grow_copies_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target,
                                const Tensor<float, Cpu>& probe) {
  return grow_copies_twin<Cuda>(seed, x, target, probe);
}

}  // namespace netgrow::test
