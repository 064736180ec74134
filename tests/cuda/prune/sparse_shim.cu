// Device side of the sparse training twin tests: the Cuda instantiation, through the umbrella header
// users include.
#include "netgrow/cuda.hpp"
#include "twin_sparse.hpp"

namespace netgrow::test {

SparseTrace sparse_on_cuda(std::uint64_t seed, prune::Regrow regrow, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& target) {
  return sparse_twin<Cuda>(seed, regrow, x, target);
}

Eigen::MatrixXd ntk_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x) { return ntk_twin<Cuda>(seed, x); }

}  // namespace netgrow::test
