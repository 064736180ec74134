/// \file
/// netgrow/models/vit.hpp: a Vision Transformer whose width, heads, MLP width and depth grow:
///
/// ~~~{.unparsed}
///   PatchEmbedding(C p p -> d, class token)  PositionalEmbedding(1 + P, d)
///   Stack[L](TransformerBlock d, h x dh, mlp)  LayerNorm(d)  SequencePool(class token)  Dense(d -> classes)
/// ~~~
/// images (N, C, H, W) -> logits (N, classes), trained with SoftmaxCrossEntropy. On Fashion-MNIST
/// (28 x 28, p = 7) there are P = 16 patch tokens and the class token. Growth sites as in
/// models::CharTransformer: for_each_site ("block<b>.mlp"), blocks() (depth, heads), expand_width (d:
/// grow::expand_stream with grow::Lemon or grow::Msg). float or double, on any device.
#pragma once

#include <string>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/grow/stream.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/patch_embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/layers/sequence_pool.hpp"
#include "netgrow/models/transformer_sites.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow::models {

/// The sizes of a models::Vit.
struct VitConfig {
  Index image = 28;         ///< H = W
  Index channels = 1;       ///< C
  Index patch = 7;          ///< p (divides image)
  Index classes = 10;       ///< outputs
  Index dim = 64;           ///< d
  Index layers = 2;         ///< L
  Index heads = 2;          ///< h
  Index head_dim = 32;      ///< dh
  Index mlp = 0;            ///< the MLP's hidden width; 0: 4 d
  double dropout = 0;       ///< every block's residual dropout (blocks/transformer_block.hpp), in [0, 1)
};

/// A class-token ViT for scalar S on device D (see the file comment).
template <class S, class D = Cpu>
class Vit {
 public:
  using Net = Sequential<S, D, PatchEmbedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, SequencePool,
                         Dense>;
  using Blocks = StackLayer<TransformerBlock, S, D>;  ///< the blocks

  /// Builds the network and draws its weights from `rng`; ArgumentError for sizes that do not fit.
  Vit(const VitConfig& c, Rng& rng) : net_(make(c, rng)) {}

  Net& net() { return net_; }                                        ///< the network
  Blocks& blocks() { return net_.template layer<2>(); }              ///< the transformer blocks
  Index dim() const { return net_.template layer<0>().dim(); }       ///< d now
  Index context() const { return net_.template layer<1>().context(); }  ///< tokens: 1 + P
  std::size_t depth() { return blocks().size(); }                    ///< L now

  /// Calls f(site) for every block's MLP width ("block<b>.mlp"), in network order.
  template <class F>
  void for_each_site(F&& f) {
    for_each_mlp_site(blocks(), f);
  }

  /// Model width d -> new_dim by grow::expand_stream (grow::Lemon: lossless expansion; grow::Msg: masked).
  template <class How = grow::Lemon>
  grow::StreamReport expand_width(Index new_dim, Rng& rng, const How& how = {}) {
    return grow::expand_stream(net_, new_dim, how, rng);
  }

 private:
  static Net make(const VitConfig& c, Rng& rng) {
    require(c.image > 0 && c.channels > 0 && c.patch > 0 && c.image % c.patch == 0 && c.classes > 0 && c.dim > 0 &&
                c.layers > 0 && c.heads > 0 && c.head_dim > 0 && c.mlp >= 0,
            "Vit: sizes must be positive and the patch must divide the image (got image ", c.image, ", patch ", c.patch, ")");
    const Index tokens = 1 + (c.image / c.patch) * (c.image / c.patch);
    const TransformerBlock block{.dim = c.dim, .heads = c.heads, .head_dim = c.head_dim,
                                 .mlp = c.mlp > 0 ? c.mlp : 4 * c.dim, .causal = false, .dropout = c.dropout};
    return Net(rng, PatchEmbedding{.channels = c.channels, .patch = c.patch, .dim = c.dim, .class_token = true},
               PositionalEmbedding{.context = tokens, .dim = c.dim},
               Stack<TransformerBlock>{std::vector<TransformerBlock>(static_cast<std::size_t>(c.layers), block)},
               LayerNorm{.features = c.dim}, SequencePool{.pooling = SequencePooling::first},
               Dense{.in = c.dim, .out = c.classes});
  }
  Net net_;
};

}  // namespace netgrow::models
