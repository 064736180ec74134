// Tests blocks/transformer_block.hpp: the pre-LN block passes the double-precision gradient check
// (causal and not, with residual dropout held), names and counts like its parts, keeps causality, and a
// character model built from it (Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense)
// starts at loss ln V with a small output head and learns a tiny text with Adam.
#include <doctest/doctest.h>

#include <cmath>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/data/char_corpus.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/adam.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("TransformerBlock passes the gradient check, causal or not") {
  for (const bool causal : {false, true}) {
    CAPTURE(causal);
    Rng rng(1);
    TransformerBlockLayer<double, Cpu> block(
        TransformerBlock{.dim = 4, .heads = 2, .head_dim = 3, .mlp = 6, .causal = causal}, rng);
    // Non-trivial LayerNorm parameters, so their gradients are checked away from gamma 1, beta 0.
    fill_normal(block.ln1().beta().value.view(), 0.0, 0.3, rng);
    fill_normal(block.ln2().gamma().value.view(), 1.0, 0.3, rng);
    test::check_layer_gradients(block, Shape{2, 3, 4}, 2);
  }
}

TEST_CASE("TransformerBlock with residual dropout passes the gradient check with its masks held, and draws new ones "
          "otherwise; without dropout it draws nothing from the Rng") {
  Rng rng(1);
  TransformerBlockLayer<double, Cpu> block(
      TransformerBlock{.dim = 4, .heads = 2, .head_dim = 3, .mlp = 6, .causal = true, .dropout = 0.4}, rng);
  CHECK(block.describe() == "TransformerBlock(4, 2 heads x 3, mlp 6, causal, dropout 0.4)");
  CHECK(block.kind().dropout_seed > 0);
  block.hold_dropout_masks(true);
  test::check_layer_gradients(block, Shape{2, 3, 4}, 2);
  test::check_layer_gradients(block, Shape{2, 3, 4}, 3, Mode::eval);

  block.hold_dropout_masks(false);
  Rng data(4);
  const Tensor<double> x = test::random_tensor(Shape{2, 3, 4}, data);
  Tensor<double> first(x.shape()), second(x.shape()), eval(x.shape());
  const Index draws = block.kind().dropout_draws;
  block.forward(x.cview(), first.view(), Mode::train);
  block.forward(x.cview(), second.view(), Mode::train);
  block.forward(x.cview(), eval.view(), Mode::eval);
  CHECK(block.kind().dropout_draws == draws + 2);
  CHECK(first.to_vector() != second.to_vector());
  CHECK(first.to_vector() != eval.to_vector());

  // dropout 0 leaves the Rng where a block without the option left it (same weights, same next draw).
  Rng a(9), b(9);
  TransformerBlockLayer<double, Cpu> plain(TransformerBlock{.dim = 4, .heads = 2, .head_dim = 3, .mlp = 6}, a);
  CHECK(plain.kind().dropout_seed == 0);
  TransformerBlockLayer<double, Cpu> dropping(
      TransformerBlock{.dim = 4, .heads = 2, .head_dim = 3, .mlp = 6, .dropout = 0.1}, b);
  CHECK(plain.fc2().weight().value.to_vector() == dropping.fc2().weight().value.to_vector());
  CHECK(a.next_u64() != b.next_u64());  // the dropping block drew its stream last
  using Block = TransformerBlockLayer<double, Cpu>;
  CHECK_THROWS_AS(Block(TransformerBlock{.dim = 4, .heads = 2, .head_dim = 3, .mlp = 6, .dropout = 1.0}, a),
                  ArgumentError);
}

TEST_CASE("TransformerBlock: parameter names, FLOPs as the sum of its products, kind and description") {
  Rng rng(3);
  TransformerBlockLayer<float, Cpu> block(TransformerBlock{.dim = 8, .heads = 2, .head_dim = 4, .mlp = 32, .causal = true}, rng);
  std::vector<std::string> names;
  block.visit_parameters([&](std::string_view n, Parameter<float, Cpu>&) { names.emplace_back(n); });
  REQUIRE(names.size() == 16);
  CHECK(names.front() == "ln1.weight");
  CHECK(names[2] == "attention.query.weight");
  CHECK(names.back() == "mlp.2.bias");
  const Shape in{2, 5, 8};
  CHECK(block.forward_flops(in) == block.attention().forward_flops(in) + 2.0 * 10 * 8 * 32 * 2);
  CHECK(block.kind().mlp == 32);
  CHECK(block.kind().causal);
  CHECK(block.describe() == "TransformerBlock(8, 2 heads x 4, mlp 32, causal)");
  CHECK_THROWS_AS(block.output_shape(Shape{2, 5, 4}), ShapeError);
}

TEST_CASE("a causal block's output at position t ignores the inputs after t") {
  Rng rng(4);
  TransformerBlockLayer<double, Cpu> block(TransformerBlock{.dim = 4, .heads = 2, .head_dim = 2, .mlp = 8, .causal = true}, rng);
  const Tensor<double> x = test::random_tensor(Shape{1, 5, 4}, rng);
  Tensor<double> y(x.shape()), y2(x.shape());
  block.forward(x, y.view(), Mode::eval);
  Tensor<double> changed = x.clone();
  for (Index c = 0; c < 4; ++c) changed.at(0, 4, c) -= 3.0;
  block.forward(changed, y2.view(), Mode::eval);
  for (Index s = 0; s < 4; ++s)
    for (Index c = 0; c < 4; ++c) CHECK(y2.at(0, s, c) == y.at(0, s, c));
}

TEST_CASE("a small character model starts at ln V and learns a repeating text") {
  const CharCorpus text = char_corpus_from_text("abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcab");
  const Index v = text.vocab_size(), context = 8;
  Rng rng(5);
  auto net = make_sequential<float, Cpu>(
      rng, Embedding{.vocabulary = v, .dim = 16}, PositionalEmbedding{.context = context, .dim = 16},
      Stack<TransformerBlock>{{TransformerBlock{.dim = 16, .heads = 2, .head_dim = 8, .mlp = 32, .causal = true}}},
      LayerNorm{.features = 16}, Dense{.in = 16, .out = v});
  ops::scale<float>(net.layer<4>().weight().value, 0.01f);  // a small output head: uniform predictions at first
  Tensor<float> x, grad;
  Tensor<std::int32_t> y;
  sample_windows(text, 8, context, rng, x, y);
  const auto logits = net.forward(x);
  CHECK(logits.shape() == Shape{8, context, v});
  grad.resize(logits.shape());
  const auto first = SequenceCrossEntropy{}(logits, y, grad);
  CHECK(first.loss == doctest::Approx(std::log(static_cast<double>(v))).epsilon(0.02));
  CHECK(first.bits() == doctest::Approx(first.loss / std::log(2.0)));
  Adam adam(3e-3);
  double last = first.loss;
  for (int step = 0; step < 60; ++step) {
    sample_windows(text, 8, context, rng, x, y);
    const auto out = net.forward(x);
    grad.resize(out.shape());
    last = SequenceCrossEntropy{}(out, y, grad).loss;
    net.backward(grad);
    adam.step(net);
  }
  CHECK(last < 0.25 * first.loss);
  CHECK(forward_flops(net, Shape{1, context}) > 0);
}
