// Tests prune/ntk_sap.hpp against a neural tangent kernel computed by brute force: the Jacobian of a
// tiny network's outputs by one backward pass per output, its squared Frobenius norm tr(NTK), and the
// derivative of that trace with respect to a connection's mask by central differences.
#include <doctest/doctest.h>

#include "netgrow/prune.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using TinyNet = Sequential<double, Cpu, Dense, Gelu, Dense>;

// tr(J J^T) over the weights `select` picks: one backward pass per output element. With `scaled` =
// (parameter name, entry j, s), entry j's Jacobian column is multiplied by s: the NTK with respect to
// theta of the network whose weight is theta * m, at m_j = s (what NTK-SAP differentiates).
struct ScaledEntry {
  std::string name;
  Index entry = -1;
  double scale = 1;
};
double brute_force_ntk_trace(TinyNet& net, const Tensor<double>& x, const ScaledEntry& scaled = {}) {
  const auto y = net.forward(x.cview(), Mode::train);
  const Shape shape = y.shape();
  Tensor<double> seed(shape);
  double trace = 0;
  for (Index o = 0; o < shape.numel(); ++o) {
    seed.fill_zero();
    seed.data()[o] = 1;
    net.forward(x.cview(), Mode::train);
    net.backward(seed.cview());
    net.visit_parameters([&](const std::string& name, Parameter<double, Cpu>& p) {
      if (!prune::weight_matrices(name, p.shape())) return;
      trace += ops::squared_norm<double>(p.grad);
      if (name == scaled.name) {
        const double g = p.grad.data()[scaled.entry];
        trace += (scaled.scale * scaled.scale - 1) * g * g;
      }
    });
  }
  return trace;
}

struct TinyCase {
  Rng rng{11};
  TinyNet net{rng, Dense{.in = 4, .out = 6}, Gelu{}, Dense{.in = 6, .out = 3}};
  Tensor<double> x = random_tensor(Shape{5, 4}, rng);
};

}  // namespace

TEST_CASE("the finite-difference NTK trace matches the brute-force trace of J J^T") {
  TinyCase c;
  const double exact = brute_force_ntk_trace(c.net, c.x);
  Rng draws(3);
  const double estimate = prune::ntk_trace_estimate(c.net, c.x.cview(), 1e-4, 4000, draws);
  // Relative standard error of a mean of 4000 chi-square-like draws: about sqrt(2 / 4000) ~ 2%.
  CHECK(estimate == doctest::Approx(exact).epsilon(0.06));
  // A masked network: the trace of the sparse network, over its active weights.
  auto& w = c.net.layer<0>().weight();
  Tensor<double> mask(w.shape());
  for (Index i = 0; i < mask.numel(); ++i) mask.data()[i] = i % 3 == 0 ? 0.0 : 1.0;
  prune::set_mask(w, mask);
  double exact_sparse = 0;
  {
    // Brute force over active weights only: zero the masked gradient entries.
    const auto y = c.net.forward(c.x.cview(), Mode::train);
    Tensor<double> seed(y.shape());
    for (Index o = 0; o < seed.numel(); ++o) {
      seed.fill_zero();
      seed.data()[o] = 1;
      c.net.forward(c.x.cview(), Mode::train);
      c.net.backward(seed.cview());
      c.net.visit_parameters([&](const std::string& name, Parameter<double, Cpu>& p) {
        if (!prune::weight_matrices(name, p.shape())) return;
        for (Index e = 0; e < p.numel(); ++e)
          if (p.mask.empty() || p.mask.data()[e] == 1.0) exact_sparse += p.grad.data()[e] * p.grad.data()[e];
      });
    }
  }
  const double sparse_estimate = prune::ntk_trace_estimate(c.net, c.x.cview(), 1e-4, 4000, draws);
  CHECK(sparse_estimate == doctest::Approx(exact_sparse).epsilon(0.06));
  CHECK(exact_sparse < exact);
}

// NTK-SAP's network computes f(x; theta * m) and its kernel is taken with respect to theta, so
// tr(NTK)(m) = sum_i m_i^2 |df/dw_i (theta * m)|^2; d tr / d m_j at m = 1 is what the estimator targets.
TEST_CASE("NTK-SAP's mask gradient estimates d tr(NTK) / dm of the brute-force kernel") {
  TinyCase c;
  Rng draws(4);
  const prune::Scores g = prune::ntk_trace_mask_gradient(c.net, c.x.cview(), 1e-4, 6000, draws);
  auto& w = c.net.layer<2>().weight();
  // d tr / d m_j at m = 1: central differences of the brute-force trace in the weight's scale.
  double worst = 0, scale = 0;
  for (Index j = 0; j < w.numel(); ++j) {
    const double v = w.value.data()[j], h = 1e-4;
    w.value.data()[j] = v * (1 + h);
    const double up = brute_force_ntk_trace(c.net, c.x, {"2.weight", j, 1 + h});
    w.value.data()[j] = v * (1 - h);
    const double down = brute_force_ntk_trace(c.net, c.x, {"2.weight", j, 1 - h});
    w.value.data()[j] = v;
    const double exact = (up - down) / (2 * h);
    worst = std::max(worst, std::abs(g.at("2.weight").data()[j] - exact));
    scale = std::max(scale, std::abs(exact));
  }
  // The estimator's noise is a few percent of the largest entries.
  CHECK(worst <= 0.1 * scale);
  CHECK(scale > 0);
}
