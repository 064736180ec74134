/// \file
/// netgrow/grow/transformer.hpp: the growth sites of a transformer block (blocks/transformer_block.hpp)
/// in one place. Every one keeps the network's function exactly except G_stack.
///
/// ~~~
///   auto& block = net.layer<2>().block(0);                                    // Stack<TransformerBlock>
///   // MLP width (d -> mlp -> d through GELU): every width initializer that applies
///   grow::grow_mlp(block, 64, grow::GradMax{}, rng, grow::mlp_data_from_last_backward(block));
///   grow::grow_mlp(block, 64, grow::Lemon{}, rng);                            // or Random, Split, VarianceTransfer
///   // heads (grow/heads.hpp)
///   grow::grow_heads(block.attention(), 2, grow::HeadsGradMax{}, rng, grow::head_data_from_last_backward(block));
///   // depth (grow/depth.hpp, grow/lemon.hpp, grow/gstack.hpp): a block whose attention and MLP output 0
///   grow::grow_depth(net.layer<2>(), 1, grow::DepthGradMax{}, rng, grow::depth_data_from_last_backward(net.layer<2>(), 1));
///   grow::expand_depth(net.layer<2>(), 4);                                    // LEMON: zero-output copies
///   grow::stack_copies(net.layer<2>(), 2);                                    // G_stack (changes the function)
///   // model width d (grow/stream.hpp): LEMON through every LayerNorm, embedding and residual path
///   grow::expand_stream(net, 128, grow::Lemon{}, rng);
/// ~~~
/// GELU has f(0) = 0 and f'(0) = 1/2, so GradMax and the zero-incoming initializers apply to the MLP;
/// GradMax's new fc1 rows get the gradient (1/2) O M on the first step.
#pragma once

#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/gstack.hpp"
#include "netgrow/grow/heads.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/grow/stream.hpp"
#include "netgrow/grow/width.hpp"

namespace netgrow::grow {

/// Adds k neurons to the block's MLP (fc1's outputs, fc2's inputs) with a width initializer; see
/// grow_width (grow/width.hpp) for what carries over (gradients, Adam moments, learning-rate factors).
template <class S, class D, class Init>
GrowthReport grow_mlp(TransformerBlockLayer<S, D>& block, Index k, const Init& init, Rng& rng,
                      const GrowthData<S, D>& data = {}) {
  using Block = TransformerBlockLayer<S, D>;
  return grow_width<Block::mlp_producer, Block::mlp_consumer>(block.mlp(), k, init, rng, data);
}

/// The MLP pair's grow batch from the last forward and backward of the network: the rows of LN2's
/// output (N T, d) and of dL/d(fc2 output) (N T, d), for GradMax's M = sum dz h^T.
template <class S, class D>
GrowthData<S, D> mlp_data_from_last_backward(TransformerBlockLayer<S, D>& block) {
  using Block = TransformerBlockLayer<S, D>;
  return data_from_last_backward<Block::mlp_producer, Block::mlp_consumer>(block.mlp());
}

}  // namespace netgrow::grow
