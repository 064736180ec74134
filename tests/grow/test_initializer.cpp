// Tests grow/initializer.hpp: norm rules, random unit rows, row rescaling and GrowthData's contract.
#include <doctest/doctest.h>

#include "netgrow/models/mlp.hpp"
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

namespace {

// An initializer of the user's that declares no traits: zero incoming weights, outgoing weights all 1/sqrt(fan_out).
struct ConstantOutgoing {
  template <class S>
  grow::NewNeurons<S> initialize(const grow::PairView<S>& pair, Index k, const grow::GrowthData<S>&, Rng&) const {
    grow::NewNeurons<S> n;
    n.incoming = Tensor<S>(Shape{k, pair.fan_in()});
    n.outgoing = Tensor<S>(Shape{k, pair.fan_out()});
    n.outgoing.fill(static_cast<S>(1.0 / std::sqrt(static_cast<double>(pair.fan_out()))));
    return n;
  }
};

struct NotAnInitializer {
  int initialize = 0;
};

}  // namespace

TEST_CASE("Initializer: the concept, the device trait and the traits' documented defaults") {
  static_assert(grow::Initializer<ConstantOutgoing> && grow::Initializer<grow::GradMax> &&
                grow::Initializer<grow::Random> && grow::Initializer<grow::Split>);
  static_assert(!grow::Initializer<NotAnInitializer> && !grow::Initializer<int>);
  static_assert(grow::runs_on<grow::GradMax, float, Cpu> && grow::runs_on<grow::Split, double, Cpu>);
  using T = grow::initializer_traits<ConstantOutgoing>;
  static_assert(!T::needs_data && !T::needs_zero_at_zero && !T::needs_nonzero_slope && !T::copies_neurons);
  static_assert(grow::initializer_traits<grow::GradMax>::needs_data &&
                grow::initializer_traits<grow::GradMax>::needs_nonzero_slope);
  static_assert(grow::initializer_traits<grow::Lemon>::copies_neurons);
  CHECK(true);
}

TEST_CASE("an initializer that declares no traits grows through grow_pair, grow_all_at_once and grow_all_sites") {
  GrowthFixture<DenseActDense<Relu1>> f(3, Dense{.in = 20, .out = 4}, Relu1{}, Dense{.in = 4, .out = 10});
  f.train(2);
  const Tensor<double> before = f.output();
  grow::grow_pair(f.net, grow::PairList<grow::Pair<0, 2>>{}, 0, 2, ConstantOutgoing{}, f.rng);  // no refresh needed
  CHECK(f.net.layer<0>().out_features() == 6);
  const std::array<Index, 1> ks{3};
  grow::grow_all_at_once(f.net, grow::PairList<grow::Pair<0, 2>>{}, ks, ConstantOutgoing{}, f.rng);
  CHECK(f.net.layer<0>().out_features() == 9);
  CHECK(max_abs_diff(before, f.output()) < 1e-12);

  Rng a(1), b(1);
  models::Mlp<double, Cpu> seed({.in = 12, .hidden1 = 16, .hidden2 = 8, .out = 3, .width_multiplier = 0.25}, a);
  models::Mlp<double, Cpu> target({.in = 12, .hidden1 = 16, .hidden2 = 8, .out = 3}, b);
  const auto plan = models::plan_growth(seed, target, 2);
  for (int g = 0; g < plan.growths; ++g) models::grow_all_sites(seed, plan, g, ConstantOutgoing{}, a);
  CHECK(seed.net().layer<0>().out_features() == 16);
}
