// Device side of the growth twin tests (see growth_shim.cu): the transformer twins (every growth, MSG, the
// ViT model builder).
#include "netgrow/cuda.hpp"
#include "twin_transformer.hpp"

namespace netgrow::test {

GrowthTrace grow_transformer_on_cuda(std::uint64_t seed, Index vocabulary, const Tensor<float, Cpu>& ids,
                                     const Tensor<std::int32_t, Cpu>& targets, const Tensor<float, Cpu>& probe) {
  return grow_transformer_twin<Cuda>(seed, vocabulary, ids, targets, probe);
}

GrowthTrace grow_transformer_msg_on_cuda(std::uint64_t seed, Index vocabulary, const Tensor<float, Cpu>& ids,
                                         const Tensor<std::int32_t, Cpu>& targets, const Tensor<float, Cpu>& probe,
                                         std::vector<bool>& fading) {
  return grow_transformer_msg_twin<Cuda>(seed, vocabulary, ids, targets, probe, fading);
}

GrowthTrace grow_vit_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& images, const Tensor<std::int32_t, Cpu>& labels,
                             const Tensor<float, Cpu>& probe) {
  return grow_vit_twin<Cuda>(seed, images, labels, probe);
}

}  // namespace netgrow::test
