// End-to-end training checks: the pieces together drive real losses down by a stated factor.
#include <doctest/doctest.h>

#include "netgrow/netgrow.hpp"

using namespace netgrow;

namespace {

// Full-batch training of a student on the teacher's data; returns (first loss, last loss).
template <class Optimizer>
std::pair<double, double> fit_teacher(Optimizer& opt, int steps, std::uint64_t seed) {
  Rng rng(seed);
  auto task = make_teacher_student<float>({.in = 20, .hidden = 10, .out = 10, .samples = 1000}, rng);
  auto student = make_sequential<float, Cpu>(rng, Dense{.in = 20, .out = 10, .bias = false}, Relu1{},
                                             Dense{.in = 10, .out = 10, .bias = false});
  Tensor<float> grad;
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    auto pred = student.forward(task.x);
    grad.resize(pred.shape());
    last = MseLoss{}(pred, task.y, grad);
    if (step == 0) first = last;
    student.backward(grad);
    opt.step(student);
  }
  return {first, last};
}

}  // namespace

TEST_CASE("full-batch gradient descent cuts the teacher-student loss at least tenfold in 500 steps") {
  // The GradMax paper's setting: teacher 20:10:10, student of the same size, lr 0.1, MSE.
  Sgd sgd(0.1);
  const auto losses = fit_teacher(sgd, 500, 11);
  const auto [first, last] = losses;
  INFO("loss ", losses.first, " -> ", losses.second);
  CHECK(last < first / 10);
}

TEST_CASE("Adam with a cosine schedule also fits the teacher") {
  Adam adam(CosineLr{.base = 0.01, .total_steps = 400});
  const auto losses = fit_teacher(adam, 400, 12);
  const auto [first, last] = losses;
  INFO("loss ", losses.first, " -> ", losses.second);
  CHECK(last < first / 10);
}

TEST_CASE("training is bitwise reproducible from the seed") {
  Sgd a(0.1, {.momentum = 0.9}), b(0.1, {.momentum = 0.9});
  CHECK(fit_teacher(a, 50, 3) == fit_teacher(b, 50, 3));
}

TEST_CASE("mini-batch SGD with momentum learns a linearly separable classification task") {
  // Two Gaussian blobs per class in 5-D; cross-entropy with mini-batches of 32.
  Rng rng(21);
  const Index n = 600, classes = 3, features = 5;
  Tensor<float> x({n, features});
  Tensor<std::int32_t> y({n});
  for (Index i = 0; i < n; ++i) {
    const auto c = static_cast<std::int32_t>(i % classes);
    y[i] = c;
    for (Index j = 0; j < features; ++j) x.at(i, j) = static_cast<float>(rng.normal() * 0.5 + (j == c ? 2.0 : 0.0));
  }
  auto net = make_sequential<float, Cpu>(rng, Dense{.in = features, .out = 16}, Relu{}, Dense{.in = 16, .out = classes});
  Sgd sgd(0.05, {.momentum = 0.9, .weight_decay = 1e-4});
  BatchSampler sampler(n, 32, Rng(5));
  Tensor<float> xb, grad;
  Tensor<std::int32_t> yb;
  for (int step = 0; step < 300; ++step) {
    const auto idx = sampler.next();
    gather_rows(x, idx, xb);
    gather_rows(y, idx, yb);
    auto logits = net.forward(xb);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, yb, grad);
    net.backward(grad);
    sgd.step(net);
  }
  const auto r = SoftmaxCrossEntropy{}.value(net.forward(x, Mode::eval), y);
  INFO("final loss ", r.loss, ", accuracy ", r.accuracy());
  CHECK(r.accuracy() > 0.95);
}
