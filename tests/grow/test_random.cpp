// Tests grow/random.hpp: Random and its variants put zero and random directions on the documented
// sides, with the norm rule's magnitudes, reproducibly from the seed.
#include <doctest/doctest.h>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using Mlp = Sequential<double, Cpu, Dense, Relu1, Dense>;

GrowthFixture<Mlp> fixture(std::uint64_t seed) {
  GrowthFixture<Mlp> f(seed, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
  f.train(3);
  return f;
}

double mean_col_norm(ConstView<double, Cpu> m, Index count) {
  double s = 0;
  for (Index c = 0; c < count; ++c) s += cols_norm(m, c, 1);
  return s / static_cast<double>(count);
}
double mean_row_norm(ConstView<double, Cpu> m, Index count) {
  double s = 0;
  for (Index r = 0; r < count; ++r) s += rows_norm(m, r, 1);
  return s / static_cast<double>(count);
}

}  // namespace

TEST_CASE("Random: zero incoming weights and bias, random outgoing directions of the rule's norm") {
  auto f = fixture(1);
  const double out_mean = mean_col_norm(f.net.layer<2>().weight().value, 5);
  grow::grow_width<0, 2>(f.net, 3, grow::Random{.norm = grow::NormRule::mean_norm(0.5)}, f.rng);
  const auto& w0 = f.net.layer<0>().weight().value;
  const auto& w2 = f.net.layer<2>().weight().value;
  CHECK(rows_norm(w0, 5, 3) == 0.0);
  for (Index r = 5; r < 8; ++r) CHECK(f.net.layer<0>().bias().value[r] == 0.0);
  for (Index c = 5; c < 8; ++c) CHECK(cols_norm(w2, c, 1) == doctest::Approx(0.5 * out_mean));
  // Directions differ between the new neurons.
  CHECK(std::abs(w2.at(0, 5) - w2.at(0, 6)) + std::abs(w2.at(1, 5) - w2.at(1, 6)) > 0);
}

TEST_CASE("Random's epsilon gives the incoming side that fraction of the existing mean norm") {
  auto f = fixture(2);
  const double in_mean = mean_row_norm(f.net.layer<0>().weight().value, 5);
  grow::grow_width<0, 2>(f.net, 2, grow::Random{.epsilon = 0.25}, f.rng);
  CHECK(rows_norm(f.net.layer<0>().weight().value, 5, 1) == doctest::Approx(0.25 * in_mean));
  CHECK(rows_norm(f.net.layer<0>().weight().value, 6, 1) == doctest::Approx(0.25 * in_mean));
}

TEST_CASE("Random with the reference's non-negative uniform directions") {
  auto f = fixture(3);
  grow::grow_width<0, 2>(f.net, 4, grow::Random{.direction = grow::RandomDirection::nonnegative_uniform}, f.rng);
  const auto& w2 = f.net.layer<2>().weight().value;
  for (Index r = 0; r < 10; ++r)
    for (Index c = 5; c < 9; ++c) CHECK(w2.at(r, c) >= 0.0);
}

TEST_CASE("Random{} draws isotropic directions, Random::reference() the reference's non-negative ones") {
  const grow::Random ref = grow::Random::reference(grow::NormRule::mean_norm(0.5), 0.1);
  CHECK(ref.direction == grow::RandomDirection::nonnegative_uniform);
  CHECK(ref.norm.scale == 0.5);
  CHECK(ref.epsilon == 0.1);
  CHECK(grow::Random{}.direction == grow::RandomDirection::sphere);
  auto f = fixture(8);
  grow::grow_width<0, 2>(f.net, 6, grow::Random{}, f.rng);
  const auto& w = f.net.layer<2>().weight().value;  // (10, 11): the new columns 5..10
  Index negative = 0;
  for (Index r = 0; r < w.dim(0); ++r)
    for (Index c = 5; c < 11; ++c) negative += w.at(r, c) < 0;
  CHECK(negative > 0);  // isotropic: some entries negative (probability 1 - 2^-60 here)
}

TEST_CASE("Random is reproducible from the seed") {
  auto a = fixture(4);
  auto b = fixture(4);
  Rng ra(99), rb(99);
  grow::grow_width<0, 2>(a.net, 3, grow::Random{}, ra);
  grow::grow_width<0, 2>(b.net, 3, grow::Random{}, rb);
  CHECK(a.net.layer<2>().weight().value.to_vector() == b.net.layer<2>().weight().value.to_vector());
}

TEST_CASE("RandomOutgoingZero: random incoming weights of the rule's norm, zero outgoing weights") {
  auto f = fixture(5);
  const double in_mean = mean_row_norm(f.net.layer<0>().weight().value, 5);
  grow::grow_width<0, 2>(f.net, 2, grow::RandomOutgoingZero{}, f.rng);
  CHECK(rows_norm(f.net.layer<0>().weight().value, 5, 1) == doctest::Approx(in_mean));
  CHECK(cols_norm(f.net.layer<2>().weight().value, 5, 2) == 0.0);
}

TEST_CASE("RandomAllZero: both sides zero and unit bias; it needs a bias") {
  auto f = fixture(6);
  grow::grow_width<0, 2>(f.net, 2, grow::RandomAllZero{}, f.rng);
  CHECK(rows_norm(f.net.layer<0>().weight().value, 5, 2) == 0.0);
  CHECK(cols_norm(f.net.layer<2>().weight().value, 5, 2) == 0.0);
  CHECK(f.net.layer<0>().bias().value[5] == 1.0);
  CHECK(f.net.layer<0>().bias().value[6] == 1.0);

  GrowthFixture<Mlp> no_bias(7, Dense{.in = 20, .out = 5, .bias = false}, Relu1{}, Dense{.in = 5, .out = 10});
  CHECK_THROWS_WITH_AS((grow::grow_width<0, 2>(no_bias.net, 1, grow::RandomAllZero{}, no_bias.rng)),
                       doctest::Contains("needs a bias"), ArgumentError);
}
