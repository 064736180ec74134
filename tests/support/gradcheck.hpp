// tests/support/gradcheck.hpp: the central-difference gradient checker every layer and loss test uses.
//
// In double precision. For a layer, the scalar probed is L(x, params) = sum(layer(x) * r) for a fixed
// random r of the output's shape, so backward() with grad_out = r must return dL/dx and dL/dparams.
// Errors are |analytic - numeric| / max(1, |analytic|, |numeric|) (absolute near zero, relative
// elsewhere); central differences with eps = 1e-6 leave about 1e-9 of truncation and rounding error.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "netgrow/core/init.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow::test {

inline constexpr double gradcheck_eps = 1e-6;
inline constexpr double gradcheck_tolerance = 1e-6;

inline double gradient_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max({1.0, std::abs(analytic), std::abs(numeric)});
}

// Largest error between `analytic` and central differences of f() with respect to each element of x
// (x is perturbed in place and restored).
inline double max_gradient_error(const std::function<double()>& f, TensorView<double, Cpu> x,
                                 ConstView<double, Cpu> analytic, double eps = gradcheck_eps) {
  REQUIRE(x.shape() == analytic.shape());
  double worst = 0;
  for (Index i = 0; i < x.numel(); ++i) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double up = f();
    x[i] = saved - eps;
    const double down = f();
    x[i] = saved;
    worst = std::max(worst, gradient_error(analytic[i], (up - down) / (2 * eps)));
  }
  return worst;
}

inline Tensor<double, Cpu> random_tensor(Shape shape, Rng& rng, double stddev = 1.0) {
  Tensor<double, Cpu> t(shape);
  fill_normal(t.view(), 0.0, stddev, rng);
  return t;
}

inline double dot(ConstView<double, Cpu> a, ConstView<double, Cpu> b) {
  double s = 0;
  for (Index i = 0; i < a.numel(); ++i) s += a[i] * b[i];
  return s;
}

// Checks a layer's input and parameter gradients against central differences at input x, in the
// given mode; also that backward with accumulate = true adds to the parameter gradients. Non-trainable
// parameters (state) are skipped. `check_input` false skips the input gradient (discrete inputs such as
// token ids, whose gradient is zero by definition).
// The random r of the probe is drawn from `rng`.
template <class L>
void check_layer_gradients_at(L& layer, Tensor<double, Cpu> x, Rng& rng, Mode mode = Mode::train,
                              bool check_input = true) {
  static_assert(std::is_same_v<typename L::scalar_type, double>, "gradient checks run in double");
  const Shape in_shape = x.shape();
  const Shape out_shape = layer.output_shape(in_shape);
  Tensor<double, Cpu> r = random_tensor(out_shape, rng);
  Tensor<double, Cpu> out(out_shape);

  auto probe = [&]() {
    layer.forward(x.cview(), out.view(), mode);
    return dot(out.cview(), r.cview());
  };

  probe();
  Tensor<double, Cpu> dx(in_shape);
  layer.backward(x.cview(), out.cview(), r.cview(), dx.view(), false);

  // Analytic parameter gradients, copied before the probes overwrite anything.
  std::vector<std::string> names;
  std::vector<Tensor<double, Cpu>> grads;
  layer.visit_parameters([&](std::string_view name, Parameter<double, Cpu>& p) {
    names.emplace_back(name);
    grads.push_back(p.grad.clone());
  });

  if (check_input) {
    INFO("layer ", layer.describe(), ", input ", in_shape.str(), ": input gradient");
    CHECK(max_gradient_error(probe, x.view(), dx.cview()) < gradcheck_tolerance);
  }
  std::size_t k = 0;
  layer.visit_parameters([&](std::string_view name, Parameter<double, Cpu>& p) {
    if (p.trainable) {  // state such as BatchNorm's running statistics has no gradient
      INFO("layer ", layer.describe(), ", input ", in_shape.str(), ": gradient of parameter ", std::string(name));
      CHECK(max_gradient_error(probe, p.value.view(), grads[k].cview()) < gradcheck_tolerance);
    }
    ++k;
  });

  // accumulate = true adds the same gradients again.
  probe();
  layer.backward(x.cview(), out.cview(), r.cview(), TensorView<double, Cpu>(), false);
  layer.backward(x.cview(), out.cview(), r.cview(), TensorView<double, Cpu>(), true);
  k = 0;
  layer.visit_parameters([&](std::string_view name, Parameter<double, Cpu>& p) {
    INFO("layer ", layer.describe(), ": accumulated gradient of parameter ", std::string(name));
    double worst = 0;
    for (Index i = 0; i < p.grad.numel(); ++i) worst = std::max(worst, gradient_error(p.grad[i], 2 * grads[k][i]));
    CHECK(worst < 1e-12);
    ++k;
  });
}

// Checks a layer's input and parameter gradients against central differences, for an input of
// shape `in_shape` drawn from N(0, input_stddev), in the given mode. Also checks that backward with
// accumulate = true adds to the parameter gradients. Non-trainable parameters (state) are skipped.
template <class L>
void check_layer_gradients(L& layer, Shape in_shape, std::uint64_t seed = 1, Mode mode = Mode::train,
                           double input_stddev = 1.0) {
  Rng rng(seed);
  Tensor<double, Cpu> x = random_tensor(in_shape, rng, input_stddev);  // x first, then r: the same draws as always
  check_layer_gradients_at(layer, std::move(x), rng, mode, true);
}

}  // namespace netgrow::test
