// Tests ops/elementwise.hpp on the Cpu back end: activation_forward/backward with a simple functor and with Tanh,
// in place as documented, on both sides of the parallel threshold, and shape errors.
#include <doctest/doctest.h>

#include "netgrow/ops/elementwise.hpp"

#include <cmath>
#include <vector>

#include "netgrow/layers/activation_functions.hpp"

using namespace netgrow;

namespace {

// f(x) = x^2 + 1, f'(x) = 2x; df also adds y - f(x) (zero when given the forward output) so a test
// notices a backward pass that passes the wrong tensor as y.
struct SquarePlusOne {
  template <class T>
  T f(T x) const {
    return x * x + T(1);
  }
  template <class T>
  T df(T x, T y) const {
    return T(2) * x + (y - f(x));
  }
};

Tensor<double> ramp(Shape shape) {
  Tensor<double> t(shape);
  for (Index i = 0; i < t.numel(); ++i) t[i] = 0.37 * static_cast<double>(i % 23) - 4.0;
  return t;
}

}  // namespace

TEST_CASE("activation_forward applies the functor to every element") {
  for (Shape shape : {Shape{1}, Shape{7}, Shape{3, 5}, Shape{2, 3, 3}, Shape{0, 4}}) {
    INFO("shape ", shape.str());
    Tensor<double> x = ramp(shape);
    Tensor<double> y(shape);
    ops::activation_forward<SquarePlusOne, double>(SquarePlusOne{}, x, y);
    for (Index i = 0; i < x.numel(); ++i) CHECK(y[i] == doctest::Approx(x[i] * x[i] + 1.0).epsilon(1e-15));
  }
}

TEST_CASE("activation_backward multiplies the incoming gradient by the derivative") {
  Tensor<double> x = ramp({3, 7});
  Tensor<double> y({3, 7});
  ops::activation_forward<SquarePlusOne, double>(SquarePlusOne{}, x, y);
  Tensor<double> dy({3, 7});
  for (Index i = 0; i < dy.numel(); ++i) dy[i] = 0.5 - 0.1 * static_cast<double>(i);
  Tensor<double> dx({3, 7});
  ops::activation_backward<SquarePlusOne, double>(SquarePlusOne{}, x, y, dy, dx);
  for (Index i = 0; i < dx.numel(); ++i) CHECK(dx[i] == doctest::Approx(dy[i] * 2.0 * x[i]).epsilon(1e-14));
}

TEST_CASE("activation_forward and backward with Tanh match tanh and 1 - tanh^2") {
  const Tanh act;
  for (Index n : {Index{1}, Index{13}, Index{129}}) {
    INFO("n ", n);
    Tensor<double> x = ramp({n});
    Tensor<double> y({n});
    ops::activation_forward<Tanh, double>(act, x, y);
    Tensor<double> dy({n});
    dy.fill(3.0);
    Tensor<double> dx({n});
    ops::activation_backward<Tanh, double>(act, x, y, dy, dx);
    for (Index i = 0; i < n; ++i) {
      CHECK(y[i] == doctest::Approx(std::tanh(x[i])).epsilon(1e-15));
      const double t = std::tanh(x[i]);
      CHECK(dx[i] == doctest::Approx(3.0 * (1.0 - t * t)).epsilon(1e-12));
    }
  }

  // In float, too.
  Tensor<float> xf = Tensor<float>::from({3}, {-1.0f, 0.0f, 2.0f});
  Tensor<float> yf({3});
  ops::activation_forward<Tanh, float>(act, xf, yf);
  CHECK(yf[0] == doctest::Approx(std::tanh(-1.0)).epsilon(1e-6));
  CHECK(yf[1] == 0.0f);
  CHECK(yf[2] == doctest::Approx(std::tanh(2.0)).epsilon(1e-6));
}

TEST_CASE("activation_forward may write over its input") {
  Tensor<double> x = ramp({5, 3});
  const std::vector<double> before = x.to_vector();
  ops::activation_forward<Tanh, double>(Tanh{}, x, x);
  for (Index i = 0; i < x.numel(); ++i) CHECK(x[i] == doctest::Approx(std::tanh(before[i])).epsilon(1e-15));
}

TEST_CASE("activation_backward may write dx over dy") {
  Tensor<double> x = ramp({11});
  Tensor<double> y({11});
  ops::activation_forward<Tanh, double>(Tanh{}, x, y);
  Tensor<double> g({11});
  for (Index i = 0; i < g.numel(); ++i) g[i] = 1.0 + static_cast<double>(i);
  const std::vector<double> dy = g.to_vector();
  ops::activation_backward<Tanh, double>(Tanh{}, x, y, g, g);
  for (Index i = 0; i < g.numel(); ++i) CHECK(g[i] == doctest::Approx(dy[i] * (1.0 - y[i] * y[i])).epsilon(1e-14));
}

TEST_CASE("element-wise maps above the parallel threshold give the same results") {
  const Index n = ops::parallel_threshold + 1001;
  Tensor<double> x = ramp({n});
  Tensor<double> y({n});
  ops::activation_forward<SquarePlusOne, double>(SquarePlusOne{}, x, y);
  Tensor<double> dy({n});
  dy.fill(0.5);
  Tensor<double> dx({n});
  ops::activation_backward<SquarePlusOne, double>(SquarePlusOne{}, x, y, dy, dx);
  Index wrong = 0;
  for (Index i = 0; i < n; ++i) {
    if (std::abs(y[i] - (x[i] * x[i] + 1.0)) > 1e-12) ++wrong;
    if (std::abs(dx[i] - x[i]) > 1e-12) ++wrong;
  }
  CHECK(wrong == 0);
}

TEST_CASE("element-wise maps reject tensors of different sizes") {
  Tensor<double> x({2, 3});
  Tensor<double> y5({5});
  CHECK_THROWS_WITH_AS((ops::activation_forward<Tanh, double>(Tanh{}, x, y5)), doctest::Contains("(2, 3) into (5)"),
                       ShapeError);

  Tensor<double> y({2, 3});
  Tensor<double> dy({2, 3});
  Tensor<double> dx({2, 3});
  Tensor<double> small({2, 2});
  CHECK_THROWS_WITH_AS((ops::activation_backward<Tanh, double>(Tanh{}, x, small, dy, dx)), doctest::Contains("(2, 2)"),
                       ShapeError);
  CHECK_THROWS_AS((ops::activation_backward<Tanh, double>(Tanh{}, x, y, small, dx)), ShapeError);
  CHECK_THROWS_AS((ops::activation_backward<Tanh, double>(Tanh{}, x, y, dy, small)), ShapeError);
  CHECK_THROWS_AS((ops::activation_backward<Tanh, double>(Tanh{}, small, y, dy, dx)), ShapeError);
}
