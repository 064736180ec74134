// Tests the README's pruning snippet as written: a float CNN pruned by NTK-SAP in rounds, trained with
// RigL under a fixed parameter count, and its NTK spectrum read from a Tensor batch.
#include <doctest/doctest.h>

#include "netgrow/prune.hpp"
#include "support/growth.hpp"

using namespace netgrow;

TEST_CASE("the README's pruning snippet: NTK-SAP at 5 %, RigL steps, density report and NTK spectrum") {
  Rng rng(1);
  Sequential<float, Cpu, Conv2d, Relu1, Flatten, Dense> net(rng, Conv2d{.in = 1, .out = 4, .kernel = 3}, Relu1{},
                                                            Flatten{}, Dense{.in = 4 * 8 * 8, .out = 3});
  Tensor<float> x(Shape{8, 1, 8, 8});
  fill_normal(x.view(), 0.0, 1.0, rng);
  Tensor<std::int32_t> y(Shape{8});
  for (Index i = 0; i < 8; ++i) y.data()[i] = static_cast<std::int32_t>(i % 3);
  const std::int64_t steps = 40;
  prune::prune_at_init(net, prune::NtkSap{}, {.inputs = x, .labels = y, .rng = &rng}, {.density = 0.05, .iterations = 20});
  const Index active = prune::active_parameter_count(net);
  prune::DynamicSparse rigl({.regrow = prune::Regrow::gradient, .every = 10, .end_step = steps * 3 / 4});
  Sgd sgd(0.05, {.momentum = 0.9});
  Tensor<float> grad;
  for (std::int64_t step = 0; step < steps; ++step) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    rigl.update(net, step);
    sgd.step(net);
  }
  CHECK(rigl.log().size() == 2);  // steps 10 and 20
  CHECK(prune::active_parameter_count(net) == active);
  CHECK(prune::density_report(net).density() == doctest::Approx(0.05).epsilon(0.05));
  const auto s = prune::ntk_spectrum(net, x);
  CHECK(s.trace > 0);
  CHECK(s.eigenvalues.size() == 8);
}
