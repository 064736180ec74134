// Tests layers/flatten.hpp and layers/unflatten.hpp: shapes, element order, and the gradient check.
#include <doctest/doctest.h>

#include "netgrow/layers/flatten.hpp"
#include "netgrow/layers/unflatten.hpp"
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

TEST_CASE("Unflatten reshapes (N, C H W) to (N, C, H, W) and back in backward, passing the gradient check") {
  Rng rng(7);
  UnflattenLayer<double, Cpu> layer(Unflatten{.channels = 2, .height = 3, .width = 4}, rng);
  CHECK(layer.output_shape(Shape{5, 24}) == Shape{5, 2, 3, 4});
  test::check_layer_gradients(layer, Shape{5, 24});
  CHECK_THROWS_AS(layer.output_shape(Shape{5, 23}), ShapeError);
  CHECK_THROWS_AS(layer.output_shape(Shape{5, 2, 12}), ShapeError);
  using Layer = UnflattenLayer<double, Cpu>;
  CHECK_THROWS_AS(Layer(Unflatten{.channels = 0}, rng), ArgumentError);
  CHECK(layer.describe() == "Unflatten(2, 3, 4)");
}
