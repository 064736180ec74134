// Tests grow/initializer.hpp: norm rules, random unit rows, row rescaling and GrowthData's contract.
#include <doctest/doctest.h>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

TEST_CASE("NormRule: mean_norm is scale x the mean row norm, fixed is the value itself") {
  const auto rows = Tensor<double>::from({2, 2}, {3, 4, 0, 1});  // norms 5 and 1
  CHECK(grow::NormRule::mean_norm().magnitude(rows.cview()) == doctest::Approx(3.0));
  CHECK(grow::NormRule::mean_norm(0.5).magnitude(rows.cview()) == doctest::Approx(1.5));
  CHECK(grow::NormRule::fixed(0.7).magnitude(rows.cview()) == 0.7);
  CHECK(grow::NormRule::mean_norm(2).with_scale(0).magnitude(rows.cview()) == 0.0);
  CHECK(grow::NormRule::fixed(2).with_scale(0.1).magnitude(rows.cview()) == 0.1);
  CHECK_THROWS_AS(grow::NormRule::fixed(-1).magnitude(rows.cview()), ArgumentError);
}

TEST_CASE("random_unit_rows gives unit rows, reproducibly, non-negative when asked") {
  Rng a(1), b(1);
  const auto x = grow::random_unit_rows<double>(4, 9, grow::RandomDirection::sphere, a);
  const auto y = grow::random_unit_rows<double>(4, 9, grow::RandomDirection::sphere, b);
  CHECK(x.to_vector() == y.to_vector());
  for (Index r = 0; r < 4; ++r) CHECK(rows_norm(x, r, 1) == doctest::Approx(1.0));
  const auto u = grow::random_unit_rows<float>(3, 5, grow::RandomDirection::nonnegative_uniform, a);
  for (float v : u.span()) CHECK(v >= 0.0f);
}

TEST_CASE("set_row_norms rescales rows and leaves zero rows at zero") {
  auto t = Tensor<double>::from({3, 2}, {3, 4, 0, 0, 1, 0});
  grow::set_row_norms(t, 2.0);
  const std::vector<double> expected{1.2, 1.6, 0, 0, 2, 0};
  for (Index i = 0; i < 6; ++i) CHECK(t[i] == doctest::Approx(expected[static_cast<std::size_t>(i)]));
}

TEST_CASE("GrowthData computes M = dz^T h from a batch, and says what is missing") {
  const auto h = Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto dz = Tensor<double>::from({2, 2}, {1, 0, 0, 2});
  const auto data = grow::GrowthData<double>::from_batch(h, dz);
  CHECK(data.has_batch());
  CHECK_FALSE(data.has_matrix());
  CHECK(data.matrix().to_vector() == std::vector<double>{1, 2, 3, 8, 10, 12});
  CHECK_THROWS_WITH_AS(data.recompute(), doctest::Contains("with_recompute"), ArgumentError);

  const grow::GrowthData<double> empty;
  CHECK_THROWS_WITH_AS(empty.matrix(), doctest::Contains("from_matrix"), ArgumentError);
  CHECK_THROWS_AS(empty.inputs(), ArgumentError);
  CHECK_THROWS_AS(grow::GrowthData<double>::from_batch(h, Tensor<double>(Shape{3, 2})), ShapeError);

  int calls = 0;
  auto with = grow::GrowthData<double>::from_matrix(Tensor<double>(Shape{2, 3}));
  with.with_recompute([&] { ++calls; });
  with.recompute();
  CHECK(calls == 1);
  CHECK(with.has_matrix());
  CHECK_THROWS_AS(grow::GrowthData<double>::from_matrix(Tensor<double>(Shape{4})), ShapeError);
}
