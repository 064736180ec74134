// tests/support/parameters.hpp: small helpers for optimizer tests: parameters from values, a
// one-parameter "network" that optimizers can step(), and a bitwise comparison of two networks' values.
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

// Every parameter value of `a` equals `b`'s to the bit (networks of the same structure, visit order).
template <class Net>
void check_identical_parameters(Net& a, Net& b) {
  std::vector<std::vector<double>> va, vb;
  auto collect = [](Net& net, std::vector<std::vector<double>>& out) {
    net.visit_parameters([&](std::string_view, auto& p) {
      out.emplace_back();
      for (Index i = 0; i < p.value.numel(); ++i) out.back().push_back(static_cast<double>(p.value[i]));
    });
  };
  collect(a, va);
  collect(b, vb);
  REQUIRE(va.size() == vb.size());
  for (std::size_t k = 0; k < va.size(); ++k) {
    INFO("parameter ", k);
    CHECK(va[k] == vb[k]);
  }
}

}  // namespace netgrow::test
