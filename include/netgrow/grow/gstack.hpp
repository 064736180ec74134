/// \file
/// netgrow/grow/gstack.hpp: G_stack depth growth (Du et al., "Stacking Your Transformers", NeurIPS 2024):
/// a trained stack of L blocks becomes one of g L blocks by stacking copies of the whole stack,
/// b_1 .. b_L b_1 .. b_L ... (their "G_direct" in depth, the operator their 7B results use).
///
/// ~~~
///   grow::stack_copies(net.layer<2>(), 2);   // 2 transformer blocks -> 4: b1 b2 b1 b2
/// ~~~
///
/// Unlike every other growth in netgrow, this one does NOT keep the network's function: each copy
/// adds its residual branches a second time. The paper's argument is that the stacked model trains
/// faster from there than a new one; measure what the first evaluation after growth costs (the
/// character-model example prints it). The copies' gradients and optimizer state start at zero, like
/// every new block's.
#pragma once

#include <cstddef>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/core/clock.hpp"
#include "netgrow/grow/depth.hpp"

namespace netgrow::grow {

/// Stacks `factor` - 1 copies of every block of `stack` after its last block (see the file comment):
/// depth L -> factor L. Every block must keep its input's shape (an identity-skip block). Throws for
/// factor < 1, leaving the stack unchanged.
template <class K, class S, class D>
DepthReport stack_copies(StackLayer<K, S, D>& stack, int factor) {
  require(factor >= 1, "stack_copies: factor must be >= 1, got ", factor);
  const double start = monotonic_seconds();
  DepthReport report;
  report.old_depth = stack.size();
  report.index = stack.size();
  for (std::size_t i = 0; i < stack.size(); ++i) {
    const auto [in, out] = detail::kind_channels(stack.block(i).kind());
    require<ShapeError>(in == out, "stack_copies: block ", i, " (", stack.block(i).describe(), ") changes the width; "
                        "only a stack of shape-keeping blocks can be stacked on itself");
  }
  const std::size_t depth = stack.size();
  std::vector<typename StackLayer<K, S, D>::block_type> copies;
  Rng unused(0);  // every drawn value is overwritten by the copy
  for (int r = 1; r < factor; ++r)
    for (std::size_t i = 0; i < depth; ++i) {
      auto& source = stack.block(i);
      typename StackLayer<K, S, D>::block_type block(source.kind(), unused);
      std::vector<Tensor<S, D>> values = detail::parameter_values(source);
      detail::restore_parameter_values(block, values);
      detail::fresh_gradients_and_state(block, stack);
      copies.push_back(std::move(block));
    }
  for (auto& block : copies) stack.insert(stack.size(), std::move(block));
  report.new_depth = stack.size();
  report.seconds = monotonic_seconds() - start;
  return report;
}

}  // namespace netgrow::grow
