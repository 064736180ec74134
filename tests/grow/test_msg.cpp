// Tests grow/msg.hpp, layers/fade_mask.hpp and the faded paths of Dense and LayerNorm: masked structural
// growth (MSG) keeps a character model's logits exactly in both modes for model width, MLP width, heads
// and depth at once, whatever the new weights (through a Dropout in the stream too, which refuses LEMON);
// the faded layers pass the gradient check mid-ramp; the masks ramp and disappear; checkpoints refuse a
// model mid-fade; bad requests change nothing.
#include <doctest/doctest.h>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/data/char_corpus.hpp"
#include "netgrow/grow/msg.hpp"
#include "netgrow/io/checkpoint.hpp"
#include "netgrow/layers/dropout.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/adam.hpp"
#include "support/gradcheck.hpp"
#include "support/growth.hpp"

using namespace netgrow;

namespace {

using MsgCharModel = Sequential<double, Cpu, Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense>;
using MsgHeadOnStream = Sequential<double, Cpu, Embedding, Stack<TransformerBlock>, Dense>;

TransformerBlock msg_block_kind(Index d) {
  return TransformerBlock{.dim = d, .heads = 2, .head_dim = 3, .mlp = 2 * d, .causal = true};
}

MsgCharModel msg_char_model(Rng& rng, Index vocabulary, Index d) {
  return MsgCharModel(rng, Embedding{.vocabulary = vocabulary, .dim = d}, PositionalEmbedding{.context = 10, .dim = d},
                   Stack<TransformerBlock>{{msg_block_kind(d), msg_block_kind(d)}}, LayerNorm{.features = d},
                   Dense{.in = d, .out = vocabulary});
}

const CharCorpus& msg_corpus() {
  static const CharCorpus text = char_corpus_from_text(
      "Now is the winter of our discontent made glorious summer by this sun of York; and all the clouds that "
      "lour'd upon our house in the deep bosom of the ocean buried.");
  return text;
}

template <class Net>
void msg_train(Net& net, Adam& adam, const Tensor<double>& x, const Tensor<std::int32_t>& y, int steps, bool fade) {
  Tensor<double> grad;
  for (int i = 0; i < steps; ++i) {
    const auto out = net.forward(x);
    grad.resize(out.shape());
    SequenceCrossEntropy{}(out, y, grad);
    net.backward(grad);
    adam.step(net);
    if (fade) grow::advance_fades(net);
  }
}

template <class Net>
Tensor<double> msg_output(Net& net, const Tensor<double>& x, Mode mode) {
  Tensor<double> out;
  out.copy_from(net.forward(x, mode));
  return out;
}

}  // namespace

TEST_CASE("FadeMask ramps its features from 0 to 1 and drops the gains at the end") {
  FadeMask<double> m;
  CHECK_FALSE(m.active());
  m.start(5, 2, 4, 4);
  REQUIRE(m.active());
  CHECK(m.gains()[0] == 1.0);
  CHECK(m.gains()[2] == 0.0);
  CHECK(m.advance());
  CHECK(m.gains()[3] == doctest::Approx(0.25));
  m.grow(2);  // appended features enter at gain 1
  CHECK(m.gains().numel() == 7);
  CHECK(m.gains()[6] == 1.0);
  CHECK(m.steps_left() == 3);
  CHECK(m.advance(2));
  CHECK(m.gains()[2] == doctest::Approx(0.75));
  CHECK_FALSE(m.advance());
  CHECK_FALSE(m.active());
  CHECK_THROWS_AS(m.start(5, 3, 3, 4), ArgumentError);
  CHECK_THROWS_AS(m.start(5, 0, 6, 4), ArgumentError);
  CHECK_THROWS_AS(m.start(5, 0, 2, 0), ArgumentError);
}

TEST_CASE("ops::scale_rows_columns multiplies entry (i, j) by row gain i and column gain j; empty gains are ones") {
  const Tensor<double> rows = Tensor<double>::from(Shape{2}, {2.0, 0.5});
  const Tensor<double> cols = Tensor<double>::from(Shape{3}, {1.0, 0.0, 4.0});
  const Tensor<double> x0 = Tensor<double>::from(Shape{2, 3}, {1.0, 2.0, 3.0, 4.0, 5.0, 6.0});
  Tensor<double> x = x0.clone();
  ops::scale_rows_columns<double>(rows, cols, x.view());
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 3; ++j) CHECK(x.at(i, j) == x0.at(i, j) * rows[i] * cols[j]);
  x = x0.clone();
  ops::scale_rows_columns<double>(ConstView<double, Cpu>(), cols, x.view());
  CHECK(x.at(1, 2) == 24.0);
  x = x0.clone();
  ops::scale_rows_columns<double>(rows, ConstView<double, Cpu>(), x.view());
  CHECK(x.at(1, 2) == 3.0);
  CHECK_THROWS_AS(ops::scale_rows_columns<double>(cols, ConstView<double, Cpu>(), x.view()), ShapeError);
  CHECK_THROWS_AS(ops::scale_rows_columns<double>(rows, rows, x.view()), ShapeError);
  CHECK_THROWS_AS(ops::scale_rows_columns<double>(rows, cols, x.view().reshape(Shape{6})), ShapeError);
  CHECK(x.at(1, 2) == 3.0);  // refused calls change nothing
}

TEST_CASE("a fading Dense computes g_out * ((g_in * x) W^T + b) and passes the gradient check mid-ramp") {
  Rng rng(3);
  DenseLayer<double, Cpu> dense(Dense{.in = 7, .out = 5}, rng);
  ops::copy<double>(test::random_tensor(Shape{5}, rng).cview(), dense.bias().value.view());
  dense.fade_inputs(4, 7, 4);
  dense.fade_outputs(3, 5, 8);
  CHECK(dense.advance_fades());  // input gains 1/4, output gains 1/8
  const Tensor<double> x = test::random_tensor(Shape{3, 7}, rng);
  Tensor<double> y(Shape{3, 5});
  dense.forward(x.cview(), y.view(), Mode::train);
  for (Index n = 0; n < 3; ++n)
    for (Index o = 0; o < 5; ++o) {
      double z = dense.bias().value[o];
      for (Index i = 0; i < 7; ++i) z += dense.weight().value.at(o, i) * x.at(n, i) * (i >= 4 ? 0.25 : 1.0);
      CHECK(y.at(n, o) == doctest::Approx(z * (o >= 3 ? 0.125 : 1.0)).epsilon(1e-13));
    }
  test::check_layer_gradients(dense, Shape{3, 7}, 31);
  test::check_layer_gradients(dense, Shape{2, 4, 7}, 32);  // a sequence
}

TEST_CASE("a fading LayerNorm: at gain 0 it is the LayerNorm of the other features and 0 on these; "
          "mid-ramp it passes the gradient check") {
  Rng rng(5);
  LayerNormLayer<double, Cpu> full(LayerNorm{.features = 7}, rng), part(LayerNorm{.features = 4}, rng);
  const Tensor<double> gamma = test::random_tensor(Shape{7}, rng), beta = test::random_tensor(Shape{7}, rng);
  ops::copy<double>(gamma.cview(), full.gamma().value.view());
  ops::copy<double>(beta.cview(), full.beta().value.view());
  for (Index j = 0; j < 4; ++j) part.gamma().value[j] = gamma[j], part.beta().value[j] = beta[j];
  full.fade_features(4, 7, 3);
  const Tensor<double> x = test::random_tensor(Shape{3, 7}, rng, 2.0);
  Tensor<double> x4(Shape{3, 4}), y(Shape{3, 7}), y4(Shape{3, 4});
  for (Index n = 0; n < 3; ++n)
    for (Index j = 0; j < 4; ++j) x4.at(n, j) = x.at(n, j);
  full.forward(x.cview(), y.view(), Mode::train);
  part.forward(x4.cview(), y4.view(), Mode::train);
  for (Index n = 0; n < 3; ++n) {
    for (Index j = 0; j < 4; ++j) CHECK(y.at(n, j) == doctest::Approx(y4.at(n, j)).epsilon(1e-14));
    for (Index j = 4; j < 7; ++j) CHECK(y.at(n, j) == 0.0);
  }
  CHECK(full.advance_fades());  // gain 1/3
  test::check_layer_gradients(full, Shape{3, 7}, 41);
  test::check_layer_gradients(full, Shape{2, 3, 7}, 42, Mode::eval, 3.0);
  CHECK(full.advance_fades());
  CHECK_FALSE(full.advance_fades());  // gain 1: plain again
  CHECK_FALSE(full.fading());
}

TEST_CASE("a transformer block fading in (branches, MLP neurons, heads, LayerNorm features) passes the gradient "
          "check") {
  Rng rng(7);
  TransformerBlockLayer<double, Cpu> block(msg_block_kind(6), rng);
  grow::grow_mlp_masked(block, 3, grow::Msg{.fade_steps = 4}, rng);
  grow::grow_heads_masked(block.attention(), 1, grow::Msg{.fade_steps = 5}, rng);
  block.ln1().fade_features(4, 6, 6);
  block.fade_in(3);
  CHECK(block.fading());
  CHECK(block.advance_fades());
  test::check_layer_gradients(block, Shape{2, 4, 6}, 51);
}

TEST_CASE("MSG grows a character model in width d, MLP width, heads and depth at once, keeping the logits in both "
          "modes; the new units fade in; checkpoints wait for the fade") {
  for (const Index target : {16, 13}) {
    CAPTURE(target);
    Rng rng(13);
    MsgCharModel net = msg_char_model(rng, msg_corpus().vocab_size(), 8);
    Tensor<double> x;
    Tensor<std::int32_t> y;
    sample_windows(msg_corpus(), 4, 10, rng, x, y);
    Adam adam(1e-2);
    msg_train(net, adam, x, y, 4, false);
    const Tensor<double> train_mode = msg_output(net, x, Mode::train), eval_mode = msg_output(net, x, Mode::eval);
    const grow::Msg msg{.fade_steps = 6};
    const grow::StreamReport r = grow::expand_stream(net, target, msg, rng);
    CHECK(r.new_width == target);
    CHECK(r.averages == 0);
    auto& blocks = net.layer<2>();
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      grow::grow_mlp_masked(blocks.block(b), 2 * target - blocks.block(b).mlp_width(), msg, rng);
      grow::grow_heads_masked(blocks.block(b).attention(), 1, msg, rng);
    }
    grow::grow_depth_masked(blocks, 1, msg, rng);
    grow::grow_depth_masked(blocks, 3, msg, rng);
    CHECK(blocks.size() == 4);
    CHECK(blocks.block(3).kind().heads == 3);
    CHECK(blocks.block(0).mlp_width() == 2 * target);
    CHECK(test::max_abs_diff(msg_output(net, x, Mode::train).cview(), train_mode.cview()) < 1e-12);
    CHECK(test::max_abs_diff(msg_output(net, x, Mode::eval).cview(), eval_mode.cview()) < 1e-12);
    // The new weights are not zeros (MSG's preservation comes from the masks alone).
    CHECK(test::cols_norm(blocks.block(0).fc2().weight().value.cview(), 16, 2 * target - 16) > 0.1);
    CHECK(test::rows_norm(blocks.block(1).fc2().weight().value.cview(), 0, target) > 0.1);
    CHECK(grow::fading(net));
    CHECK_THROWS_AS(io::make_checkpoint(net), StateError);
    // Half way the function has moved; at the end the masks are gone and checkpoints work again.
    grow::advance_fades(net, 3);
    CHECK(test::max_abs_diff(msg_output(net, x, Mode::eval).cview(), eval_mode.cview()) > 1e-3);
    msg_train(net, adam, x, y, 3, true);
    CHECK_FALSE(grow::fading(net));
    CHECK_FALSE(grow::advance_fades(net));
    const io::Safetensors st = io::make_checkpoint(net);
    int fc2_weights = 0;
    for (const auto& [name, tensor] : st.tensors) fc2_weights += name.ends_with("mlp.2.weight") ? 1 : 0;
    CHECK(fc2_weights == 4);
  }
}

TEST_CASE("MSG refuses a network whose output layer reads the stream without a LayerNorm, and a fade of 0 steps; "
          "the network is unchanged") {
  Rng rng(17);
  MsgHeadOnStream net(rng, Embedding{.vocabulary = 10, .dim = 6}, Stack<TransformerBlock>{{msg_block_kind(6)}},
                   Dense{.in = 6, .out = 10});
  const Index before = net.parameter_count();
  CHECK_THROWS_AS(grow::expand_stream(net, 12, grow::Msg{.fade_steps = 5}, rng), ArgumentError);
  CHECK_THROWS_AS(grow::expand_stream(net, 12, grow::Msg{.fade_steps = 0}, rng), ArgumentError);
  CHECK(net.parameter_count() == before);
  CHECK(net.layer<0>().dim() == 6);
  CHECK_FALSE(grow::fading(net));
  auto& block = net.layer<1>().block(0);
  CHECK_THROWS_AS(grow::grow_mlp_masked(block, 2, grow::Msg{.fade_steps = 0}, rng), ArgumentError);
  CHECK(block.mlp_width() == 12);
}

TEST_CASE("a Dropout in the residual stream follows model-width growth: LEMON's copies are dropped where their "
          "sources are (the logits kept in training mode), averages are refused, MSG adds keys of its own; a "
          "checkpoint restores the keys") {
  using DropoutCharModel =
      Sequential<double, Cpu, Embedding, PositionalEmbedding, Dropout, Stack<TransformerBlock>, LayerNorm, Dense>;
  const Index vocabulary = msg_corpus().vocab_size();
  auto build = [&](Rng& r) {
    return DropoutCharModel(r, Embedding{.vocabulary = vocabulary, .dim = 8},
                            PositionalEmbedding{.context = 10, .dim = 8}, Dropout{.p = 0.3},
                            Stack<TransformerBlock>{{msg_block_kind(8), msg_block_kind(8)}}, LayerNorm{.features = 8},
                            Dense{.in = 8, .out = vocabulary});
  };
  Rng rng(19);
  DropoutCharModel net = build(rng);
  Tensor<double> x;
  Tensor<std::int32_t> y;
  sample_windows(msg_corpus(), 4, 10, rng, x, y);
  Adam adam(1e-2);
  msg_train(net, adam, x, y, 3, false);
  net.layer<2>().hold_mask(true);
  const Tensor<double> train_mode = msg_output(net, x, Mode::train), eval_mode = msg_output(net, x, Mode::eval);

  const Index before = net.parameter_count();
  CHECK_THROWS_AS(grow::expand_stream(net, 13, grow::Lemon{}, rng), ArchitectureError);  // 5 averages
  CHECK(net.parameter_count() == before);
  CHECK(net.layer<0>().dim() == 8);
  CHECK(net.layer<2>().kind().keys.empty());

  grow::expand_stream(net, 16, grow::Lemon{}, rng);  // copies only
  CHECK(net.layer<2>().kind().keys == std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(test::max_abs_diff(msg_output(net, x, Mode::train).cview(), train_mode.cview()) < 1e-12);
  CHECK(test::max_abs_diff(msg_output(net, x, Mode::eval).cview(), eval_mode.cview()) < 1e-12);

  grow::expand_stream(net, 19, grow::Msg{.fade_steps = 4}, rng);
  CHECK(net.layer<2>().kind().keys.size() == 19);
  CHECK(net.layer<2>().kind().keys.back() == 10);  // new keys 8, 9, 10
  CHECK(test::max_abs_diff(msg_output(net, x, Mode::train).cview(), train_mode.cview()) < 1e-12);
  CHECK(test::max_abs_diff(msg_output(net, x, Mode::eval).cview(), eval_mode.cview()) < 1e-12);
  net.layer<2>().hold_mask(false);
  msg_train(net, adam, x, y, 4, true);  // trains on through the fade
  CHECK_FALSE(grow::fading(net));

  // A network built at the seed width takes the grown one's keys, stream and count from its checkpoint.
  const io::Safetensors st = io::make_checkpoint(net);
  Rng other(77);
  DropoutCharModel fresh = build(other);
  io::restore_checkpoint(st, fresh);
  CHECK(fresh.layer<2>().kind().keys == net.layer<2>().kind().keys);
  CHECK(fresh.layer<2>().kind().seed == net.layer<2>().kind().seed);
  CHECK(test::max_abs_diff(msg_output(fresh, x, Mode::train).cview(), msg_output(net, x, Mode::train).cview()) == 0);
}
