// Tests prune/ntk.hpp: the empirical NTK equals G G^T with G the per-sample gradients of the summed
// outputs computed independently (finite differences), its trace and spectrum.
#include <doctest/doctest.h>

#include "netgrow/prune.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

TEST_CASE("empirical_ntk is G G^T of the per-sample gradients; the spectrum's trace and condition number") {
  Rng rng(7);
  Sequential<double, Cpu, Dense, Tanh, Dense> net(rng, Dense{.in = 3, .out = 5}, Tanh{}, Dense{.in = 5, .out = 2});
  const Tensor<double> x = random_tensor(Shape{4, 3}, rng);
  const Eigen::MatrixXd theta = prune::empirical_ntk(net, x.cview(), Mode::eval);
  REQUIRE(theta.rows() == 4);
  // G by central differences of F_i = sum of sample i's outputs, over every parameter.
  std::vector<Parameter<double, Cpu>*> params;
  net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) { params.push_back(&p); });
  Index total = 0;
  for (auto* p : params) total += p->numel();
  Eigen::MatrixXd g(4, total);
  Index col = 0;
  for (auto* p : params)
    for (Index e = 0; e < p->numel(); ++e, ++col) {
      const double v = p->value.data()[e], h = 1e-6;
      p->value.data()[e] = v + h;
      const Eigen::MatrixXd up = matrix(net.forward(x.cview(), Mode::eval));
      p->value.data()[e] = v - h;
      const Eigen::MatrixXd down = matrix(net.forward(x.cview(), Mode::eval));
      p->value.data()[e] = v;
      g.col(col) = (up - down).rowwise().sum() / (2 * h);
    }
  const Eigen::MatrixXd reference = g * g.transpose();
  CHECK((theta - reference).cwiseAbs().maxCoeff() <= 1e-6 * reference.cwiseAbs().maxCoeff());
  const auto s = prune::ntk_spectrum(net, x.cview(), Mode::eval);
  CHECK(s.trace == doctest::Approx(reference.trace()).epsilon(1e-6));
  CHECK(s.eigenvalues.sum() == doctest::Approx(s.trace).epsilon(1e-9));
  CHECK(s.condition() == doctest::Approx(s.largest / s.smallest));
  CHECK(s.smallest > 0);
}
