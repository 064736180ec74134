/// \file
/// netgrow/models/transformer_sites.hpp: the growth sites of a stack of transformer blocks, shared by
/// the transformer models (char_transformer.hpp, vit.hpp): the MLP width of every block, named
/// "block<b>.mlp", as a models::PairSite (any width initializer; the controller's measures read the
/// token rows).
#pragma once

#include <string>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/models/growth_site.hpp"

namespace netgrow::models {

/// Calls f(site) for every block's MLP ("block<b>.mlp"), in network order.
template <class S, class D, class F>
void for_each_mlp_site(StackLayer<TransformerBlock, S, D>& blocks, F&& f) {
  using Block = TransformerBlockLayer<S, D>;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    auto site = pair_site<Block::mlp_producer, Block::mlp_consumer>(blocks.block(b).mlp(), "block" + std::to_string(b) + ".mlp");
    f(site);
  }
}

}  // namespace netgrow::models
