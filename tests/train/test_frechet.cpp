// Tests train/frechet.hpp: the Fréchet distance is 0 between equal statistics, matches the closed
// form for one-dimensional and commuting (diagonal) covariances, is symmetric, and grows with a mean
// shift; feature_statistics gives the unbiased covariance.
#include <doctest/doctest.h>

#include "netgrow/core/rng.hpp"
#include "netgrow/train/frechet.hpp"

using namespace netgrow;

namespace {

FeatureStatistics gaussian(Eigen::VectorXd mean, Eigen::MatrixXd covariance) {
  FeatureStatistics s;
  s.mean = std::move(mean);
  s.covariance = std::move(covariance);
  s.count = 100;
  return s;
}

}  // namespace

TEST_CASE("frechet_distance: zero for equal statistics, the closed form for 1-D and diagonal covariances") {
  const auto a = gaussian(Eigen::VectorXd::Constant(1, 0.5), Eigen::MatrixXd::Constant(1, 1, 4.0));
  const auto b = gaussian(Eigen::VectorXd::Constant(1, -1.5), Eigen::MatrixXd::Constant(1, 1, 1.0));
  CHECK(frechet_distance(a, a) == doctest::Approx(0).scale(1));
  CHECK(frechet_distance(a, b) == doctest::Approx(4.0 + (2.0 - 1.0) * (2.0 - 1.0)));  // (mu diff)^2 + (s1 - s2)^2
  Eigen::VectorXd d1(3), d2(3);
  d1 << 1, 4, 9;
  d2 << 4, 1, 0.25;
  const auto c = gaussian(Eigen::VectorXd::Zero(3), d1.asDiagonal());
  const auto e = gaussian(Eigen::VectorXd::Ones(3), d2.asDiagonal());
  const double expected = 3 + (1 - 2) * (1 - 2) + (2 - 1) * (2 - 1) + (3 - 0.5) * (3 - 0.5);
  CHECK(frechet_distance(c, e) == doctest::Approx(expected));
  CHECK(frechet_distance(e, c) == doctest::Approx(expected));
  CHECK_THROWS_AS(frechet_distance(a, c), ShapeError);
}

TEST_CASE("frechet_distance: symmetric for full covariances; feature_statistics is the unbiased estimate") {
  Rng rng(1);
  Tensor<double> x({400, 4}), y({400, 4});
  for (Index i = 0; i < 400; ++i)
    for (Index j = 0; j < 4; ++j) {
      x.at(i, j) = rng.normal() + 0.3 * static_cast<double>(j) * x.at(i, 0);
      y.at(i, j) = 1.5 * rng.normal() + (j == 2 ? 1.0 : 0.0);
    }
  const FeatureStatistics sx = feature_statistics<double>(x), sy = feature_statistics<double>(y);
  CHECK(sx.count == 400);
  double var0 = 0, mean0 = 0;
  for (Index i = 0; i < 400; ++i) mean0 += x.at(i, 0) / 400;
  for (Index i = 0; i < 400; ++i) var0 += (x.at(i, 0) - mean0) * (x.at(i, 0) - mean0) / 399;
  CHECK(sx.covariance(0, 0) == doctest::Approx(var0));
  CHECK(frechet_distance(sx, sy) == doctest::Approx(frechet_distance(sy, sx)));
  CHECK(frechet_distance(sx, sy) > 0);
  CHECK(frechet_distance(sx, sx) == doctest::Approx(0).scale(1));
  CHECK_THROWS_AS(feature_statistics<double>(Tensor<double>({1, 4})), ShapeError);
}
