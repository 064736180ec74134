// Tests layers/flatten.hpp: shapes, element order, and the gradient check.
#include <doctest/doctest.h>

#include "netgrow/layers/flatten.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("Flatten keeps the batch dimension and row-major order") {
  Rng rng(0);
  FlattenLayer<double, Cpu> layer(Flatten{}, rng);
  CHECK(layer.output_shape(Shape{2, 3, 4, 5}) == Shape{2, 60});
  CHECK(layer.output_shape(Shape{7}) == Shape{7, 1});
  CHECK_THROWS_AS(layer.output_shape(Shape{}), ShapeError);
  auto x = Tensor<double>::from({2, 1, 2}, {1, 2, 3, 4});
  Tensor<double> y(layer.output_shape(x.shape()));
  layer.forward(x, y, Mode::eval);
  CHECK(y.at(1, 0) == 3);
  CHECK(y.at(1, 1) == 4);
}

TEST_CASE("Flatten passes the gradient check") {
  Rng rng(0);
  FlattenLayer<double, Cpu> layer(Flatten{}, rng);
  test::check_layer_gradients(layer, Shape{3, 2, 3, 3}, 4);
}
