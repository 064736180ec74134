// Tests grow/stream.hpp and layers/stream_expansion.hpp: LEMON's model-width expansion of a causal
// character model and of a ViT (patch embedding with a class token, mean or class-token pooling) keeps
// the outputs in both modes at integer and non-integer growth factors, with and without the random
// split; the stream holds copies and means afterwards; Adam's moments follow; the grown model trains,
// round-trips through a checkpoint, and bad requests change nothing.
#include <doctest/doctest.h>

#include <filesystem>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/data/char_corpus.hpp"
#include "netgrow/grow/stream.hpp"
#include "netgrow/io/checkpoint.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/patch_embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/layers/sequence_pool.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/adam.hpp"
#include "support/growth.hpp"

using namespace netgrow;

namespace {

using CharModel = Sequential<double, Cpu, Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense>;
using Vit = Sequential<double, Cpu, PatchEmbedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm,
                       SequencePool, Dense>;

TransformerBlock block_kind(Index d, bool causal) {
  return TransformerBlock{.dim = d, .heads = 2, .head_dim = 3, .mlp = 2 * d, .causal = causal};
}

CharModel char_model(Rng& rng, Index vocabulary, Index d) {
  return CharModel(rng, Embedding{.vocabulary = vocabulary, .dim = d}, PositionalEmbedding{.context = 10, .dim = d},
                   Stack<TransformerBlock>{{block_kind(d, true), block_kind(d, true)}}, LayerNorm{.features = d},
                   Dense{.in = d, .out = vocabulary});
}

// A few Adam steps on a fixed batch so that LayerNorms, biases and moments are away from their start.
template <class Net, class Loss, class Targets>
void train(Net& net, Adam& adam, const Tensor<double>& x, const Targets& y, int steps) {
  Tensor<double> grad;
  for (int i = 0; i < steps; ++i) {
    const auto out = net.forward(x);
    grad.resize(out.shape());
    Loss{}(out, y, grad);
    net.backward(grad);
    adam.step(net);
  }
}

template <class Net>
Tensor<double> output(Net& net, const Tensor<double>& x, Mode mode) {
  Tensor<double> out;
  out.copy_from(net.forward(x, mode));
  return out;
}

}  // namespace

TEST_CASE("model width of a character model: x2 and x1.625 keep the logits in both modes, with either split") {
  const CharCorpus text = char_corpus_from_text("To be, or not to be, that is the question: whether 'tis nobler in "
                                                "the mind to suffer the slings and arrows of outrageous fortune.");
  for (const Index target : {16, 13}) {
    for (const double spread : {0.0, 1.0}) {
      CAPTURE(target);
      CAPTURE(spread);
      Rng rng(11);
      CharModel net = char_model(rng, text.vocab_size(), 8);
      Tensor<double> x;
      Tensor<std::int32_t> y;
      sample_windows(text, 4, 10, rng, x, y);
      Adam adam(1e-2);
      train<CharModel, SequenceCrossEntropy>(net, adam, x, y, 4);
      const Tensor<double> train_mode = output(net, x, Mode::train), eval_mode = output(net, x, Mode::eval);
      const grow::StreamReport r = grow::expand_stream(net, target, grow::Lemon{.spread = spread}, rng);
      CHECK(r.old_width == 8);
      CHECK(r.new_width == target);
      CHECK(r.averages == (target == 16 ? 0 : 5));
      CHECK(test::max_abs_diff(output(net, x, Mode::train).cview(), train_mode.cview()) < 1e-12);
      CHECK(test::max_abs_diff(output(net, x, Mode::eval).cview(), eval_mode.cview()) < 1e-12);
      // Every part is at the new width; heads and head dimension stay.
      CHECK(net.layer<0>().dim() == target);
      CHECK(net.layer<1>().dim() == target);
      for (std::size_t b = 0; b < 2; ++b) {
        const TransformerBlock k = net.layer<2>().block(b).kind();
        CHECK(k.dim == target);
        CHECK(k.heads == 2);
        CHECK(k.head_dim == 3);
        CHECK(k.mlp == 16);
      }
      CHECK(net.layer<3>().features() == target);
      CHECK(net.layer<4>().in_features() == target);
      // The stream after the first block: copies equal their source, averages the mean.
      const ConstView<double, Cpu> stream = net.output<2>();
      for (Index row = 0; row < 3; ++row) {
        double mean = 0;
        for (Index c = 0; c < 8; ++c) mean += stream.at(0, row, c) / 8;
        for (Index c = 8; c < target; ++c) {
          const double expected = target == 16 ? stream.at(0, row, c - 8) : mean;  // x2: copies; x1.625: averages
          CHECK(stream.at(0, row, c) == doctest::Approx(expected).epsilon(1e-10));
        }
      }
      // Adam's moments have the new shapes; the model keeps training.
      net.visit_parameters([&](const std::string& name, Parameter<double, Cpu>& p) {
        CAPTURE(name);
        REQUIRE(p.state.size() == 2);
        CHECK(p.state[0].shape() == p.value.shape());
      });
      train<CharModel, SequenceCrossEntropy>(net, adam, x, y, 2);
    }
  }
}

TEST_CASE("model width of a ViT with a class token: class-token and mean pooling keep the logits") {
  for (const auto pooling : {SequencePooling::first, SequencePooling::mean}) {
    Rng rng(12);
    Vit net(rng, PatchEmbedding{.channels = 1, .patch = 2, .dim = 6, .class_token = true},
            PositionalEmbedding{.context = 5, .dim = 6},
            Stack<TransformerBlock>{{block_kind(6, false)}}, LayerNorm{.features = 6}, SequencePool{.pooling = pooling},
            Dense{.in = 6, .out = 3});
    const Tensor<double> x = test::random_tensor(Shape{3, 1, 4, 4}, rng);
    const Tensor<double> y = test::random_tensor(Shape{3, 3}, rng);
    Adam adam(1e-2);
    train<Vit, MseLoss>(net, adam, x, y, 3);
    const Tensor<double> before = output(net, x, Mode::eval);
    grow::expand_stream(net, 14, grow::Lemon{}, rng);  // 2 copies each, 2 averages
    CHECK(test::max_abs_diff(output(net, x, Mode::eval).cview(), before.cview()) < 1e-12);
    CHECK(net.layer<0>().class_token().value.numel() == 14);
    train<Vit, MseLoss>(net, adam, x, y, 1);
  }
}

TEST_CASE("a stream-grown model round-trips through a checkpoint (LayerNorm eps included); bad widths change nothing") {
  const CharCorpus text = char_corpus_from_text("Now is the winter of our discontent made glorious summer by this sun of York.");
  Rng rng(13);
  CharModel net = char_model(rng, text.vocab_size(), 8);
  Tensor<double> x;
  Tensor<std::int32_t> y;
  sample_windows(text, 3, 10, rng, x, y);
  const Tensor<double> seed = output(net, x, Mode::eval);
  CHECK_THROWS_AS(grow::expand_stream(net, 7, grow::Lemon{}, rng), ArgumentError);
  CHECK_THROWS_AS(grow::expand_stream(net, 12, grow::Lemon{.spread = -1}, rng), ArgumentError);
  CHECK(test::max_abs_diff(output(net, x, Mode::eval).cview(), seed.cview()) == 0);
  CHECK(net.layer<0>().dim() == 8);

  grow::expand_stream(net, 12, grow::Lemon{}, rng);
  const Tensor<double> grown = output(net, x, Mode::eval);
  const auto path = std::filesystem::temp_directory_path() / "netgrow_test_stream.safetensors";
  io::save_checkpoint(path, net);
  Rng other(99);
  CharModel fresh = char_model(other, text.vocab_size(), 8);
  io::load_checkpoint(path, fresh);
  std::filesystem::remove(path);
  CHECK(fresh.layer<3>().eps() == net.layer<3>().eps());
  CHECK(fresh.layer<2>().block(1).kind().eps == net.layer<2>().block(1).kind().eps);
  CHECK(test::max_abs_diff(output(fresh, x, Mode::eval).cview(), grown.cview()) == 0);
}
