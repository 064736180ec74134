// Tests core/init.hpp: fill_uniform, fill_normal and every WeightInit against the formulas in the header.
#include <doctest/doctest.h>

#include "netgrow/core/init.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

using netgrow::Index;
using netgrow::Rng;
using netgrow::Shape;
using netgrow::Tensor;
using netgrow::WeightInit;

namespace {

struct Moments {
  double mean = 0, stddev = 0, min = 0, max = 0;
};

template <class T>
Moments moments(const Tensor<T>& t) {
  double sum = 0, sum2 = 0;
  double lo = static_cast<double>(t[0]), hi = lo;
  for (Index i = 0; i < t.numel(); ++i) {
    const double v = static_cast<double>(t[i]);
    sum += v;
    sum2 += v * v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double n = static_cast<double>(t.numel());
  const double mean = sum / n;
  return {mean, std::sqrt(sum2 / n - mean * mean), lo, hi};
}

constexpr std::array all_inits{WeightInit::zeros,     WeightInit::glorot_uniform, WeightInit::glorot_normal,
                               WeightInit::he_uniform, WeightInit::he_normal,      WeightInit::lecun_normal,
                               WeightInit::torch_default};

}  // namespace

TEST_CASE("fill_uniform draws from [lo, hi) with the uniform mean and spread") {
  Rng rng(1);
  Tensor<double> t(Shape{200, 300});
  netgrow::fill_uniform(t.view(), -2.0, 6.0, rng);
  const Moments m = moments(t);
  CHECK(m.min >= -2.0);
  CHECK(m.max < 6.0);
  CHECK(m.min < -1.99);  // the whole range is covered
  CHECK(m.max > 5.99);
  CHECK(m.mean == doctest::Approx(2.0).epsilon(0.02));
  CHECK(m.stddev == doctest::Approx(8.0 / std::sqrt(12.0)).epsilon(0.02));
}

TEST_CASE("fill_uniform with lo == hi fills the constant") {
  Rng rng(2);
  Tensor<float> t(Shape{10});
  netgrow::fill_uniform(t.view(), 0.25, 0.25, rng);
  for (float v : t.span()) CHECK(v == 0.25f);
}

TEST_CASE("fill_uniform with lo > hi throws ArgumentError") {
  Rng rng(3);
  Tensor<float> t(Shape{4});
  CHECK_THROWS_WITH_AS(netgrow::fill_uniform(t.view(), 1.0, -1.0, rng), doctest::Contains("lo"),
                       netgrow::ArgumentError);
}

TEST_CASE("fill_normal draws N(mean, stddev^2)") {
  Rng rng(4);
  Tensor<double> t(Shape{300, 200});
  netgrow::fill_normal(t.view(), 3.0, 0.5, rng);
  const Moments m = moments(t);
  // Standard errors: mean 0.5 / sqrt(60000) ~ 0.002, stddev ~ 0.0015.
  CHECK(m.mean == doctest::Approx(3.0).epsilon(0.005));
  CHECK(m.stddev == doctest::Approx(0.5).epsilon(0.02));
  CHECK(m.min < 3.0 - 3 * 0.5);  // not truncated
  CHECK(m.max > 3.0 + 3 * 0.5);
}

TEST_CASE("fill_normal fills an odd number of elements, using both values of each pair") {
  Rng a(5), b(5);
  Tensor<double> t(Shape{7});
  netgrow::fill_normal(t.view(), 0.0, 1.0, a);
  std::vector<double> expected;
  for (int i = 0; i < 4; ++i) {
    const auto z = b.normal_pair();
    expected.push_back(z[0]);
    expected.push_back(z[1]);
  }
  expected.pop_back();
  CHECK(t.to_vector() == expected);
  CHECK(a == b);
}

TEST_CASE("fill_normal with stddev 0 fills the mean and a negative stddev throws ArgumentError") {
  Rng rng(6);
  Tensor<float> t(Shape{5});
  netgrow::fill_normal(t.view(), -1.5, 0.0, rng);
  for (float v : t.span()) CHECK(v == -1.5f);
  CHECK_THROWS_WITH_AS(netgrow::fill_normal(t.view(), 0.0, -1.0, rng), doctest::Contains("stddev"),
                       netgrow::ArgumentError);
}

TEST_CASE("fill_uniform and fill_normal on a view only touch the view") {
  Rng rng(7);
  Tensor<float> t(Shape{4, 3});
  t.fill(100.0f);
  netgrow::fill_uniform(t.view().rows(1, 2), 0.0, 1.0, rng);
  for (Index j = 0; j < 3; ++j) {
    CHECK(t.at(0, j) == 100.0f);
    CHECK(t.at(1, j) <= 1.0f);
    CHECK(t.at(2, j) <= 1.0f);
    CHECK(t.at(3, j) == 100.0f);
  }
}

TEST_CASE("init_weights zeros fills zeros") {
  Rng rng(8);
  Tensor<float> t(Shape{30, 20});
  t.fill(5.0f);
  netgrow::init_weights(t.view(), WeightInit::zeros, 20, 30, rng);
  for (float v : t.span()) CHECK(v == 0.0f);
}

TEST_CASE("uniform WeightInits draw U(-a, a) with the header's a") {
  constexpr Index fan_in = 200, fan_out = 300;
  struct Case {
    WeightInit init;
    double a;
  };
  const Case cases[] = {
      {WeightInit::glorot_uniform, std::sqrt(6.0 / (fan_in + fan_out))},
      {WeightInit::he_uniform, std::sqrt(6.0 / fan_in)},
      {WeightInit::torch_default, 1.0 / std::sqrt(double(fan_in))},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(netgrow::to_string(c.init)));
    Rng rng(9);
    Tensor<float> w(Shape{fan_out, fan_in});
    netgrow::init_weights(w.view(), c.init, fan_in, fan_out, rng);
    const Moments m = moments(w);
    // Float rounding of a value within one ulp of the bound may land on it: allow 1e-6 relative.
    CHECK(m.max <= c.a * (1 + 1e-6));
    CHECK(m.min >= -c.a * (1 + 1e-6));
    CHECK(m.max > 0.99 * c.a);
    CHECK(m.min < -0.99 * c.a);
    CHECK(std::abs(m.mean) < 0.02 * c.a);
    CHECK(m.stddev == doctest::Approx(c.a / std::sqrt(3.0)).epsilon(0.03));
  }
}

TEST_CASE("normal WeightInits draw N(0, sigma^2) with the header's sigma, not truncated") {
  constexpr Index fan_in = 200, fan_out = 300;
  struct Case {
    WeightInit init;
    double sigma;
  };
  const Case cases[] = {
      {WeightInit::glorot_normal, std::sqrt(2.0 / (fan_in + fan_out))},
      {WeightInit::he_normal, std::sqrt(2.0 / fan_in)},
      {WeightInit::lecun_normal, std::sqrt(1.0 / fan_in)},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(netgrow::to_string(c.init)));
    Rng rng(10);
    Tensor<float> w(Shape{fan_out, fan_in});
    netgrow::init_weights(w.view(), c.init, fan_in, fan_out, rng);
    const Moments m = moments(w);
    CHECK(std::abs(m.mean) < 0.02 * c.sigma);
    CHECK(m.stddev == doctest::Approx(c.sigma).epsilon(0.03));
    CHECK(m.max > 3.0 * c.sigma);  // ~160 of 60000 draws lie beyond 3 sigma
    CHECK(m.min < -3.0 * c.sigma);
  }
}

TEST_CASE("init_weights with the same seed gives bitwise-identical tensors for every WeightInit") {
  for (WeightInit init : all_inits) {
    CAPTURE(std::string(netgrow::to_string(init)));
    Rng r1(77), r2(77);
    Tensor<float> a(Shape{31, 17}), b(Shape{31, 17});
    netgrow::init_weights(a.view(), init, 17, 31, r1);
    netgrow::init_weights(b.view(), init, 17, 31, r2);
    CHECK(a.to_vector() == b.to_vector());
    CHECK(r1 == r2);
  }
}

TEST_CASE("init_weights with different seeds gives different tensors") {
  for (WeightInit init : all_inits) {
    if (init == WeightInit::zeros) continue;
    CAPTURE(std::string(netgrow::to_string(init)));
    Rng r1(1), r2(2);
    Tensor<double> a(Shape{8, 8}), b(Shape{8, 8});
    netgrow::init_weights(a.view(), init, 8, 8, r1);
    netgrow::init_weights(b.view(), init, 8, 8, r2);
    CHECK(a.to_vector() != b.to_vector());
  }
}

TEST_CASE("init_weights matches fill_uniform and fill_normal with the formula's parameters") {
  // The draw order is part of the contract: same seed -> same weights as the primitive fills.
  Rng r1(12), r2(12);
  Tensor<double> a(Shape{6, 4}), b(Shape{6, 4});
  netgrow::init_weights(a.view(), WeightInit::he_normal, 4, 6, r1);
  netgrow::fill_normal(b.view(), 0.0, std::sqrt(2.0 / 4), r2);
  CHECK(a.to_vector() == b.to_vector());

  netgrow::init_weights(a.view(), WeightInit::glorot_uniform, 4, 6, r1);
  const double g = std::sqrt(6.0 / 10);
  netgrow::fill_uniform(b.view(), -g, g, r2);
  CHECK(a.to_vector() == b.to_vector());
}

TEST_CASE("init_weights with a non-positive fan throws ArgumentError naming the fans") {
  Rng rng(13);
  Tensor<float> t(Shape{3, 2});
  for (WeightInit init : all_inits) {
    CAPTURE(std::string(netgrow::to_string(init)));
    CHECK_THROWS_WITH_AS(netgrow::init_weights(t.view(), init, 0, 3, rng), doctest::Contains("fan_in=0"),
                         netgrow::ArgumentError);
    CHECK_THROWS_WITH_AS(netgrow::init_weights(t.view(), init, 2, -1, rng), doctest::Contains("fan_out=-1"),
                         netgrow::ArgumentError);
  }
}

TEST_CASE("init_weights with an unknown WeightInit value throws ArgumentError") {
  Rng rng(14);
  Tensor<float> t(Shape{2, 2});
  CHECK_THROWS_AS(netgrow::init_weights(t.view(), static_cast<WeightInit>(99), 2, 2, rng), netgrow::ArgumentError);
}

TEST_CASE("to_string names every WeightInit") {
  CHECK(netgrow::to_string(WeightInit::zeros) == "zeros");
  CHECK(netgrow::to_string(WeightInit::glorot_uniform) == "glorot_uniform");
  CHECK(netgrow::to_string(WeightInit::glorot_normal) == "glorot_normal");
  CHECK(netgrow::to_string(WeightInit::he_uniform) == "he_uniform");
  CHECK(netgrow::to_string(WeightInit::he_normal) == "he_normal");
  CHECK(netgrow::to_string(WeightInit::lecun_normal) == "lecun_normal");
  CHECK(netgrow::to_string(WeightInit::torch_default) == "torch_default");
  CHECK(netgrow::to_string(static_cast<WeightInit>(99)) == "unknown");
  static_assert(netgrow::to_string(WeightInit::he_uniform) == "he_uniform");
}
