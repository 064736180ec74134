// Tests layers/max_pool2d.hpp, avg_pool2d.hpp and global_avg_pool.hpp: values against plain loops,
// gradient checks, tie-breaking, and shape errors.
#include <doctest/doctest.h>

#include "netgrow/layers/avg_pool2d.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

TEST_CASE("MaxPool2d takes window maxima and passes the gradient check") {
  Rng rng(1);
  for (auto [k, s, p] : {std::tuple<Index, Index, Index>{2, 2, 0}, {3, 2, 1}, {3, 1, 1}, {2, 1, 0}}) {
    MaxPool2dLayer<double, Cpu> pool(MaxPool2d{.kernel = k, .stride = s, .padding = p}, rng);
    Tensor<double> x = test::random_tensor(Shape{2, 3, 7, 6}, rng);
    Tensor<double> y(pool.output_shape(x.shape()));
    pool.forward(x, y, Mode::train);
    for (Index n = 0; n < 2; ++n)
      for (Index c = 0; c < 3; ++c)
        for (Index oy = 0; oy < y.dim(2); ++oy)
          for (Index ox = 0; ox < y.dim(3); ++ox) {
            double best = -1e300;
            for (Index i = 0; i < k; ++i)
              for (Index j = 0; j < k; ++j) {
                const Index iy = oy * s - p + i, ix = ox * s - p + j;
                if (iy >= 0 && iy < 7 && ix >= 0 && ix < 6) best = std::max(best, x.at(n, c, iy, ix));
              }
            CHECK(y.at(n, c, oy, ox) == best);
          }
    test::check_layer_gradients(pool, Shape{2, 3, 7, 6}, 10 + k + s + p);  // random inputs: no ties
  }
}

TEST_CASE("MaxPool2d sends the gradient of a tied window to its first element") {
  Rng rng(2);
  MaxPool2dLayer<double, Cpu> pool(MaxPool2d{.kernel = 2, .stride = 2}, rng);
  Tensor<double> x({1, 1, 2, 4}), y({1, 1, 1, 2});
  pool.forward(x, y, Mode::train);  // all zeros: every window is a tie
  const auto dy = Tensor<double>::from({1, 1, 1, 2}, {3.0, 5.0});
  Tensor<double> dx(x.shape());
  pool.backward(x, y, dy, dx, false);
  CHECK(dx.to_vector() == std::vector<double>{3, 0, 5, 0, 0, 0, 0, 0});
}

TEST_CASE("AvgPool2d averages windows (dividing by k * k) and passes the gradient check") {
  Rng rng(3);
  AvgPool2dLayer<double, Cpu> pool(AvgPool2d{.kernel = 3, .stride = 2, .padding = 1}, rng);
  const auto x = Tensor<double>::from({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor<double> y(pool.output_shape(x.shape()));
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  pool.forward(x, y, Mode::train);
  CHECK(y.at(0, 0, 0, 0) == doctest::Approx((1 + 2 + 4 + 5) / 9.0));
  CHECK(y.at(0, 0, 1, 1) == doctest::Approx((5 + 6 + 8 + 9) / 9.0));
  test::check_layer_gradients(pool, Shape{2, 2, 7, 5}, 4);
  AvgPool2dLayer<double, Cpu> plain(AvgPool2d{}, rng);
  test::check_layer_gradients(plain, Shape{2, 3, 6, 4}, 5);
}

TEST_CASE("GlobalAvgPool averages each channel to (N, C) and passes the gradient check") {
  Rng rng(4);
  GlobalAvgPoolLayer<double, Cpu> gap(GlobalAvgPool{}, rng);
  const auto x = Tensor<double>::from({1, 2, 1, 3}, {1, 2, 3, 10, 20, 30});
  Tensor<double> y(gap.output_shape(x.shape()));
  gap.forward(x, y, Mode::eval);
  CHECK(y.to_vector() == std::vector<double>{2, 20});
  test::check_layer_gradients(gap, Shape{3, 4, 3, 5}, 6);
}

TEST_CASE("pooling layers reject bad geometry") {
  Rng rng(5);
  using Max = MaxPool2dLayer<float, Cpu>;
  CHECK_THROWS_AS(Max(MaxPool2d{.kernel = 2, .stride = 2, .padding = 2}, rng), ArgumentError);
  Max pool(MaxPool2d{.kernel = 3, .stride = 1}, rng);
  CHECK_THROWS_AS(pool.output_shape(Shape{1, 1, 2, 2}), ShapeError);
  CHECK_THROWS_AS(pool.output_shape(Shape{1, 4, 4}), ShapeError);
  GlobalAvgPoolLayer<float, Cpu> gap(GlobalAvgPool{}, rng);
  CHECK_THROWS_AS(gap.output_shape(Shape{2, 3}), ShapeError);
}
