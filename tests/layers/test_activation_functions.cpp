// Tests layers/activation_functions.hpp: values, derivatives (central differences) and traits of every
// activation, and the subgradient conventions at 0 that GradMax depends on.
#include <doctest/doctest.h>

#include <cmath>
#include <tuple>

#include "netgrow/layers/activation_functions.hpp"

using namespace netgrow;

namespace {

// Central-difference derivative of act at x, away from kinks.
template <class A>
double numeric_slope(const A& act, double x) {
  const double h = 1e-6;
  return (act.f(x + h) - act.f(x - h)) / (2 * h);
}

template <class A>
void check_derivative(const A& act) {
  for (double x : {-3.1, -1.7, -0.4, -0.05, 0.07, 0.3, 1.1, 2.9}) {
    INFO(A::name, " at x = ", x);
    CHECK(act.df(x, act.f(x)) == doctest::Approx(numeric_slope(act, x)).epsilon(1e-7));
  }
}

template <class A>
void check_traits_hold(const A& act) {
  INFO(A::name);
  if (A::zero_at_zero) CHECK(act.f(0.0) == 0.0);
  CHECK(act.df(0.0, act.f(0.0)) == doctest::Approx(act.slope_at_zero()));
  CHECK(A::nonzero_slope_at_zero == (act.slope_at_zero() != 0.0));
}

}  // namespace

TEST_CASE_TEMPLATE("activation derivatives match central differences and the traits hold", A, Relu1, Relu,
                   LeakyRelu, Tanh, Identity, Gelu, CenteredLogistic) {
  check_derivative(A{});
  check_traits_hold(A{});
  static_assert(Activation<A>);
}

TEST_CASE("Relu1 has slope 1 at 0 while the standard Relu has slope 0") {
  CHECK(Relu1{}.df(0.0, 0.0) == 1.0);
  CHECK(Relu{}.df(0.0, 0.0) == 0.0);
  CHECK(Relu1{}.df(0.0f, 0.0f) == 1.0f);
  CHECK(Relu{}.df(-1e-30, 0.0) == 0.0);
  static_assert(activation_traits<Relu1>::nonzero_slope_at_zero);
  static_assert(!activation_traits<Relu>::nonzero_slope_at_zero);
}

TEST_CASE("LeakyRelu uses its slope left of 0 and at 0") {
  const LeakyRelu act{.slope = 0.2};
  CHECK(act.f(-2.0) == doctest::Approx(-0.4));
  CHECK(act.f(3.0) == 3.0);
  CHECK(act.df(0.0, 0.0) == doctest::Approx(0.2));
  CHECK(act.slope_at_zero() == doctest::Approx(0.2));
}

TEST_CASE("the centred logistic is the logistic shifted by -1/2 and stable on both tails") {
  const CenteredLogistic act;
  CHECK(act.f(0.0) == 0.0);
  CHECK(act.f(2.0) == doctest::Approx(1.0 / (1.0 + std::exp(-2.0)) - 0.5));
  CHECK(act.f(-800.0) == doctest::Approx(-0.5));
  CHECK(act.f(800.0) == doctest::Approx(0.5));
  CHECK(std::isfinite(act.f(-800.0f)));
  CHECK(act.slope_at_zero() == 0.25);
}

TEST_CASE("Gelu is x * Phi(x) with slope 1/2 at 0") {
  const Gelu act;
  CHECK(act.f(1.0) == doctest::Approx(0.8413447460685429));
  CHECK(act.f(-1.0) == doctest::Approx(-0.15865525393145707));
  CHECK(act.df(0.0, 0.0) == doctest::Approx(0.5));
}
