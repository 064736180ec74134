// Device side of the twin-training tests: the Cuda instantiations of train_twin and flatten_pass,
// through the umbrella header users include.
#include "netgrow/cuda.hpp"
#include "twin_training.hpp"

namespace netgrow::test {

TwinTrace train_twin_on_cuda(std::uint64_t seed, const TwinWidths& w, const TwinData& data, TwinLoss loss,
                             int sgd_steps, int adam_steps) {
  return train_twin<Cuda>(seed, w, data, loss, sgd_steps, adam_steps);
}

PassTrace flatten_pass_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x, const Tensor<float, Cpu>& target) {
  return flatten_pass<Cuda>(seed, x, target);
}

}  // namespace netgrow::test
