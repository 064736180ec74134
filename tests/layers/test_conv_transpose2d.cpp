// Tests layers/conv_transpose2d.hpp: the forward pass against a direct scatter (every input pixel adds
// its weighted kernel into the output grid), the adjoint identity <conv^T x, y> = <x, conv y> with
// Conv2d, gradient checks at the geometries a DCGAN generator uses (and odd ones), and bad input.
#include <doctest/doctest.h>

#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/conv_transpose2d.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

namespace {

// y[n, o, i s - p + a, j s - p + b] += x[n, c, i, j] W[c, o, a, b] + b[o], cropped to the output grid.
Tensor<double> direct_transposed(const Tensor<double>& x, ConvTranspose2dLayer<double, Cpu>& layer) {
  const ConvTranspose2d k = layer.kind();
  Tensor<double> y(layer.output_shape(x.shape()));
  const Tensor<double>& w = layer.weight().value;
  for (Index n = 0; n < x.dim(0); ++n)
    for (Index o = 0; o < k.out; ++o)
      for (Index r = 0; r < y.dim(2); ++r)
        for (Index c = 0; c < y.dim(3); ++c) y.at(n, o, r, c) = k.bias ? layer.bias().value[o] : 0.0;
  for (Index n = 0; n < x.dim(0); ++n)
    for (Index c = 0; c < k.in; ++c)
      for (Index i = 0; i < x.dim(2); ++i)
        for (Index j = 0; j < x.dim(3); ++j)
          for (Index o = 0; o < k.out; ++o)
            for (Index a = 0; a < k.kernel; ++a)
              for (Index b = 0; b < k.kernel; ++b) {
                const Index r = i * k.stride - k.padding + a, q = j * k.stride - k.padding + b;
                if (r >= 0 && r < y.dim(2) && q >= 0 && q < y.dim(3)) y.at(n, o, r, q) += x.at(n, c, i, j) * w.at(c, o, a, b);
              }
  return y;
}

}  // namespace

TEST_CASE("ConvTranspose2d equals a direct scatter at odd sizes, strides, paddings and output paddings") {
  Rng rng(1);
  for (Index k : {1, 3, 4})
    for (Index s : {1, 2, 3})
      for (Index p : {0, 1})
        for (Index op = 0; op < s; ++op) {
          ConvTranspose2dLayer<double, Cpu> layer(
              ConvTranspose2d{.in = 3, .out = 2, .kernel = k, .stride = s, .padding = p, .output_padding = op}, rng);
          fill_normal(layer.bias().value.view(), 0.0, 1.0, rng);
          const Tensor<double> x = test::random_tensor(Shape{2, 3, 5, 4}, rng);
          Shape out_shape;
          try {
            out_shape = layer.output_shape(x.shape());
          } catch (const ShapeError&) {
            continue;  // k = 1 with padding 1: an empty grid
          }
          INFO("k ", k, " s ", s, " p ", p, " output_padding ", op);
          CHECK(out_shape[2] == 4 * s - 2 * p + k + op);
          Tensor<double> y(out_shape);
          layer.forward(x, y, Mode::train);
          const Tensor<double> expected = direct_transposed(x, layer);
          double worst = 0;
          for (Index i = 0; i < y.numel(); ++i) worst = std::max(worst, std::abs(y[i] - expected[i]));
          CHECK(worst < 1e-12);
        }
}

TEST_CASE("ConvTranspose2d is the adjoint of the Conv2d with the same weights") {
  Rng rng(2);
  ConvTranspose2dLayer<double, Cpu> up(ConvTranspose2d{.in = 3, .out = 2, .kernel = 4, .stride = 2, .padding = 1,
                                                       .bias = false},
                                       rng);
  Conv2dLayer<double, Cpu> down(Conv2d{.in = 2, .out = 3, .kernel = 4, .stride = 2, .padding = 1, .bias = false}, rng);
  down.weight().value.copy_from(up.weight().value.cview());  // (3, 2, 4, 4) both
  const Tensor<double> x = test::random_tensor(Shape{2, 3, 7, 7}, rng);
  Tensor<double> ux(up.output_shape(x.shape()));
  up.forward(x, ux, Mode::train);
  CHECK(ux.shape() == Shape{2, 2, 14, 14});
  const Tensor<double> v = test::random_tensor(ux.shape(), rng);
  Tensor<double> dv(down.output_shape(v.shape()));
  down.forward(v, dv, Mode::train);
  REQUIRE(dv.shape() == x.shape());
  CHECK(test::dot(ux.cview(), v.cview()) == doctest::Approx(test::dot(x.cview(), dv.cview())).epsilon(1e-12));
}

TEST_CASE("ConvTranspose2d passes the gradient check (input, weight, bias) at a generator's geometries") {
  for (Index k : {3, 4})
    for (Index s : {1, 2})
      for (Index p : {0, 1})
        for (bool bias : {true, false}) {
          Rng rng(static_cast<std::uint64_t>(10 * k + s + p));
          ConvTranspose2dLayer<double, Cpu> layer(
              ConvTranspose2d{.in = 3, .out = 4, .kernel = k, .stride = s, .padding = p, .output_padding = s - 1,
                              .bias = bias},
              rng);
          if (bias) fill_normal(layer.bias().value.view(), 0.0, 1.0, rng);
          test::check_layer_gradients(layer, Shape{2, 3, 4, 5}, static_cast<std::uint64_t>(k + s));
        }
}

TEST_CASE("ConvTranspose2d rejects bad settings and inputs") {
  Rng rng(4);
  using Layer = ConvTranspose2dLayer<float, Cpu>;
  CHECK_THROWS_AS(Layer(ConvTranspose2d{.in = 0, .out = 2}, rng), ArgumentError);
  CHECK_THROWS_WITH_AS(Layer(ConvTranspose2d{.in = 2, .out = 2, .stride = 2, .output_padding = 2}, rng),
                       doctest::Contains("output_padding"), ArgumentError);
  Layer layer(ConvTranspose2d{.in = 2, .out = 3}, rng);
  CHECK(layer.output_shape(Shape{1, 2, 7, 7}) == Shape{1, 3, 14, 14});
  CHECK_THROWS_WITH_AS(layer.output_shape(Shape{1, 3, 7, 7}), doctest::Contains("expects 2 input channels"), ShapeError);
  CHECK_THROWS_AS(layer.output_shape(Shape{1, 2, 7}), ShapeError);
  CHECK(layer.describe() == "ConvTranspose2d(2 -> 3, 4x4, stride 2, padding 1)");
  CHECK(layer.forward_flops(Shape{1, 2, 7, 7}) == doctest::Approx(2.0 * 98 * 3 * 16));
}
