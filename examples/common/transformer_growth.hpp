// examples/common/transformer_growth.hpp: the growth recipes the transformer examples compare, for any
// model with blocks() and expand_width() (models::CharTransformer, models::Vit): each takes the model
// from its small sizes to `Target` in one step.
//   lemon(false)  LEMON (Wang et al. 2024): d by the lossless expansion through LayerNorm, MLP neurons by
//                 grow::Lemon, heads by HeadsCopy (duplicated, output columns split), depth by
//                 expand_depth (zero-output copies in interpolation order)
//   lemon(true)   G_stack (Du et al. 2024): widths as LEMON, depth by stacking copies of the blocks (NOT
//                 function-preserving)
//   by(mlp, heads, depth)  d by LEMON's expansion (no other way keeps the function), then MLP neurons, heads
//                 and zero-output blocks (interleaved after each existing block) by the given
//                 initializers, each data-driven one on a fresh grow batch (refresh())
//   msg()         masked structural growth (Yao et al. 2024): every dimension with random new weights,
//                 faded in over Target::fade_steps (the training loop calls grow::advance_fades)
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/grow/msg.hpp"
#include "netgrow/grow/transformer.hpp"

namespace examples {

/// The sizes a recipe grows to.
struct TransformerTarget {
  netgrow::Index dim = 0, layers = 0, heads = 0, mlp = 0;
  netgrow::Index context = 0;     ///< > 0: the positional table too (models with grow_context)
  std::int64_t fade_steps = 100;  ///< MSG's ramp
};

/// "d128 L4 h4 mlp512" (block 0's heads and MLP width), with " T128" for a model whose context grows.
template <class Model>
std::string transformer_sizes(Model& m) {
  auto& b = m.blocks().block(0);
  std::string s = "d" + std::to_string(m.dim()) + " L" + std::to_string(m.depth()) + " h" +
                  std::to_string(b.attention().heads()) + " mlp" + std::to_string(b.mlp_width());
  if constexpr (requires(netgrow::Rng& rng) { m.grow_context(1, rng); }) s += " T" + std::to_string(m.context());
  return s;
}

template <class Model>
using TransformerRecipe =
    std::function<void(Model&, const TransformerTarget&, netgrow::Rng&, const std::function<void()>& refresh)>;

template <class Model>
void grow_context_to(Model& m, const TransformerTarget& t, netgrow::Rng& rng) {
  if constexpr (requires { m.grow_context(t.context, rng); })
    if (t.context > m.context()) m.grow_context(t.context, rng);
}

template <class Model>
TransformerRecipe<Model> lemon_recipe(bool stack_copies) {
  return [=](Model& m, const TransformerTarget& t, netgrow::Rng& rng, const std::function<void()>&) {
    using namespace netgrow;
    grow_context_to(m, t, rng);
    m.expand_width(t.dim, rng);
    auto& blocks = m.blocks();
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      auto& block = blocks.block(b);
      grow::grow_mlp(block, t.mlp - block.mlp_width(), grow::Lemon{}, rng);
      grow::grow_heads(block.attention(), t.heads - block.attention().heads(), grow::HeadsCopy{}, rng);
    }
    if (stack_copies) {
      require(t.layers % static_cast<Index>(blocks.size()) == 0, "G_stack: the big depth must be a multiple of the small one");
      grow::stack_copies(blocks, static_cast<int>(t.layers / static_cast<Index>(blocks.size())));
    } else {
      grow::expand_depth(blocks, static_cast<std::size_t>(t.layers));
    }
  };
}

template <class Model, class MlpInit, class HeadInit, class DepthInit>
TransformerRecipe<Model> recipe_by(MlpInit mlp_init, HeadInit head_init, DepthInit depth_init) {
  return [=](Model& m, const TransformerTarget& t, netgrow::Rng& rng, const std::function<void()>& refresh) {
    using namespace netgrow;
    grow_context_to(m, t, rng);
    m.expand_width(t.dim, rng);
    auto& blocks = m.blocks();
    refresh();  // one grow batch serves every block: each growth keeps the function, so the others' data stay exact
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      auto& block = blocks.block(b);
      const Index k = t.mlp - block.mlp_width();
      if constexpr (grow::initializer_traits<MlpInit>::needs_data)
        grow::grow_mlp(block, k, mlp_init, rng, grow::mlp_data_from_last_backward(block));
      else
        grow::grow_mlp(block, k, mlp_init, rng);
    }
    refresh();
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      auto& block = blocks.block(b);
      grow::grow_heads(block.attention(), t.heads - block.attention().heads(), head_init, rng,
                       grow::head_data_from_last_backward(block));
    }
    for (std::size_t index = 1; static_cast<Index>(blocks.size()) < t.layers; index += 2) {
      refresh();
      grow::grow_depth(blocks, index, depth_init, rng, grow::depth_data_from_last_backward(blocks, index));
    }
  };
}

template <class Model>
TransformerRecipe<Model> msg_recipe() {
  return [](Model& m, const TransformerTarget& t, netgrow::Rng& rng, const std::function<void()>&) {
    using namespace netgrow;
    const grow::Msg msg{.fade_steps = t.fade_steps};
    grow_context_to(m, t, rng);
    m.expand_width(t.dim, rng, msg);
    auto& blocks = m.blocks();
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      auto& block = blocks.block(b);
      grow::grow_mlp_masked(block, t.mlp - block.mlp_width(), msg, rng);
      grow::grow_heads_masked(block.attention(), t.heads - block.attention().heads(), msg, rng);
    }
    for (std::size_t index = 1; static_cast<Index>(blocks.size()) < t.layers; index += 2)
      grow::grow_depth_masked(blocks, index, msg, rng);
  };
}

}  // namespace examples
