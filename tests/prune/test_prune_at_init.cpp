// Tests prune/prune_at_init.hpp and the criteria: exact densities (global and per parameter), the
// iterative schedule, entries once pruned staying pruned, each criterion's score against its definition
// computed independently (finite differences in double), and networks left as they were.
#include <doctest/doctest.h>

#include <functional>

#include "netgrow/prune.hpp"
#include "support/growth.hpp"
#include "support/prune_criteria.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

// A tiny classifier in double: Dense(6 -> 8) -> Tanh -> Dense(8 -> 8) -> BatchNorm -> Tanh -> Dense(8 -> 3).
using Classifier = Sequential<double, Cpu, Dense, Tanh, Dense, BatchNorm, Tanh, Dense>;

struct ClassifierCase {
  Rng rng;
  Classifier net;
  Tensor<double> x;
  Tensor<std::int32_t> y;
  explicit ClassifierCase(std::uint64_t seed)
      : rng(seed),
        net(rng, Dense{.in = 6, .out = 8}, Tanh{}, Dense{.in = 8, .out = 8}, BatchNorm{.channels = 8}, Tanh{},
            Dense{.in = 8, .out = 3}),
        x(random_tensor(Shape{10, 6}, rng)),
        y(Shape{10}) {
    for (Index i = 0; i < 10; ++i) y.data()[i] = static_cast<std::int32_t>(i % 3);
  }
  prune::ScoreContext<double> context() { return {.inputs = x.cview(), .labels = y.cview(), .rng = &rng}; }
  double loss() {
    Tensor<double> grad;
    const auto logits = net.forward(x.cview(), Mode::train);
    grad.resize(logits.shape());
    return SoftmaxCrossEntropy{}(logits, y, grad).loss;
  }
};

std::vector<Tensor<double>> all_values(Classifier& net) {
  std::vector<Tensor<double>> v;
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) { v.push_back(p.value.clone()); });
  return v;
}

void check_same_values(Classifier& net, const std::vector<Tensor<double>>& v) {
  std::size_t i = 0;
  net.visit_parameters([&](const std::string& name, Parameter<double, Cpu>& p) {
    INFO(name);
    CHECK(max_abs_diff(p.value, v[i++]) == 0.0);
  });
}

// d loss / d m_j by central differences on the weight (w_j (1 + h) vs w_j (1 - h)): SNIP's w_j g_j.
double mask_derivative(Parameter<double, Cpu>& p, Index j, const std::function<double()>& f) {
  const double w = p.value.data()[j], h = 1e-5;
  p.value.data()[j] = w * (1 + h);
  const double up = f();
  p.value.data()[j] = w * (1 - h);
  const double down = f();
  p.value.data()[j] = w;
  return (up - down) / (2 * h);
}

}  // namespace

TEST_CASE("prune_at_init keeps exactly the density asked, globally or per parameter, and masked entries stay") {
  for (prune::Scope scope : {prune::Scope::global, prune::Scope::per_parameter}) {
    ClassifierCase c(1);
    const auto report = prune::prune_at_init(c.net, prune::Magnitude{}, c.context(),
                                             {.density = 0.25, .scope = scope, .iterations = 3});
    REQUIRE(report.round_density.size() == 3);
    CHECK(report.round_density[0] == doctest::Approx(std::pow(0.25, 1.0 / 3)).epsilon(0.02));
    CHECK(report.final.density() == doctest::Approx(0.25).epsilon(0.01));
    CHECK(report.final.active == std::llround(0.25 * (48 + 64 + 24)));
    if (scope == prune::Scope::per_parameter)
      for (const auto& p : report.final.parameters) CHECK(p.active == std::llround(0.25 * p.total));
    // Magnitude keeps the largest: every kept |w| is at least every pruned one's (global) or within each.
  }
  ClassifierCase c(2);
  auto& w = c.net.layer<0>().weight();
  const Tensor<double> original = w.value.clone();
  prune::prune_at_init(c.net, prune::Magnitude{}, c.context(), {.density = 0.5, .scope = prune::Scope::per_parameter});
  double smallest_kept = 1e9, largest_pruned = 0;
  for (Index i = 0; i < w.numel(); ++i) {
    const double a = std::abs(original.data()[i]);
    if (w.mask.data()[i] == 1.0) smallest_kept = std::min(smallest_kept, a);
    else largest_pruned = std::max(largest_pruned, a);
  }
  CHECK(smallest_kept >= largest_pruned);
  // A second pruning keeps the first one's zeros (random scores would otherwise revive some).
  const Tensor<double> first = w.mask.clone();
  prune::prune_at_init(c.net, prune::RandomScore{}, c.context(), {.density = 0.2, .scope = prune::Scope::per_parameter});
  for (Index i = 0; i < w.numel(); ++i)
    if (first.data()[i] == 0.0) CHECK(w.mask.data()[i] == 0.0);
  CHECK(prune::active_count(w) == std::llround(0.2 * 48));
}

TEST_CASE("prune_at_init refuses bad settings and NaN scores, leaving the network unchanged") {
  ClassifierCase c(3);
  CHECK_THROWS_AS(prune::prune_at_init(c.net, prune::Magnitude{}, c.context(), {.density = 0.0}), ArgumentError);
  CHECK_THROWS_AS(prune::prune_at_init(c.net, prune::Magnitude{}, c.context(), {.density = 0.5, .iterations = 0}),
                  ArgumentError);
  struct NanScores {
    prune::Scores score(Classifier& net, const prune::ScoreContext<double>& ctx) const {
      prune::Scores s = prune::Magnitude{}.score(net, ctx);
      s.begin()->second.data()[0] = std::nan("");
      return s;
    }
  };
  CHECK_THROWS_AS(prune::prune_at_init(c.net, NanScores{}, c.context(), {.density = 0.5}), ArgumentError);
  c.net.visit_parameters([](const std::string&, Parameter<double, Cpu>& p) { CHECK(p.mask.empty()); });
  CHECK_THROWS_AS(prune::prune_at_init(c.net, prune::Snip{}, prune::ScoreContext<double>{.inputs = c.x.cview()},
                                       {.density = 0.5}),
                  ShapeError);
}

TEST_CASE("SNIP's score is |dL/dm| and GraSP's is w (H g), both checked by finite differences; nets untouched") {
  ClassifierCase c(4);
  const auto before = all_values(c.net);
  const prune::Scores snip = prune::Snip{}.score(c.net, c.context());
  check_same_values(c.net, before);
  auto& w = c.net.layer<2>().weight();
  for (Index j : {Index{0}, Index{9}, Index{37}, Index{63}}) {
    const double numeric = mask_derivative(w, j, [&] { return c.loss(); });
    CHECK(snip.at("2.weight").data()[j] == doctest::Approx(std::abs(numeric)).epsilon(1e-5));
  }
  // GraSP at temperature 1 (a stronger signal for the check): w_j (H g)_j with H g by central differences
  // of the gradient along g, computed here independently.
  const prune::Grasp grasp{.temperature = 1.0, .step = 1e-4};
  const auto before_grasp = all_values(c.net);  // the loss evaluations above moved the running statistics
  const prune::Scores s = grasp.score(c.net, c.context());
  check_same_values(c.net, before_grasp);
  std::vector<Tensor<double>> g0;
  auto gradients = [&] {
    Tensor<double> grad;
    const auto logits = c.net.forward(c.x.cview(), Mode::train);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, c.y, grad);
    c.net.backward(grad);
    std::vector<Tensor<double>> g;
    c.net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) { g.push_back(p.grad.clone()); });
    return g;
  };
  g0 = gradients();
  auto shift = [&](double t) {
    std::size_t i = 0;
    c.net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) {
      if (p.trainable) vector(p.value) += t * vector(g0[i]);
      ++i;
    });
  };
  const double h = 1e-5;
  shift(h);
  const auto up = gradients();
  shift(-2 * h);
  const auto down = gradients();
  shift(h);
  for (Index j : {Index{3}, Index{20}, Index{50}}) {
    const double hg = (up[2].data()[j] - down[2].data()[j]) / (2 * h);  // "2.weight" is the third parameter
    CHECK(s.at("2.weight").data()[j] == doctest::Approx(w.value.data()[j] * hg).epsilon(1e-3));
  }
}

TEST_CASE("SynFlow's score on a linear chain is |w dR/dw| with R = 1^T |W2| |W1| 1") {
  Rng rng(5);
  Sequential<double, Cpu, Dense, Dense> net(rng, Dense{.in = 3, .out = 4, .bias = false}, Dense{.in = 4, .out = 2, .bias = false});
  const Tensor<double> x = random_tensor(Shape{7, 3}, rng);
  const prune::Scores s = prune::SynFlow{}.score(net, prune::ScoreContext<double>{.inputs = x.cview()});
  const auto w1 = matrix(net.layer<0>().weight().value).cwiseAbs().eval();
  const auto w2 = matrix(net.layer<1>().weight().value).cwiseAbs().eval();
  // dR/dW1_ij = (1^T |W2|)_i, dR/dW2_ki = (|W1| 1)_i.
  const Eigen::VectorXd col = w2.colwise().sum().transpose(), row = w1.rowwise().sum();
  for (Index i = 0; i < 4; ++i)
    for (Index j = 0; j < 3; ++j) CHECK(s.at("0.weight").at(i, j) == doctest::Approx(w1(i, j) * col(i)));
  for (Index k = 0; k < 2; ++k)
    for (Index i = 0; i < 4; ++i) CHECK(s.at("1.weight").at(k, i) == doctest::Approx(w2(k, i) * row(i)));
  CHECK(net.layer<0>().weight().value.data()[0] == doctest::Approx(matrix(net.layer<0>().weight().value)(0, 0)));
}

TEST_CASE("every criterion prunes a classifier to 10% in 5 rounds and leaves values and statistics as they were") {
  auto run = [](const auto& criterion) {
    ClassifierCase c(6);
    auto before = all_values(c.net);
    const auto report = prune::prune_at_init(c.net, criterion, c.context(), {.density = 0.1, .iterations = 5});
    CHECK(report.final.density() == doctest::Approx(0.1).epsilon(0.05));
    // Unmasked entries keep their values; masked ones are 0; BatchNorm's statistics are back.
    std::size_t i = 0;
    c.net.visit_parameters([&](const std::string& name, Parameter<double, Cpu>& p) {
      INFO(name);
      for (Index e = 0; e < p.numel(); ++e) {
        const bool masked = !p.mask.empty() && p.mask.data()[e] == 0.0;
        CHECK(p.value.data()[e] == (masked ? 0.0 : before[i].data()[e]));
      }
      ++i;
    });
  };
  test::for_each_criterion(run);
}

TEST_CASE("ERK densities keep the budget, favour small layers and cap at dense") {
  const std::vector<Shape> shapes = {Shape{32, 1, 3, 3}, Shape{64, 32, 3, 3}, Shape{128, 9216}, Shape{10, 128}};
  const auto d = prune::erk_densities(shapes, 0.1);
  double kept = 0, total = 0;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    kept += d[i] * static_cast<double>(shapes[i].numel());
    total += static_cast<double>(shapes[i].numel());
    CHECK(d[i] <= 1.0);
  }
  CHECK(kept / total == doctest::Approx(0.1).epsilon(1e-9));
  CHECK(d[0] == 1.0);  // 288 weights: dense
  // Uncapped layers keep eps (sum of dims) / numel: their densities' ratio is that of those factors.
  const double raw1 = (64.0 + 32 + 3 + 3) / (64.0 * 32 * 9), raw2 = (128.0 + 9216) / (128.0 * 9216);
  CHECK(d[1] / d[2] == doctest::Approx(raw1 / raw2));
  CHECK(d[2] < d[3]);
  ClassifierCase c(8);
  const auto report = prune::prune_at_init(c.net, prune::RandomScore{}, c.context(), {.density = 0.3, .scope = prune::Scope::erk});
  CHECK(report.final.density() == doctest::Approx(0.3).epsilon(0.03));
}
