/// \file
/// netgrow/models/char_transformer.hpp: a GPT-style causal character model whose width, heads, MLP
/// width, depth and context grow:
///
/// ~~~{.unparsed}
///   Embedding(V -> d)  PositionalEmbedding(context, d)  Stack[L](TransformerBlock d, h x dh, mlp, causal)
///   LayerNorm(d)  Dense(d -> V)
/// ~~~
/// ids (N, T) -> logits (N, T, V), trained with SequenceCrossEntropy on next characters. Growth sites:
/// ~~~{.unparsed}
///   for_each_site    "block<b>.mlp": the MLP width of every block (models::PairSite: any width
///                    initializer, the growth controller's measures)
///   blocks()         the Stack: depth (grow_depth, expand_depth, stack_copies), heads
///                    (grow_heads(blocks().block(b).attention(), ...))
///   expand_width     the model width d (grow::expand_stream: LEMON through every LayerNorm)
///   grow_context     the positional table
/// ~~~
/// The output head starts small (weights x 0.1 by default), so a fresh model predicts close to uniform.
#pragma once

#include <string>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/grow/stream.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/models/transformer_sites.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow::models {

/// CharTransformer's sizes.
struct CharTransformerConfig {
  Index vocabulary = 65;     ///< V (Tiny Shakespeare has 65 characters)
  Index context = 64;        ///< the longest sequence
  Index dim = 64;            ///< d
  Index layers = 2;          ///< L
  Index heads = 2;           ///< h
  Index head_dim = 32;       ///< dh
  Index mlp = 0;             ///< the MLP's hidden width; 0: 4 d
  double head_scale = 0.1;   ///< factor on the output head's initial weights
  double dropout = 0;        ///< every block's residual dropout (blocks/transformer_block.hpp), in [0, 1)
};

/// The character model for scalar S on device D (see the file comment).
template <class S, class D = Cpu>
class CharTransformer {
 public:
  /// The network type.
  using Net = Sequential<S, D, Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense>;
  using Blocks = StackLayer<TransformerBlock, S, D>;  ///< the blocks

  /// Builds the model, drawing from `rng`; throws for non-positive sizes.
  CharTransformer(const CharTransformerConfig& c, Rng& rng) : net_(make(c, rng)) {
    ops::scale<S>(net_.template layer<4>().weight().value.view(), static_cast<S>(c.head_scale));
  }

  Net& net() { return net_; }                                ///< the network
  Blocks& blocks() { return net_.template layer<2>(); }      ///< the transformer blocks
  Index dim() const { return net_.template layer<0>().dim(); }            ///< d now
  Index context() const { return net_.template layer<1>().context(); }    ///< the context now
  std::size_t depth() { return blocks().size(); }                         ///< L now

  /// Calls f(site) for every block's MLP width ("block<b>.mlp"), in network order.
  template <class F>
  void for_each_site(F&& f) {
    for_each_mlp_site(blocks(), f);
  }

  /// Widens d (grow::expand_stream with LEMON's split); keeps the function.
  template <class How = grow::Lemon>
  grow::StreamReport expand_width(Index new_dim, Rng& rng, const How& how = {}) {
    return grow::expand_stream(net_, new_dim, how, rng);
  }
  /// Lengthens the context (PositionalEmbeddingLayer::grow_context); keeps the function on shorter sequences.
  void grow_context(Index new_context, Rng& rng) { net_.template layer<1>().grow_context(new_context, rng); }

 private:
  static Net make(const CharTransformerConfig& c, Rng& rng) {
    require(c.vocabulary > 0 && c.context > 0 && c.dim > 0 && c.layers > 0 && c.heads > 0 && c.head_dim > 0 &&
                c.mlp >= 0,
            "CharTransformer: sizes must be positive (mlp 0 for 4 d)");
    const TransformerBlock block{.dim = c.dim, .heads = c.heads, .head_dim = c.head_dim,
                                 .mlp = c.mlp > 0 ? c.mlp : 4 * c.dim, .causal = true, .dropout = c.dropout};
    return Net(rng, Embedding{.vocabulary = c.vocabulary, .dim = c.dim},
               PositionalEmbedding{.context = c.context, .dim = c.dim},
               Stack<TransformerBlock>{std::vector<TransformerBlock>(static_cast<std::size_t>(c.layers), block)},
               LayerNorm{.features = c.dim}, Dense{.in = c.dim, .out = c.vocabulary});
  }
  Net net_;
};

}  // namespace netgrow::models
