// Tests data/teacher_student.hpp: shapes, targets = teacher(x), weight range, draw order, determinism, errors.
#include <doctest/doctest.h>

#include "netgrow/data/teacher_student.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using netgrow::Index;
using netgrow::Rng;
using netgrow::Shape;
using netgrow::Tensor;
using netgrow::TeacherStudentConfig;

namespace {

// y = relu1(x W1^T) W2^T, in double, straight from the definition.
template <class S>
std::vector<double> reference_targets(const Tensor<S>& x, const Tensor<S>& w1, const Tensor<S>& w2) {
  const Index n = x.dim(0), in = x.dim(1), hidden = w1.dim(0), out = w2.dim(0);
  std::vector<double> y(static_cast<std::size_t>(n * out));
  std::vector<double> h(static_cast<std::size_t>(hidden));
  for (Index r = 0; r < n; ++r) {
    for (Index j = 0; j < hidden; ++j) {
      double s = 0;
      for (Index i = 0; i < in; ++i) s += double(w1.at(j, i)) * double(x.at(r, i));
      h[static_cast<std::size_t>(j)] = s > 0 ? s : 0;
    }
    for (Index o = 0; o < out; ++o) {
      double s = 0;
      for (Index j = 0; j < hidden; ++j) s += double(w2.at(o, j)) * h[static_cast<std::size_t>(j)];
      y[static_cast<std::size_t>(r * out + o)] = s;
    }
  }
  return y;
}

template <class S>
bool bitwise_equal(const Tensor<S>& a, const Tensor<S>& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel()) * sizeof(S)) == 0;
}

}  // namespace

TEST_CASE("the task has x of shape (N, in) and y of shape (N, out)") {
  Rng rng(1);
  const TeacherStudentConfig c{.in = 7, .hidden = 5, .out = 3, .samples = 40, .weight_range = 1.0};
  auto task = netgrow::make_teacher_student<float>(c, rng);
  CHECK(task.x.shape() == Shape{40, 7});
  CHECK(task.y.shape() == Shape{40, 3});
  CHECK(task.teacher.layer<0>().in_features() == 7);
  CHECK(task.teacher.layer<0>().out_features() == 5);
  CHECK(task.teacher.layer<2>().in_features() == 5);
  CHECK(task.teacher.layer<2>().out_features() == 3);
}

TEST_CASE("the default configuration is the paper's 20:10:10 teacher with 1000 samples") {
  const TeacherStudentConfig c;
  CHECK(c.in == 20);
  CHECK(c.hidden == 10);
  CHECK(c.out == 10);
  CHECK(c.samples == 1000);
  CHECK(c.weight_range == 1.0);
  Rng rng(2);
  auto task = netgrow::make_teacher_student<float>(c, rng);
  CHECK(task.x.shape() == Shape{1000, 20});
  CHECK(task.y.shape() == Shape{1000, 10});
}

TEST_CASE("the targets are the teacher's output for the inputs") {
  Rng rng(3);
  const TeacherStudentConfig c{.in = 6, .hidden = 4, .out = 3, .samples = 50, .weight_range = 0.7};
  auto task = netgrow::make_teacher_student<double>(c, rng);
  const auto expected =
      reference_targets(task.x, task.teacher.layer<0>().weight().value, task.teacher.layer<2>().weight().value);
  REQUIRE(static_cast<Index>(expected.size()) == task.y.numel());
  for (Index i = 0; i < task.y.numel(); ++i) CHECK(task.y[i] == doctest::Approx(expected[std::size_t(i)]));

  // And running the returned teacher again reproduces them.
  const auto again = task.teacher.forward(task.x.cview(), netgrow::Mode::eval);
  REQUIRE(again.shape() == task.y.shape());
  for (Index i = 0; i < task.y.numel(); ++i) CHECK(again[i] == task.y[i]);
}

TEST_CASE("the float task's targets match a double computation of the teacher") {
  Rng rng(4);
  const TeacherStudentConfig c{.in = 20, .hidden = 10, .out = 10, .samples = 64, .weight_range = 1.0};
  auto task = netgrow::make_teacher_student<float>(c, rng);
  const auto expected =
      reference_targets(task.x, task.teacher.layer<0>().weight().value, task.teacher.layer<2>().weight().value);
  int relu_active = 0;
  for (Index i = 0; i < task.y.numel(); ++i) {
    CHECK(double(task.y[i]) == doctest::Approx(expected[std::size_t(i)]).epsilon(1e-4).scale(1.0));
    relu_active += expected[std::size_t(i)] != 0.0;
  }
  CHECK(relu_active > 0);  // the task is not trivially zero
}

TEST_CASE("the teacher's weights lie in [-range, range] and its layers have no bias") {
  Rng rng(5);
  const double range = 0.3;
  const TeacherStudentConfig c{.in = 40, .hidden = 30, .out = 20, .samples = 10, .weight_range = range};
  auto task = netgrow::make_teacher_student<float>(c, rng);
  CHECK_FALSE(task.teacher.layer<0>().has_bias());
  CHECK_FALSE(task.teacher.layer<2>().has_bias());
  CHECK(task.teacher.parameter_count() == 40 * 30 + 30 * 20);

  for (const Tensor<float>* w : {&task.teacher.layer<0>().weight().value, &task.teacher.layer<2>().weight().value}) {
    const auto values = w->span();
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    CHECK(double(*lo) >= -range * (1 + 1e-6));
    CHECK(double(*hi) <= range * (1 + 1e-6));
    CHECK(double(*lo) < -0.9 * range);  // the whole range is used, not a narrower init
    CHECK(double(*hi) > 0.9 * range);
  }
}

TEST_CASE("the same seed gives bitwise-identical tasks and different seeds differ") {
  const TeacherStudentConfig c{.in = 8, .hidden = 6, .out = 4, .samples = 100, .weight_range = 1.0};
  Rng r1(7), r2(7), r3(8);
  auto a = netgrow::make_teacher_student<float>(c, r1);
  auto b = netgrow::make_teacher_student<float>(c, r2);
  auto d = netgrow::make_teacher_student<float>(c, r3);
  CHECK(bitwise_equal(a.x, b.x));
  CHECK(bitwise_equal(a.y, b.y));
  CHECK(bitwise_equal(a.teacher.layer<0>().weight().value, b.teacher.layer<0>().weight().value));
  CHECK(bitwise_equal(a.teacher.layer<2>().weight().value, b.teacher.layer<2>().weight().value));
  CHECK(r1 == r2);
  CHECK_FALSE(bitwise_equal(a.x, d.x));
  CHECK_FALSE(bitwise_equal(a.y, d.y));
}

TEST_CASE("the generator draws layer 1 weights, then layer 2 weights, then the inputs") {
  const TeacherStudentConfig c{.in = 5, .hidden = 4, .out = 3, .samples = 9, .weight_range = 0.5};
  Rng rng(9);
  auto task = netgrow::make_teacher_student<double>(c, rng);

  Rng replay(9);
  Tensor<double> w1(Shape{4, 5}), w2(Shape{3, 4}), x(Shape{9, 5});
  netgrow::fill_uniform(w1.view(), -0.5, 0.5, replay);
  netgrow::fill_uniform(w2.view(), -0.5, 0.5, replay);
  netgrow::fill_normal(x.view(), 0.0, 1.0, replay);
  CHECK(bitwise_equal(task.teacher.layer<0>().weight().value, w1));
  CHECK(bitwise_equal(task.teacher.layer<2>().weight().value, w2));
  CHECK(bitwise_equal(task.x, x));
  CHECK(rng == replay);  // and nothing else was drawn from the caller's generator
}

TEST_CASE("the inputs are roughly standard normal") {
  Rng rng(10);
  const TeacherStudentConfig c{.in = 20, .hidden = 2, .out = 1, .samples = 2000, .weight_range = 1.0};
  auto task = netgrow::make_teacher_student<float>(c, rng);
  double sum = 0, sum2 = 0;
  for (float v : task.x.span()) {
    sum += v;
    sum2 += double(v) * v;
  }
  const double n = double(task.x.numel());
  const double mean = sum / n, var = sum2 / n - mean * mean;
  CHECK(std::abs(mean) < 0.03);  // standard error 1/sqrt(40000) = 0.005
  CHECK(var == doctest::Approx(1.0).epsilon(0.05));
}

TEST_CASE("non-positive sizes or weight range throw ArgumentError") {
  Rng rng(11);
  auto make = [&](TeacherStudentConfig c) { return netgrow::make_teacher_student<float>(c, rng); };
  TeacherStudentConfig c{.in = 3, .hidden = 3, .out = 3, .samples = 5, .weight_range = 1.0};
  CHECK_NOTHROW(make(c));

  auto bad = c;
  bad.in = 0;
  CHECK_THROWS_WITH_AS(make(bad), doctest::Contains("0:3:3"), netgrow::ArgumentError);
  bad = c;
  bad.hidden = -2;
  CHECK_THROWS_AS(make(bad), netgrow::ArgumentError);
  bad = c;
  bad.out = 0;
  CHECK_THROWS_AS(make(bad), netgrow::ArgumentError);
  bad = c;
  bad.samples = 0;
  CHECK_THROWS_WITH_AS(make(bad), doctest::Contains("N = 0"), netgrow::ArgumentError);
  bad = c;
  bad.weight_range = 0.0;
  CHECK_THROWS_WITH_AS(make(bad), doctest::Contains("weight_range"), netgrow::ArgumentError);
  bad = c;
  bad.weight_range = -1.0;
  CHECK_THROWS_AS(make(bad), netgrow::ArgumentError);
  bad = c;
  bad.weight_range = std::nan("");
  CHECK_THROWS_AS(make(bad), netgrow::ArgumentError);
}
