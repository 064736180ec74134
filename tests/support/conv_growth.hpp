// tests/support/conv_growth.hpp: small convolutional settings for growth tests: a network, a random
// regression batch, and the actual vs predicted gradient of a new neuron's incoming weights.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "netgrow/grow.hpp"
#include "netgrow/layers.hpp"
#include "netgrow/network.hpp"
#include "support/gradcheck.hpp"

namespace netgrow::test {

template <class Net>
struct ConvCase {
  Rng rng;
  Net net;
  Tensor<double> x, target, grad;

  template <class... Kinds>
  ConvCase(std::uint64_t seed, Shape input, const Kinds&... kinds) : rng(seed), net(rng, kinds...) {
    x = random_tensor(input, rng);
    target = random_tensor(net.output_shape(input), rng);
  }
  double refresh(Mode mode = Mode::train) {
    const auto pred = net.forward(x, mode);
    grad.resize(pred.shape());
    const double loss = MseLoss{}(pred, target, grad);
    net.backward(grad);
    return loss;
  }
  Tensor<double> output(Mode mode) {
    Tensor<double> out;
    out.copy_from(net.forward(x, mode));
    return out;
  }
};

// Grows one neuron between P and C with Random (zero incoming, random outgoing) and compares the
// actual gradient of its incoming weights with slope * scale * O M from data_from_last_backward.
// Returns the relative error.
template <std::size_t P, std::size_t C, class Net>
double new_neuron_gradient_error(ConvCase<Net>& c, double slope, grow::PairDataOptions options = {},
                                 Mode mode = Mode::train) {
  c.refresh(mode);
  const auto data = grow::data_from_last_backward<P, C>(c.net, options);
  const Tensor<double> m = data.matrix().clone();  // (fan_out, fan_in)
  const double scale = data.gradient_scale();
  grow::grow_width<P, C>(c.net, 1, grow::Random{}, c.rng);
  c.refresh(mode);
  const auto& w_in = c.net.template layer<P>().weight();
  const Index width = w_in.value.dim(0), fan_in = w_in.value.numel() / width;
  const auto& w_out = c.net.template layer<C>().weight().value;
  const Index outer = w_out.dim(0), per_neuron = w_out.numel() / width;
  // The new neuron's outgoing vector: its (outer, rest) slice of the consumer weight.
  Tensor<double> rows({width, per_neuron});
  ops::axis_to_rows<double>(w_out.cview().reshape(Shape{outer, width, per_neuron / outer}), 1, rows.view());
  REQUIRE(m.dim(0) == per_neuron);
  REQUIRE(m.dim(1) == fan_in);
  double diff = 0, norm = 0;
  for (Index f = 0; f < fan_in; ++f) {
    double predicted = 0;
    for (Index o = 0; o < per_neuron; ++o) predicted += rows.at(width - 1, o) * m.at(o, f);
    predicted *= slope * scale;
    const double actual = w_in.grad[(width - 1) * fan_in + f];
    diff += (actual - predicted) * (actual - predicted);
    norm += actual * actual;
  }
  REQUIRE(norm > 0);
  return std::sqrt(diff / norm);
}

}  // namespace netgrow::test
