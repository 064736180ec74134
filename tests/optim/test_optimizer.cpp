// Tests optim/optimizer.hpp: OptimizerClock's step counter and schedule, and the rules for
// per-parameter optimizer state (create, keep, reset on another owner, refuse mismatched shapes).
#include <doctest/doctest.h>

#include "netgrow/optim/optimizer.hpp"

#include <cstdint>

using namespace netgrow;

namespace {

// OptimizerClock with its protected advance() reachable.
class TestClock : public OptimizerClock {
 public:
  using OptimizerClock::OptimizerClock;
  void tick() { advance(); }
};

bool all_zero(const Tensor<double>& t) {
  for (Index i = 0; i < t.numel(); ++i)
    if (t[i] != 0.0) return false;
  return true;
}

}  // namespace

TEST_CASE("OptimizerClock counts steps and asks the schedule at the current step") {
  TestClock clock(StepLr{.base = 1.0, .milestones = {2, 4}, .gamma = 0.5});
  CHECK(clock.steps() == 0);
  CHECK(clock.learning_rate() == 1.0);
  clock.tick();
  CHECK(clock.steps() == 1);
  CHECK(clock.learning_rate() == 1.0);
  clock.tick();
  CHECK(clock.steps() == 2);
  CHECK(clock.learning_rate() == 0.5);

  SUBCASE("set_steps moves the schedule position") {
    clock.set_steps(10);
    CHECK(clock.steps() == 10);
    CHECK(clock.learning_rate() == 0.25);
    clock.set_steps(0);
    CHECK(clock.learning_rate() == 1.0);
    clock.tick();
    CHECK(clock.steps() == 1);
  }
  SUBCASE("a negative step count is rejected and leaves the clock alone") {
    CHECK_THROWS_WITH_AS(clock.set_steps(-1), doctest::Contains("negative step count -1"), ArgumentError);
    CHECK(clock.steps() == 2);
  }
  SUBCASE("set_schedule swaps the schedule but keeps the position") {
    clock.set_schedule([](std::int64_t t) { return 0.1 * static_cast<double>(t); });
    CHECK(clock.steps() == 2);
    CHECK(clock.learning_rate() == doctest::Approx(0.2));
  }
}

TEST_CASE("OptimizerClock takes a plain number as a constant schedule") {
  TestClock clock(0.03);
  for (int i = 0; i < 3; ++i) clock.tick();
  CHECK(clock.steps() == 3);
  CHECK(clock.learning_rate() == 0.03);
}

TEST_CASE("OptimizerClock reports a schedule that turns invalid") {
  TestClock clock([](std::int64_t t) { return t < 1 ? 0.1 : -0.1; });
  CHECK(clock.learning_rate() == 0.1);
  clock.tick();
  CHECK_THROWS_WITH_AS(clock.learning_rate(), doctest::Contains("at step 1"), ArgumentError);
}

TEST_CASE("prepare_state creates zero state of the parameter's shape") {
  Parameter<double, Cpu> p(Shape{2, 3});
  CHECK(p.state.empty());
  CHECK(p.state_owner.empty());
  detail::prepare_state(p, "adam", 2, "0.weight");
  CHECK(p.state_owner == "adam");
  REQUIRE(p.state.size() == 2);
  for (const auto& s : p.state) {
    CHECK(s.shape() == Shape{2, 3});
    CHECK(all_zero(s));
  }

  Parameter<double, Cpu> q(Shape{4});
  detail::prepare_state(q, "plain", 0, "q");
  CHECK(q.state.empty());
  CHECK(q.state_owner == "plain");
}

TEST_CASE("prepare_state keeps the state of the same owner") {
  Parameter<double, Cpu> p(Shape{3});
  detail::prepare_state(p, "sgd", 1, "w");
  p.state[0][1] = 5.0;
  const double* data = p.state[0].data();
  detail::prepare_state(p, "sgd", 1, "w");
  REQUIRE(p.state.size() == 1);
  CHECK(p.state[0][1] == 5.0);
  CHECK(p.state[0].data() == data);
}

TEST_CASE("prepare_state resets state created by another owner or with another count") {
  Parameter<double, Cpu> p(Shape{2, 2});
  detail::prepare_state(p, "adam", 2, "w");
  p.state[0].fill(1.0);
  p.state[1].fill(2.0);

  detail::prepare_state(p, "sgd", 1, "w");
  CHECK(p.state_owner == "sgd");
  REQUIRE(p.state.size() == 1);
  CHECK(p.state[0].shape() == Shape{2, 2});
  CHECK(all_zero(p.state[0]));

  p.state[0].fill(3.0);
  detail::prepare_state(p, "sgd", 0, "w");
  CHECK(p.state.empty());
  CHECK(p.state_owner == "sgd");

  detail::prepare_state(p, "sgd", 1, "w");
  REQUIRE(p.state.size() == 1);
  CHECK(all_zero(p.state[0]));
}

TEST_CASE("prepare_state refuses state whose shape no longer matches the parameter") {
  Parameter<double, Cpu> p(Shape{2, 3});
  detail::prepare_state(p, "adam", 2, "0.weight");
  p.value = Tensor<double>({3, 3});  // resized behind netgrow's back
  CHECK_THROWS_WITH_AS(detail::prepare_state(p, "adam", 2, "0.weight"),
                       doctest::Contains("parameter 0.weight has shape (2, 3) but the parameter has shape (3, 3)"),
                       StateError);
  // The state is left as it was for the user to inspect.
  CHECK(p.state_owner == "adam");
  CHECK(p.state.size() == 2);
  CHECK(p.state[0].shape() == Shape{2, 3});

  // Another owner starts afresh with the new shape instead.
  detail::prepare_state(p, "sgd", 1, "0.weight");
  CHECK(p.state[0].shape() == Shape{3, 3});
}

TEST_CASE("check_gradient_shape refuses a gradient of another shape") {
  Parameter<double, Cpu> p(Shape{2, 3});
  CHECK_NOTHROW(detail::check_gradient_shape(p, "w"));
  p.grad = Tensor<double>({3, 2});
  CHECK_THROWS_WITH_AS(detail::check_gradient_shape(p, "w"),
                       doctest::Contains("parameter w: gradient of shape (3, 2) for a value of shape (2, 3)"),
                       StateError);
}
