// Device side of the conv pair-data twin tests (twin_pair_data.hpp): the Cuda instantiation.
#include "netgrow/cuda.hpp"
#include "twin_pair_data.hpp"

namespace netgrow::test {

PairDataTrace conv_pair_data_on_cuda(int which, const Tensor<float, Cpu>& x, std::uint64_t seed) {
  return conv_pair_data_twin<Cuda>(which, x, seed);
}

}  // namespace netgrow::test
