/// \file
/// netgrow/grow/msg.hpp: masked structural growth (MSG; Yao, Zhang, Li and Wang, "Masked Structural
/// Growth for 2x Faster Language Model Pre-training", ICLR 2024) for transformers: every new unit
/// enters multiplied by a mask rising linearly from 0 to 1 over Msg::fade_steps optimizer steps
/// (layers/fade_mask.hpp), so the growth keeps the function exactly *whatever the new weights are*;
/// they are drawn at random here (MSG decouples function preservation from initialisation).
/// ~~~{.unparsed}
///   model width d    grow::expand_stream(net, d', Msg{...}, rng)   masked LayerNorms (grow/stream.hpp)
///   MLP width        grow_mlp_masked(block, k, msg, rng)           fc2's new inputs faded
///   heads            grow_heads_masked(attention, k, msg, rng)     the new heads' outputs faded
///   depth            grow_depth_masked(blocks, i, msg, rng)        a random block, both branches faded
/// ~~~
/// Masks differ from MSG's code in one place: a new head is faded at its output (one mask before the
/// output projection) rather than on its query, key and value; both give 0 at mask 0. The training loop
/// calls advance_fades(net) after each optimizer step; when a mask reaches 1 it is dropped and the layer
/// computes as a plain one. Gradients, Adam moments and learning-rate factors of new weights start as
/// every growth's do (zero moments, factor 1). Masks are not written to checkpoints: io refuses to save
/// while a fade is in progress (fading(net)). Any device: on a GPU the masks run there, and a recorded
/// step (cuda::StepGraph) stays valid through a fade; call advance_fades outside the recorded step.
///
/// ~~~
///   grow::Msg msg{.fade_steps = 100};
///   grow::expand_stream(net, 128, msg, rng);
///   for (auto& block : blocks) grow::grow_mlp_masked(block, 256, msg, rng);
///   ...; adam.step(net); grow::advance_fades(net);
/// ~~~
#pragma once

#include <cmath>
#include <cstdint>

#include "netgrow/grow/heads.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/stream.hpp"
#include "netgrow/grow/transformer.hpp"

namespace netgrow::grow {

/// Moves every fade in `net` (a Sequential, or any layer with advance_fades) `steps` steps on; returns
/// whether one is still in progress. Call it once per optimizer step.
template <class Net>
bool advance_fades(Net& net, std::int64_t steps = 1) {
  if constexpr (requires { net.advance_fades(steps); }) {
    return net.advance_fades(steps);
  } else {
    bool any = false;
    net.for_each_layer([&](auto, auto& layer) {
      if constexpr (requires { layer.advance_fades(steps); }) any = layer.advance_fades(steps) || any;
    });
    return any;
  }
}

/// True while a fade is in progress anywhere in `net`.
template <class Net>
bool fading(const Net& net) {
  bool any = false;
  net.for_each_layer([&](auto, const auto& layer) {
    if constexpr (requires { layer.fading(); }) any = any || layer.fading();
  });
  return any;
}

/// MSG's MLP growth: k neurons with random incoming and outgoing weights (Random with epsilon 1: both
/// sides at the existing mean row norms), faded in at fc2's inputs.
template <class S, class D>
GrowthReport grow_mlp_masked(TransformerBlockLayer<S, D>& block, Index k, const Msg& msg, Rng& rng) {
  require(msg.fade_steps >= 1, "grow_mlp_masked: fade_steps must be >= 1, got ", msg.fade_steps);
  const Index old = block.mlp_width();
  GrowthReport report = grow_mlp(block, k, Random{.epsilon = 1.0}, rng);
  if (k > 0) block.fade_mlp(old, msg.fade_steps);
  return report;
}

/// MSG's head growth: k heads with random query, key and value rows (HeadsRandom) and random output
/// columns (entries N(0, rms^2), rms of the existing output weights), faded in at their outputs.
template <class S, class D>
HeadReport grow_heads_masked(MultiHeadAttentionLayer<S, D>& attention, Index k, const Msg& msg, Rng& rng) {
  require(msg.fade_steps >= 1, "grow_heads_masked: fade_steps must be >= 1, got ", msg.fade_steps);
  const Index old = attention.heads(), dh = attention.head_dim();
  const auto& w = attention.output().weight().value;  // (d, h dh)
  const double rms = std::sqrt(ops::squared_norm<S>(w.cview()) / static_cast<double>(w.numel()));
  HeadReport report = grow_heads(attention, k, HeadsRandom{}, rng);
  if (k == 0) return report;
  auto& grown = attention.output().weight().value;
  Tensor<S, Cpu> host(grown.shape());  // drawn on the host in the same order on every device
  grow::copy_between<S>(grown.cview(), host.view());
  for (Index r = 0; r < host.dim(0); ++r)
    for (Index c = old * dh; c < host.dim(1); ++c) host.at(r, c) = static_cast<S>(rng.normal() * rms);
  grow::copy_between<S>(host.cview(), grown.view());
  attention.fade_heads(old, msg.fade_steps);
  return report;
}

/// MSG's depth growth: a new block at position `index` built like its neighbour (block index - 1, or 0)
/// with freshly drawn weights, both branches faded in: the identity now, whatever its weights.
template <class S, class D>
DepthReport grow_depth_masked(StackLayer<TransformerBlock, S, D>& blocks, std::size_t index, const Msg& msg, Rng& rng) {
  require(msg.fade_steps >= 1, "grow_depth_masked: fade_steps must be >= 1, got ", msg.fade_steps);
  require(index <= blocks.size(), "grow_depth_masked: position ", index, " in a stack of ", blocks.size(), " blocks");
  require(blocks.size() > 0, "grow_depth_masked: the stack has no block to take the shape from");
  const double start = monotonic_seconds();
  const TransformerBlock kind = blocks.block(index == 0 ? 0 : index - 1).kind();
  TransformerBlockLayer<S, D> block(kind, rng);
  block.fade_in(msg.fade_steps);
  DepthReport report;
  report.index = index;
  report.old_depth = blocks.size();
  blocks.insert(index, std::move(block));
  report.new_depth = blocks.size();
  report.seconds = monotonic_seconds() - start;
  return report;
}

}  // namespace netgrow::grow
