// Tests optim/lr_schedule.hpp: ConstantLr, CosineLr, StepLr, WarmupLr against their formulas, and
// LrSchedule's conversions and its rejection of negative and non-finite rates.
#include <doctest/doctest.h>

#include "netgrow/optim/lr_schedule.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

using namespace netgrow;

TEST_CASE("ConstantLr gives the same rate at every step") {
  const ConstantLr lr{0.25};
  CHECK(lr(0) == 0.25);
  CHECK(lr(1) == 0.25);
  CHECK(lr(1'000'000) == 0.25);
  CHECK(ConstantLr{}(7) == 0.01);
}

TEST_CASE("CosineLr goes from base to final along half a cosine and then stays at final") {
  const CosineLr lr{.base = 0.1, .total_steps = 100, .final = 0.01};
  CHECK(lr(0) == doctest::Approx(0.1).epsilon(1e-15));
  // Middle: cos(pi / 2) = 0, so halfway between base and final.
  CHECK(lr(50) == doctest::Approx(0.055).epsilon(1e-14));
  // A quarter: final + (base - final) (1 + cos(pi / 4)) / 2.
  CHECK(lr(25) == doctest::Approx(0.01 + 0.09 * 0.5 * (1 + std::numbers::sqrt2 / 2)).epsilon(1e-14));
  CHECK(lr(99) == doctest::Approx(0.01 + 0.09 * 0.5 * (1 + std::cos(std::numbers::pi * 0.99))).epsilon(1e-14));
  CHECK(lr(99) > 0.01);
  CHECK(lr(100) == 0.01);
  CHECK(lr(101) == 0.01);
  CHECK(lr(1'000'000) == 0.01);
  // Negative steps are clamped to the start.
  CHECK(lr(-5) == doctest::Approx(0.1).epsilon(1e-15));

  // Non-increasing over the whole run.
  double previous = lr(0);
  bool decreasing = true;
  for (std::int64_t t = 1; t <= 120; ++t) {
    if (lr(t) > previous) decreasing = false;
    previous = lr(t);
  }
  CHECK(decreasing);
}

TEST_CASE("CosineLr ends at zero by default") {
  const CosineLr lr{.base = 2.0, .total_steps = 4};
  CHECK(lr(0) == doctest::Approx(2.0));
  CHECK(lr(2) == doctest::Approx(1.0));
  CHECK(lr(4) == 0.0);
  CHECK(lr(10) == 0.0);
}

TEST_CASE("StepLr multiplies by gamma at each milestone reached") {
  const StepLr lr{.base = 0.1, .milestones = {30, 60}, .gamma = 0.1};
  CHECK(lr(0) == 0.1);
  CHECK(lr(29) == 0.1);
  CHECK(lr(30) == doctest::Approx(0.01).epsilon(1e-15));
  CHECK(lr(59) == doctest::Approx(0.01).epsilon(1e-15));
  CHECK(lr(60) == doctest::Approx(0.001).epsilon(1e-15));
  CHECK(lr(10'000) == doctest::Approx(0.001).epsilon(1e-15));

  // The order of the milestones does not matter, and no milestones means a constant rate.
  const StepLr unsorted{.base = 1.0, .milestones = {5, 2}, .gamma = 0.5};
  CHECK(unsorted(1) == 1.0);
  CHECK(unsorted(2) == 0.5);
  CHECK(unsorted(5) == 0.25);
  CHECK(StepLr{.base = 0.3, .milestones = {}}(1000) == 0.3);
}

TEST_CASE("WarmupLr ramps linearly and then hands off to the wrapped schedule") {
  const WarmupLr lr{.warmup_steps = 10, .after = ConstantLr{0.5}};
  CHECK(lr(0) == 0.0);
  CHECK(lr(5) == doctest::Approx(0.25).epsilon(1e-15));
  CHECK(lr(9) == doctest::Approx(0.45).epsilon(1e-15));
  CHECK(lr(10) == 0.5);
  CHECK(lr(500) == 0.5);

  SUBCASE("a start factor lifts the first step") {
    const WarmupLr from_fifth{.warmup_steps = 10, .after = ConstantLr{0.5}, .start_factor = 0.2};
    CHECK(from_fifth(0) == doctest::Approx(0.1).epsilon(1e-15));
    CHECK(from_fifth(5) == doctest::Approx(0.5 * (0.2 + 0.8 * 0.5)).epsilon(1e-15));
    CHECK(from_fifth(10) == 0.5);
  }
  SUBCASE("the wrapped schedule sees the absolute step") {
    const CosineLr cosine{.base = 1.0, .total_steps = 20};
    const WarmupLr warm{.warmup_steps = 5, .after = cosine};
    CHECK(warm(2) == doctest::Approx(cosine(2) * 0.4).epsilon(1e-15));
    CHECK(warm(5) == cosine(5));
    CHECK(warm(12) == cosine(12));
    CHECK(warm(25) == 0.0);
  }
  SUBCASE("no warm-up steps means the wrapped schedule from the start") {
    const WarmupLr none{.warmup_steps = 0, .after = StepLr{.base = 1.0, .milestones = {3}, .gamma = 0.5}};
    CHECK(none(0) == 1.0);
    CHECK(none(3) == 0.5);
  }
  SUBCASE("the default wraps ConstantLr's default") {
    const WarmupLr defaults{.warmup_steps = 4};
    CHECK(defaults(2) == doctest::Approx(0.005));
    CHECK(defaults(4) == 0.01);
  }
}

TEST_CASE("LrSchedule converts from a number, a schedule and a lambda") {
  const LrSchedule constant = 0.05;
  CHECK(constant(0) == 0.05);
  CHECK(constant(12345) == 0.05);

  const LrSchedule zero = 0.0;
  CHECK(zero(3) == 0.0);

  const LrSchedule step = StepLr{.base = 1.0, .milestones = {2}, .gamma = 0.25};
  CHECK(step(1) == 1.0);
  CHECK(step(2) == 0.25);

  const LrSchedule inverse = [](std::int64_t t) { return 1.0 / static_cast<double>(t + 1); };
  CHECK(inverse(0) == 1.0);
  CHECK(inverse(3) == 0.25);

  // Copies behave the same.
  const LrSchedule copy = inverse;
  CHECK(copy(1) == 0.5);
}

TEST_CASE("LrSchedule rejects negative and non-finite rates") {
  CHECK_THROWS_WITH_AS(LrSchedule(-0.1), doctest::Contains("invalid learning rate -0.1"), ArgumentError);
  CHECK_THROWS_AS(LrSchedule{std::numeric_limits<double>::quiet_NaN()}, ArgumentError);
  CHECK_THROWS_AS(LrSchedule{std::numeric_limits<double>::infinity()}, ArgumentError);

  // A callable is checked at each step it is asked about, and the message names the step.
  const LrSchedule goes_negative = [](std::int64_t t) { return 0.3 - 0.1 * static_cast<double>(t); };
  CHECK(goes_negative(0) == doctest::Approx(0.3));
  CHECK_THROWS_WITH_AS(goes_negative(4), doctest::Contains("at step 4"), ArgumentError);

  const LrSchedule nan_later = [](std::int64_t t) {
    return t < 2 ? 0.1 : std::numeric_limits<double>::quiet_NaN();
  };
  CHECK(nan_later(1) == 0.1);
  CHECK_THROWS_WITH_AS(nan_later(2), doctest::Contains("at step 2"), ArgumentError);

  const LrSchedule negative_gamma = StepLr{.base = 0.1, .milestones = {3}, .gamma = -1.0};
  CHECK(negative_gamma(2) == 0.1);
  CHECK_THROWS_AS(negative_gamma(3), ArgumentError);
}

TEST_CASE("TwoStageLinearLr: warm-up, a fast drop to the second rate, then a slow linear decay (LEMON's BERT recipe)") {
  const TwoStageLinearLr lr{
      .peak = 1.0, .warmup_steps = 10, .fast_decay_steps = 10, .second = 0.5, .total_steps = 120, .final = 0.0};
  CHECK(lr(0) == 0.0);
  CHECK(lr(5) == doctest::Approx(0.5));
  CHECK(lr(10) == doctest::Approx(1.0));
  CHECK(lr(15) == doctest::Approx(0.75));
  CHECK(lr(20) == doctest::Approx(0.5));
  CHECK(lr(70) == doctest::Approx(0.25));
  CHECK(lr(120) == 0.0);
  CHECK(lr(500) == 0.0);
  const LrSchedule s = lr;
  CHECK(s(15) == doctest::Approx(0.75));
  CHECK_THROWS_AS((TwoStageLinearLr{.fast_decay_steps = 0, .total_steps = 10}(0)), ArgumentError);
  CHECK_THROWS_AS((TwoStageLinearLr{.warmup_steps = 5, .fast_decay_steps = 5, .total_steps = 10}(0)), ArgumentError);
}
