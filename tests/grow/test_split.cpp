// Tests grow/split.hpp: Net2Net widening duplicates neurons and shares their outgoing weights, which
// keeps the function for any activation.
#include <doctest/doctest.h>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

TEST_CASE_TEMPLATE("Split keeps the output for activations without f(0) = 0 requirements", Act, Tanh, Gelu,
                   CenteredLogistic, Relu) {
  GrowthFixture<DenseActDense<Act>> f(1, Dense{.in = 20, .out = 5}, Act{}, Dense{.in = 5, .out = 10});
  f.train(3);
  const Tensor<double> before = f.output();
  grow::grow_width<0, 2>(f.net, 4, grow::Split{}, f.rng);
  CHECK(max_abs_diff(before, f.output()) < 1e-12);
}

TEST_CASE("each new neuron copies an existing one and copies share the outgoing weights") {
  GrowthFixture<DenseActDense<Relu1>> f(2, Dense{.in = 20, .out = 3}, Relu1{}, Dense{.in = 3, .out = 10});
  f.train(3);
  const Tensor<double> w0 = f.net.template layer<0>().weight().value.clone();
  const Tensor<double> b0 = f.net.template layer<0>().bias().value.clone();
  const Tensor<double> w2 = f.net.template layer<2>().weight().value.clone();
  grow::grow_width<0, 2>(f.net, 7, grow::Split{}, f.rng);  // more than the width: every neuron copied
  const auto& g0 = f.net.template layer<0>().weight().value;
  const auto& g2 = f.net.template layer<2>().weight().value;
  std::vector<int> copies(3, 1);
  for (Index n = 3; n < 10; ++n) {
    Index source = -1;
    for (Index s = 0; s < 3; ++s)
      if (rows_norm(g0, n, 1) > 0 && std::abs(g0.at(n, 0) - w0.at(s, 0)) < 1e-15 && std::abs(g0.at(n, 7) - w0.at(s, 7)) < 1e-15)
        source = s;
    REQUIRE(source >= 0);
    CHECK(f.net.template layer<0>().bias().value[n] == b0[source]);
    ++copies[static_cast<std::size_t>(source)];
  }
  // Sum of outgoing weights over a neuron and its copies equals its original outgoing weights.
  for (Index s = 0; s < 3; ++s) {
    CHECK(copies[static_cast<std::size_t>(s)] >= 3);  // 7 copies of 3 neurons: 2 or 3 each
    for (Index r = 0; r < 10; ++r) {
      double sum = 0;
      for (Index n = 0; n < 10; ++n)
        if (n == s || (n >= 3 && g0.at(n, 0) == w0.at(s, 0) && g0.at(n, 7) == w0.at(s, 7))) sum += g2.at(r, n);
      CHECK(sum == doctest::Approx(w2.at(r, s)));
    }
  }
}

TEST_CASE("Split's noise breaks the symmetry of copies and keeps the function approximately") {
  GrowthFixture<DenseActDense<Tanh>> f(3, Dense{.in = 20, .out = 5}, Tanh{}, Dense{.in = 5, .out = 10});
  f.train(3);
  const Tensor<double> before = f.output();
  const Tensor<double> w0 = f.net.template layer<0>().weight().value.clone();
  grow::grow_width<0, 2>(f.net, 5, grow::Split{.noise = 0.01}, f.rng);
  const double change = max_abs_diff(before, f.output());
  CHECK(change > 0);
  CHECK(change < 0.05);
  // No new row equals an old row exactly.
  const auto& g0 = f.net.template layer<0>().weight().value;
  for (Index n = 5; n < 10; ++n)
    for (Index s = 0; s < 5; ++s) CHECK(g0.at(n, 0) != w0.at(s, 0));
  CHECK_THROWS_AS((grow::grow_width<0, 2>(f.net, 1, grow::Split{.noise = -1}, f.rng)), ArgumentError);
}
