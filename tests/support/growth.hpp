// tests/support/growth.hpp: a small teacher-student setting for growth tests: a student network, its
// data, and helpers to run the grow batch and compare outputs before and after growth.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "netgrow/data/teacher_student.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/layers.hpp"
#include "netgrow/network.hpp"
#include "netgrow/optim/sgd.hpp"
#include "support/gradcheck.hpp"

namespace netgrow::test {

inline double max_abs_diff(ConstView<double, Cpu> a, ConstView<double, Cpu> b) {
  REQUIRE(a.shape() == b.shape());
  double d = 0;
  for (Index i = 0; i < a.numel(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// The one-hidden-layer student Dense -> Act -> Dense in double.
template <class Act>
using DenseActDense = Sequential<double, Cpu, Dense, Act, Dense>;

// A student `Net` learning a 20:10:10 teacher on 200 samples with MSE, in double.
template <class Net>
struct GrowthFixture {
  Rng rng;
  TeacherStudentTask<double> task;
  Net net;
  Tensor<double> grad;
  Index refreshes = 0;

  template <class... Kinds>
  explicit GrowthFixture(std::uint64_t seed, const Kinds&... kinds)
      : rng(seed),
        task(make_teacher_student<double>({.in = 20, .hidden = 10, .out = 10, .samples = 200}, rng)),
        net(rng, kinds...) {}

  // Forward, loss and backward on the whole data set; returns the loss.
  double refresh() {
    ++refreshes;
    const auto pred = net.forward(task.x);
    grad.resize(pred.shape());
    const double loss = MseLoss{}(pred, task.y, grad);
    net.backward(grad);
    return loss;
  }
  std::function<void()> refresher() {
    return [this] { refresh(); };
  }
  Tensor<double> output() {
    Tensor<double> out;
    out.copy_from(net.forward(task.x, Mode::eval));
    return out;
  }
  // A few SGD steps with momentum so that weights and optimizer state are not at their start.
  void train(int steps, double lr = 0.05) {
    Sgd sgd(lr, {.momentum = 0.9});
    for (int i = 0; i < steps; ++i) {
      refresh();
      sgd.step(net);
    }
  }
};

// Frobenius norm of rows [begin, begin + count) of a matrix.
inline double rows_norm(ConstView<double, Cpu> m, Index begin, Index count) {
  double s = 0;
  for (Index r = begin; r < begin + count; ++r)
    for (Index c = 0; c < m.dim(1); ++c) s += m.at(r, c) * m.at(r, c);
  return std::sqrt(s);
}
// Frobenius norm of columns [begin, begin + count) of a matrix.
inline double cols_norm(ConstView<double, Cpu> m, Index begin, Index count) {
  double s = 0;
  for (Index r = 0; r < m.dim(0); ++r)
    for (Index c = begin; c < begin + count; ++c) s += m.at(r, c) * m.at(r, c);
  return std::sqrt(s);
}

}  // namespace netgrow::test
