// The transformer growth run both twins execute (tests/cuda/grow/test_growth_on_cuda.cpp): a causal
// character model (Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense; d 8, two
// blocks of 2 heads x 4, MLP 16) trained with Adam on next-token cross-entropy, grown at every site in
// every function-preserving way, then trained on. Written once against the device parameter D; the
// layers draw on the host, so the twins start alike.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/heads.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/grow/msg.hpp"
#include "netgrow/grow/transformer.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/models/vit.hpp"
#include "twin_growth.hpp"

namespace netgrow::test {

template <class D>
using CharTwin = Sequential<float, D, Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense>;

// The character model of both transformer twins (d 8, two causal blocks of 2 heads x 4, MLP 16) with its
// Adam and data on D: step(update) runs a forward and backward pass (and an Adam step, then the MSG fades'
// advance, when `update`) and returns the loss; probe(mode) the probe's logits on the host.
template <class D>
struct CharTwinRun {
  CharTwinRun(Rng& rng, Index vocabulary, const Tensor<float, Cpu>& ids_host,
              const Tensor<std::int32_t, Cpu>& targets_host, const Tensor<float, Cpu>& probe_host)
      : net(rng, Embedding{.vocabulary = vocabulary, .dim = 8}, PositionalEmbedding{.context = 12, .dim = 8},
            Stack<TransformerBlock>{{kind(), kind()}}, LayerNorm{.features = 8}, Dense{.in = 8, .out = vocabulary}),
        ids(to<D>(ids_host)),
        probe_ids(to<D>(probe_host)),
        targets(to<D>(targets_host)) {}

  static TransformerBlock kind() { return {.dim = 8, .heads = 2, .head_dim = 4, .mlp = 16, .causal = true}; }

  double step(bool update) {
    const ConstView<float, D> logits = net.forward(ids.cview());
    grad.resize(logits.shape());
    const double loss = SequenceCrossEntropy{}(logits, targets, grad).loss;
    net.backward(grad.cview());
    if (update) {
      adam.step(net);
      grow::advance_fades(net);
    }
    return loss;
  }
  Tensor<float, Cpu> probe(Mode mode) { return to<Cpu>(net.forward(probe_ids.cview(), mode)); }

  CharTwin<D> net;
  Adam adam{0.01, AdamOptions{.eps = 1e-3}};  // a large eps: rounding-level gradients move nothing
  Tensor<float, D> ids, probe_ids, grad;
  Tensor<std::int32_t, D> targets;
};

// ids (N, T) as floats in [0, V), targets (N, T) in [0, V); probe ids (M, T). In order: GradMax MLP
// width of block 0 (+4), LEMON MLP width of block 1 (+5), a GradMax head in block 0, two copied heads
// (split output columns with noise) in block 1, a random head in block 0, a zero-output block at
// position 1, LEMON's copies to depth 4, and LEMON's model width d 8 -> 12 (4 average features); then
// G_stack doubles the depth to 8 (not function-preserving: after the probes).
// The singular values are the MLP GradMax's, then the head GradMax's.
template <class D>
GrowthTrace grow_transformer_twin(std::uint64_t seed, Index vocabulary, const Tensor<float, Cpu>& ids_host,
                                  const Tensor<std::int32_t, Cpu>& targets_host, const Tensor<float, Cpu>& probe_host) {
  Rng rng(seed);
  CharTwinRun<D> run(rng, vocabulary, ids_host, targets_host, probe_host);
  auto& net = run.net;
  auto step = [&](bool update) { return run.step(update); };
  for (int i = 0; i < 3; ++i) step(true);
  GrowthTrace trace;
  trace.before_eval = run.probe(Mode::eval);
  trace.before_train = run.probe(Mode::train);
  auto& stack = net.template layer<2>();
  step(false);
  const grow::GrowthReport mlp =
      grow::grow_mlp(stack.block(0), 4, grow::GradMax{}, rng, grow::mlp_data_from_last_backward(stack.block(0)));
  trace.singular_values = mlp.singular_values;
  grow::grow_mlp(stack.block(1), 5, grow::Lemon{}, rng);
  step(false);
  const grow::HeadReport head = grow::grow_heads(stack.block(0).attention(), 1, grow::HeadsGradMax{}, rng,
                                                 grow::head_data_from_last_backward(stack.block(0)));
  trace.singular_values.insert(trace.singular_values.end(), head.singular_values.begin(), head.singular_values.end());
  grow::grow_heads(stack.block(1).attention(), 2, grow::HeadsCopy{.noise = 0.1}, rng);
  grow::grow_heads(stack.block(0).attention(), 1, grow::HeadsRandom{}, rng);
  grow::grow_depth(stack, 1, grow::DepthZero{}, rng);
  grow::expand_depth(stack, 4);
  grow::expand_stream(net, 12, grow::Lemon{}, rng);
  trace.after_eval = run.probe(Mode::eval);
  trace.after_train = run.probe(Mode::train);
  grow::stack_copies(stack, 2);  // G_stack: changes the function, so after the preservation probes
  finish_trace<D>(net, step, trace);
  return trace;
}

// Masked structural growth (MSG) of the same model: model width d 8 -> 12 (masked LayerNorms), MLP width
// of block 0 (+3), a head in block 1, a random block at position 1, all faded in over 4 steps. Recorded:
// the probes around the growth (the function kept whatever the new weights), the parameters right after,
// the losses of 6 Adam steps with advance_fades after each (the fades run out after 4: masked passes,
// then plain ones), the parameters and optimizer state after them; `fading` after 3 and after 6 steps.
template <class D>
GrowthTrace grow_transformer_msg_twin(std::uint64_t seed, Index vocabulary, const Tensor<float, Cpu>& ids_host,
                                      const Tensor<std::int32_t, Cpu>& targets_host, const Tensor<float, Cpu>& probe_host,
                                      std::vector<bool>& fading) {
  Rng rng(seed);
  CharTwinRun<D> run(rng, vocabulary, ids_host, targets_host, probe_host);
  auto& net = run.net;
  for (int i = 0; i < 2; ++i) run.step(true);
  GrowthTrace trace;
  trace.before_eval = run.probe(Mode::eval);
  trace.before_train = run.probe(Mode::train);
  const grow::Msg msg{.fade_steps = 4};
  auto& stack = net.template layer<2>();
  grow::expand_stream(net, 12, msg, rng);
  grow::grow_mlp_masked(stack.block(0), 3, msg, rng);
  grow::grow_heads_masked(stack.block(1).attention(), 1, msg, rng);
  grow::grow_depth_masked(stack, 1, msg, rng);
  trace.after_eval = run.probe(Mode::eval);
  trace.after_train = run.probe(Mode::train);
  record_parameters<D>(net, trace.grown);
  for (int i = 0; i < 6; ++i) {
    trace.losses.push_back(run.step(true));
    if (i == 2 || i == 5) fading.push_back(grow::fading(net));
  }
  record_parameters<D>(net, trace.trained, &trace.state);
  return trace;
}

// The model builder on the device: a models::Vit<float, D> (8 x 8 images, 4 x 4 patches, d 8, two blocks
// of 2 heads x 4, MLP 16, 3 classes) trained with Adam on softmax cross-entropy, then grown through the
// model's own sites: Random MLP width of every block (+3, for_each_site), LEMON's model width d 8 -> 12
// (expand_width), a zero-output block at the end; then three more steps.
template <class D>
GrowthTrace grow_vit_twin(std::uint64_t seed, const Tensor<float, Cpu>& images_host,
                          const Tensor<std::int32_t, Cpu>& labels_host, const Tensor<float, Cpu>& probe_host) {
  Rng rng(seed);
  models::Vit<float, D> model({.image = 8, .channels = 1, .patch = 4, .classes = 3, .dim = 8, .layers = 2, .heads = 2,
                               .head_dim = 4, .mlp = 16},
                              rng);
  auto& net = model.net();
  Adam adam{0.01, AdamOptions{.eps = 1e-3}};
  const Tensor<float, D> images = to<D>(images_host), probe = to<D>(probe_host);
  const Tensor<std::int32_t, D> labels = to<D>(labels_host);
  Tensor<float, D> grad;
  auto step = [&](bool update) {
    const ConstView<float, D> logits = net.forward(images.cview());
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, labels.cview(), grad.view()).loss;
    net.backward(grad.cview());
    if (update) adam.step(net);
    return loss;
  };
  for (int i = 0; i < 2; ++i) step(true);
  GrowthTrace trace;
  trace.before_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.before_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  model.for_each_site([&](auto& site) { site.grow(3, grow::Random{}, rng); });
  model.expand_width(12, rng);
  grow::grow_depth(model.blocks(), model.depth(), grow::DepthZero{}, rng);
  trace.after_eval = to<Cpu>(net.forward(probe.cview(), Mode::eval));
  trace.after_train = to<Cpu>(net.forward(probe.cview(), Mode::train));
  finish_trace<D>(net, step, trace);
  return trace;
}

// The Cuda twins (growth_transformer_shim.cu).
GrowthTrace grow_transformer_msg_on_cuda(std::uint64_t seed, Index vocabulary, const Tensor<float, Cpu>& ids,
                                         const Tensor<std::int32_t, Cpu>& targets, const Tensor<float, Cpu>& probe,
                                         std::vector<bool>& fading);
GrowthTrace grow_transformer_on_cuda(std::uint64_t seed, Index vocabulary, const Tensor<float, Cpu>& ids,
                                     const Tensor<std::int32_t, Cpu>& targets, const Tensor<float, Cpu>& probe);
GrowthTrace grow_vit_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& images, const Tensor<std::int32_t, Cpu>& labels,
                             const Tensor<float, Cpu>& probe);

}  // namespace netgrow::test
