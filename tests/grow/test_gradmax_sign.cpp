// Tests GradMaxSign (grow/gradmax.hpp): plus/minus pairs, and the sign that decreases the loss more after
// the first update of the new incoming weights, checked against the loss itself.
#include <doctest/doctest.h>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using SignMlp = Sequential<double, Cpu, Dense, Relu1, Dense>;
using SignGeluMlp = Sequential<double, Cpu, Dense, Gelu, Dense>;

template <class Net>
GrowthFixture<Net> sign_fixture(std::uint64_t seed) {
  return GrowthFixture<Net>(seed, Dense{.in = 20, .out = 5}, typename Net::template layer_type<1>::kind_type{},
                            Dense{.in = 5, .out = 10});
}

// The loss after one SGD step (learning rate lr) on the incoming weights of neuron j alone.
template <class Net>
double loss_after_first_update(GrowthFixture<Net>& f, Index j, double lr) {
  f.refresh();
  auto& w = f.net.template layer<0>().weight();
  for (Index i = 0; i < w.value.dim(1); ++i) w.value.at(j, i) -= lr * w.grad.at(j, i);
  auto& b = f.net.template layer<0>().bias();
  b.value[j] -= lr * b.grad[j];
  return f.refresh();
}

}  // namespace

TEST_CASE("GradMaxSign::pairs: neurons 2j and 2j + 1 share a direction with opposite signs") {
  auto f = sign_fixture<SignMlp>(31);
  f.train(5);
  f.refresh();
  grow::grow_width<0, 2>(f.net, 4, grow::GradMax{.sign = grow::GradMaxSign::pairs}, f.rng,
                         grow::data_from_last_backward<0, 2>(f.net));
  const auto& out = f.net.layer<2>().weight().value;  // (10, 9): new columns 5..8
  for (Index r = 0; r < 10; ++r) {
    CHECK(out.at(r, 6) == -out.at(r, 5));
    CHECK(out.at(r, 8) == -out.at(r, 7));
  }
  double dot = 0;
  for (Index r = 0; r < 10; ++r) dot += out.at(r, 5) * out.at(r, 7);
  CHECK(std::abs(dot) < 1e-10);  // the two pairs' directions are orthogonal singular vectors
}

TEST_CASE_TEMPLATE("GradMaxSign::loss_decrease picks the sign whose first update lowers the loss more", Net, SignMlp,
                   SignGeluMlp) {
  int strictly_better = 0;
  for (std::uint64_t seed = 40; seed < 48; ++seed) {
    auto f = sign_fixture<Net>(seed);
    f.train(5);
    f.refresh();
    const Tensor<double> before = f.output();
    grow::grow_width<0, 2>(f.net, 1, grow::GradMax{.sign = grow::GradMaxSign::loss_decrease}, f.rng,
                           grow::data_from_last_backward<0, 2>(f.net));
    CHECK(max_abs_diff(before, f.output()) < 1e-12);  // still function-preserving
    // The other sign: the same network with the new outgoing column negated.
    auto g = sign_fixture<Net>(seed);
    g.train(5);
    g.refresh();
    grow::grow_width<0, 2>(g.net, 1, grow::GradMax{.sign = grow::GradMaxSign::loss_decrease}, g.rng,
                           grow::data_from_last_backward<0, 2>(g.net));
    auto& w = g.net.template layer<2>().weight().value;
    for (Index r = 0; r < w.dim(0); ++r) w.at(r, 5) = -w.at(r, 5);
    const double lr = 0.05;
    const double chosen = loss_after_first_update(f, 5, lr), other = loss_after_first_update(g, 5, lr);
    CHECK(chosen <= other + 1e-12);
    strictly_better += chosen < other - 1e-12 ? 1 : 0;
  }
  CHECK(strictly_better >= 4);  // the choice matters (it is not a tie) for most seeds
}

TEST_CASE("GradMaxSign::loss_decrease needs the grow batch's rows") {
  auto f = sign_fixture<SignMlp>(50);
  f.refresh();
  const Tensor<double> m = grow::data_from_last_backward<0, 2>(f.net).matrix().clone();
  auto grow_from_matrix = [&] {
    grow::grow_width<0, 2>(f.net, 1, grow::GradMax{.sign = grow::GradMaxSign::loss_decrease}, f.rng,
                           grow::GrowthData<double>::from_matrix(m.clone()));
  };
  CHECK_THROWS_AS(grow_from_matrix(), ArgumentError);
  CHECK(f.net.layer<0>().weight().value.dim(0) == 5);  // refused unchanged
}
