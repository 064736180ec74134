// Tests layers/embedding.hpp, positional_embedding.hpp, multi_head_attention.hpp, patch_embedding.hpp
// and sequence_pool.hpp, and Dense and LayerNorm on (N, T, d) sequences: values by hand or by
// reference, double-precision gradient checks, causality (the output at t ignores inputs after t), and
// what bad input gets.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/multi_head_attention.hpp"
#include "netgrow/layers/patch_embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/layers/sequence_pool.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

namespace {

Tensor<double> token_ids(Shape s, Index vocabulary, Rng& rng) {
  Tensor<double> ids(s);
  for (Index i = 0; i < ids.numel(); ++i) ids[i] = static_cast<double>(rng.uniform_int(static_cast<std::uint64_t>(vocabulary)));
  return ids;
}

}  // namespace

TEST_CASE("Embedding picks rows, accumulates gradients by index, and refuses bad ids before writing") {
  Rng rng(1);
  EmbeddingLayer<double, Cpu> emb(Embedding{.vocabulary = 7, .dim = 3}, rng);
  CHECK(emb.output_shape(Shape{2, 4}) == Shape{2, 4, 3});
  Tensor<double> ids = Tensor<double>::from({1, 3}, {2, 5, 2});
  Tensor<double> y(Shape{1, 3, 3});
  emb.forward(ids, y.view(), Mode::train);
  for (Index c = 0; c < 3; ++c) {
    CHECK(y.at(0, 0, c) == emb.weight().value.at(2, c));
    CHECK(y.at(0, 1, c) == emb.weight().value.at(5, c));
  }
  Tensor<double> dy(y.shape());
  dy.fill(1.0);
  emb.backward(ids, y, dy, TensorView<double, Cpu>(), false);
  CHECK(emb.weight().grad.at(2, 0) == 2.0);  // id 2 appears twice
  CHECK(emb.weight().grad.at(5, 1) == 1.0);
  CHECK(emb.weight().grad.at(0, 0) == 0.0);

  Rng r2(2);
  const Tensor<double> x = token_ids(Shape{3, 5}, 7, r2);
  test::check_layer_gradients_at(emb, x.clone(), r2, Mode::train, /*check_input=*/false);

  Tensor<double> before;
  before.copy_from(y);
  for (const double bad : {7.0, -1.0, 2.5, std::numeric_limits<double>::quiet_NaN()}) {
    ids[1] = bad;
    CHECK_THROWS_WITH_AS(emb.forward(ids, y.view(), Mode::train), doctest::Contains("token id"), ArgumentError);
    for (Index i = 0; i < y.numel(); ++i) CHECK(y[i] == before[i]);
  }
  CHECK_THROWS_AS(emb.output_shape(Shape{2, 4, 1}), ShapeError);
}

TEST_CASE("PositionalEmbedding adds its table, passes the gradient check, refuses sequences past its context") {
  Rng rng(3);
  PositionalEmbeddingLayer<double, Cpu> pos(PositionalEmbedding{.context = 6, .dim = 4, .init_std = 0.5}, rng);
  test::check_layer_gradients(pos, Shape{2, 6, 4}, 4);
  test::check_layer_gradients(pos, Shape{3, 2, 4}, 5);  // shorter than the context: only rows 0, 1 move
  Tensor<double> x({1, 2, 4}), y({1, 2, 4});
  pos.forward(x, y.view(), Mode::eval);
  CHECK(y.at(0, 1, 2) == pos.table().value.at(1, 2));
  CHECK_THROWS_WITH_AS(pos.output_shape(Shape{1, 7, 4}), doctest::Contains("longer than the context of 6"), ShapeError);
  CHECK_THROWS_AS(pos.output_shape(Shape{1, 2, 5}), ShapeError);
}

TEST_CASE("Dense and LayerNorm act on every token of a sequence") {
  Rng rng(6);
  DenseLayer<double, Cpu> dense(Dense{.in = 4, .out = 3}, rng);
  CHECK(dense.output_shape(Shape{2, 5, 4}) == Shape{2, 5, 3});
  CHECK(dense.forward_flops(Shape{2, 5, 4}) == 2.0 * 10 * 12);
  test::check_layer_gradients(dense, Shape{2, 5, 4}, 7);
  CHECK_THROWS_WITH_AS(dense.output_shape(Shape{2, 4, 1, 1}), doctest::Contains("insert a Flatten"), ShapeError);
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 4}, rng);
  test::check_layer_gradients(ln, Shape{2, 3, 4}, 8);
  // A sequence normalises each token as the rows of a matrix would.
  const Tensor<double> x = test::random_tensor(Shape{2, 3, 4}, rng);
  Tensor<double> y3({2, 3, 4}), y2({6, 4});
  ln.forward(x, y3.view(), Mode::train);
  ln.forward(x.cview().reshape(Shape{6, 4}), y2.view(), Mode::train);
  for (Index i = 0; i < y2.numel(); ++i) CHECK(y3[i] == y2[i]);
}

TEST_CASE("MultiHeadAttention passes the gradient check, causal or not, with h dh != d") {
  for (const bool causal : {false, true}) {
    CAPTURE(causal);
    Rng rng(9);
    MultiHeadAttentionLayer<double, Cpu> mha(
        MultiHeadAttention{.dim = 5, .heads = 2, .head_dim = 3, .causal = causal, .init = WeightInit::he_normal}, rng);
    test::check_layer_gradients(mha, Shape{2, 4, 5}, 10);
  }
}

TEST_CASE("with the causal mask the output at position t does not depend on inputs after t") {
  Rng rng(11);
  MultiHeadAttentionLayer<double, Cpu> mha(MultiHeadAttention{.dim = 4, .heads = 2, .head_dim = 2, .causal = true}, rng);
  Tensor<double> x = test::random_tensor(Shape{1, 6, 4}, rng);
  Tensor<double> y(x.shape()), y2(x.shape());
  mha.forward(x, y.view(), Mode::eval);
  for (Index t = 0; t < 6; ++t) {
    Tensor<double> changed = x.clone();
    for (Index s = t + 1; s < 6; ++s)
      for (Index c = 0; c < 4; ++c) changed.at(0, s, c) += 10.0 * static_cast<double>(s + c + 1);
    mha.forward(changed, y2.view(), Mode::eval);
    for (Index s = 0; s <= t; ++s)
      for (Index c = 0; c < 4; ++c) CHECK(y2.at(0, s, c) == y.at(0, s, c));
  }
  // Without the mask, later inputs reach earlier outputs.
  MultiHeadAttentionLayer<double, Cpu> open(MultiHeadAttention{.dim = 4, .heads = 2, .head_dim = 2}, rng);
  open.forward(x, y.view(), Mode::eval);
  Tensor<double> changed = x.clone();
  changed.at(0, 5, 0) += 5.0;
  open.forward(changed, y2.view(), Mode::eval);
  CHECK(y2.at(0, 0, 0) != y.at(0, 0, 0));
}

TEST_CASE("MultiHeadAttention names its parameters, counts its FLOPs and refuses other widths") {
  Rng rng(12);
  MultiHeadAttentionLayer<float, Cpu> mha(MultiHeadAttention{.dim = 8, .heads = 2, .head_dim = 4}, rng);
  std::vector<std::string> names;
  mha.visit_parameters([&](std::string_view n, Parameter<float, Cpu>&) { names.emplace_back(n); });
  CHECK(names == std::vector<std::string>{"query.weight", "query.bias", "key.weight", "key.bias", "value.weight",
                                          "value.bias", "output.weight", "output.bias"});
  // 4 projections of 2 * rows * 8 * 8 and attention 4 N h T^2 dh, N = 2, T = 5.
  CHECK(mha.forward_flops(Shape{2, 5, 8}) == 4 * 2.0 * 10 * 64 + 4.0 * 2 * 2 * 25 * 4);
  CHECK(mha.describe() == "MultiHeadAttention(8, 2 heads x 4)");
  CHECK_THROWS_AS(mha.output_shape(Shape{2, 5, 7}), ShapeError);
  CHECK_THROWS_AS((MultiHeadAttentionLayer<float, Cpu>(MultiHeadAttention{.dim = 8, .heads = 0, .head_dim = 4}, rng)),
                  ArgumentError);
}

TEST_CASE("PatchEmbedding cuts non-overlapping patches, with or without a class token") {
  for (const bool token : {false, true}) {
    CAPTURE(token);
    Rng rng(13);
    PatchEmbeddingLayer<double, Cpu> pe(PatchEmbedding{.channels = 2, .patch = 2, .dim = 3, .class_token = token}, rng);
    CHECK(pe.output_shape(Shape{2, 2, 4, 6}) == Shape{2, (token ? 1 : 0) + 6, 3});
    fill_normal(pe.bias().value.view(), 0.0, 1.0, rng);
    if (token) fill_normal(pe.class_token().value.view(), 0.0, 1.0, rng);
    test::check_layer_gradients(pe, Shape{2, 2, 4, 6}, 14);
    // Token (1 +) g of sample 0 is W patch_g + b; check patch (row 1, column 2) of the 2 x 3 grid.
    const Tensor<double> x = test::random_tensor(Shape{1, 2, 4, 6}, rng);
    Tensor<double> y(pe.output_shape(x.shape()));
    pe.forward(x, y.view(), Mode::eval);
    const Index g = 1 * 3 + 2, row = (token ? 1 : 0) + g;
    for (Index o = 0; o < 3; ++o) {
      double expected = pe.bias().value[o];
      for (Index c = 0; c < 2; ++c)
        for (Index a = 0; a < 2; ++a)
          for (Index b = 0; b < 2; ++b) expected += pe.weight().value.at(o, (c * 2 + a) * 2 + b) * x.at(0, c, 2 + a, 4 + b);
      CHECK(y.at(0, row, o) == doctest::Approx(expected).epsilon(1e-14));
      if (token) CHECK(y.at(0, 0, o) == pe.class_token().value[o]);
    }
    CHECK_THROWS_WITH_AS(pe.output_shape(Shape{1, 2, 5, 6}), doctest::Contains("do not divide"), ShapeError);
    CHECK_THROWS_AS(pe.output_shape(Shape{1, 3, 4, 6}), ShapeError);
  }
}

TEST_CASE("SequencePool takes the first token or the mean, and passes the gradient check") {
  Rng rng(15);
  for (const auto pooling : {SequencePooling::first, SequencePooling::mean}) {
    SequencePoolLayer<double, Cpu> pool(SequencePool{.pooling = pooling}, rng);
    test::check_layer_gradients(pool, Shape{3, 4, 5}, 16);
    const Tensor<double> x = test::random_tensor(Shape{2, 3, 2}, rng);
    Tensor<double> y({2, 2});
    pool.forward(x, y.view(), Mode::eval);
    const double expected = pooling == SequencePooling::first ? x.at(1, 0, 1)
                                                              : (x.at(1, 0, 1) + x.at(1, 1, 1) + x.at(1, 2, 1)) / 3;
    CHECK(y.at(1, 1) == doctest::Approx(expected).epsilon(1e-15));
  }
  SequencePoolLayer<double, Cpu> pool(SequencePool{}, rng);
  CHECK_THROWS_AS(pool.output_shape(Shape{2, 0, 3}), ShapeError);
}
