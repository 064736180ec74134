// tests/support/parameters.hpp: small helpers for optimizer tests: parameters from values, and a
// one-parameter "network" that optimizers can step().
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <string_view>
#include <vector>

#include "netgrow/layers/parameter.hpp"

namespace netgrow::test {

using Param = Parameter<double, Cpu>;

inline Param make_param(std::initializer_list<double> value) {
  Param p(Shape{static_cast<Index>(value.size())});
  p.value = Tensor<double>::from(p.value.shape(), value);
  return p;
}

inline void set_grad(Param& p, std::initializer_list<double> grad) {
  p.grad = Tensor<double>::from(p.value.shape(), grad);
}

inline void check_values(const Tensor<double>& t, const std::vector<double>& want) {
  REQUIRE(t.numel() == static_cast<Index>(want.size()));
  for (Index i = 0; i < t.numel(); ++i) {
    INFO("element ", i);
    CHECK(t[i] == doctest::Approx(want[static_cast<std::size_t>(i)]).epsilon(1e-12));
  }
}

// A "network" of one parameter named "p", for step().
struct OneParameter {
  Param p;
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("p"), p);
  }
};

}  // namespace netgrow::test
