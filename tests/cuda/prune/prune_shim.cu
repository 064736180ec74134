// Device side of the pruning twin tests: the Cuda instantiations (sparse training and the empirical NTK,
// the pruning scores, the growth controllers' site measures), through the umbrella header users include.
// One translation unit: nvcc parses the library once for all of them.
#include "netgrow/cuda.hpp"
#include "twin_scores.hpp"
#include "twin_sparse.hpp"

namespace netgrow::test {

SparseTrace sparse_on_cuda(std::uint64_t seed, prune::Regrow regrow, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& target) {
  return sparse_twin<Cuda>(seed, regrow, x, target);
}

Eigen::MatrixXd ntk_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x) { return ntk_twin<Cuda>(seed, x); }

ScoreTrace score_on_cuda(std::uint64_t seed, const ScoreData& data) { return score_twin<Cuda>(seed, data); }

MeasureTrace measure_on_cuda(std::uint64_t seed, const ScoreData& data) { return measure_twin<Cuda>(seed, data); }

}  // namespace netgrow::test
