// Tests grow/pair_data.hpp: GradMax's matrix M is exact (the gradient of a new neuron's incoming
// weights equals slope * scale * O M) for dense and convolutional pairs, any stride and padding,
// through BatchNorm, depthwise convolutions, pooling, Flatten and GlobalAvgPool; the reference's
// auxiliary-convolution formulation agrees with an independent computation, and with the exact
// matrix only where the reference is exact.
#include <doctest/doctest.h>

#include "support/conv_growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

TEST_CASE("exact conv GradMax: the new filter's gradient is O M for strides 1 and 2 and paddings 0 and 1") {
  using Net = Sequential<double, Cpu, Conv2d, Relu1, Conv2d>;
  for (Index s1 : {1, 2})
    for (Index s2 : {1, 2})
      for (Index p1 : {0, 1})
        for (Index p2 : {0, 1}) {
          ConvCase<Net> c(100 + s1 * 8 + s2 * 4 + p1 * 2 + p2, Shape{2, 2, 9, 8},
                          Conv2d{.in = 2, .out = 3, .kernel = 3, .stride = s1, .padding = p1}, Relu1{},
                          Conv2d{.in = 3, .out = 4, .kernel = 3, .stride = s2, .padding = p2});
          INFO("s1 ", s1, " s2 ", s2, " p1 ", p1, " p2 ", p2);
          CHECK(new_neuron_gradient_error<0, 2>(c, 1.0) < 1e-8);
        }
}

TEST_CASE("exact conv GradMax matches finite differences of the loss") {
  // Tanh between the pair: smooth at the new channel's zero pre-activation, so central differences
  // apply (Relu1's kink would make them one-sided).
  using Net = Sequential<double, Cpu, Conv2d, Tanh, Conv2d>;
  ConvCase<Net> c(7, Shape{2, 2, 7, 7}, Conv2d{.in = 2, .out = 3, .kernel = 3, .stride = 2, .padding = 1}, Tanh{},
                  Conv2d{.in = 3, .out = 2, .kernel = 3, .stride = 1, .padding = 1});
  c.refresh();
  const auto data = grow::data_from_last_backward<0, 2>(c.net);
  const Tensor<double> m = data.matrix().clone();
  grow::grow_width<0, 2>(c.net, 1, grow::Random{}, c.rng);
  Tensor<double> rows({4, 2 * 9});
  const auto& w_out = c.net.layer<2>().weight().value;
  ops::axis_to_rows<double>(w_out.cview(), 1, rows.view());
  auto& w_in = c.net.layer<0>().weight().value;
  auto loss = [&] { return MseLoss{}.value(c.net.forward(c.x), c.target); };
  double worst = 0;
  for (Index f = 0; f < 18; ++f) {
    double predicted = 0;
    for (Index o = 0; o < 18; ++o) predicted += rows.at(3, o) * m.at(o, f);
    double& w = w_in[3 * 18 + f];
    const double eps = 1e-6, saved = w;
    w = saved + eps;
    const double up = loss();
    w = saved - eps;
    const double down = loss();
    w = saved;
    worst = std::max(worst, std::abs((up - down) / (2 * eps) - predicted) / std::max(1e-3, std::abs(predicted)));
  }
  CHECK(worst < 1e-6);
}

TEST_CASE("through BatchNorm in training mode: centred M and the 1/sqrt(eps) scale are exact") {
  using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu1, Conv2d>;
  ConvCase<Net> c(11, Shape{3, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, BatchNorm{.channels = 3}, Relu1{},
                  Conv2d{.in = 3, .out = 2, .padding = 1});
  CHECK(new_neuron_gradient_error<0, 3>(c, 1.0) < 1e-8);

  // Ignoring BatchNorm (the reference's choice) leaves M uncentred and unscaled: not the true gradient.
  ConvCase<Net> d(11, Shape{3, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, BatchNorm{.channels = 3}, Relu1{},
                  Conv2d{.in = 3, .out = 2, .padding = 1});
  d.refresh();
  const auto ignored = grow::data_from_last_backward<0, 3>(d.net, {.batch_norm = grow::BatchNormJacobian::ignore});
  CHECK(ignored.gradient_scale() == 1.0);
  CHECK(new_neuron_gradient_error<0, 3>(d, 1.0, {.batch_norm = grow::BatchNormJacobian::ignore}) > 0.5);
}

TEST_CASE("through BatchNorm in evaluation mode the scale is 1/sqrt(1 + eps) and nothing is centred") {
  using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Tanh, Conv2d>;
  ConvCase<Net> c(12, Shape{2, 2, 5, 5}, Conv2d{.in = 2, .out = 3, .padding = 1}, BatchNorm{.channels = 3}, Tanh{},
                  Conv2d{.in = 3, .out = 2, .padding = 1});
  CHECK(new_neuron_gradient_error<0, 3>(c, 1.0, {}, Mode::eval) < 1e-8);
}

TEST_CASE("through an identity-grown depthwise convolution") {
  using Net = Sequential<double, Cpu, Conv2d, Relu1, DepthwiseConv2d, LeakyRelu, Conv2d>;
  ConvCase<Net> c(13, Shape{2, 3, 6, 6}, Conv2d{.in = 3, .out = 4, .kernel = 1, .padding = 0}, Relu1{},
                  DepthwiseConv2d{.channels = 4}, LeakyRelu{.slope = 0.5}, Conv2d{.in = 4, .out = 5, .kernel = 1, .padding = 0});
  CHECK(new_neuron_gradient_error<0, 4>(c, 0.5) < 1e-8);
}

TEST_CASE("Conv -> pooling -> Flatten -> Dense and Conv -> GlobalAvgPool -> Dense") {
  {
    using Net = Sequential<double, Cpu, Conv2d, Relu1, MaxPool2d, Flatten, Dense>;
    ConvCase<Net> c(14, Shape{3, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, Relu1{}, MaxPool2d{}, Flatten{},
                    Dense{.in = 27, .out = 4});
    CHECK(new_neuron_gradient_error<0, 4>(c, 1.0) < 1e-8);
  }
  {
    using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu1, AvgPool2d, Flatten, Dense>;
    ConvCase<Net> c(15, Shape{3, 2, 6, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, BatchNorm{.channels = 3},
                    Relu1{}, AvgPool2d{.kernel = 3, .stride = 2, .padding = 1}, Flatten{}, Dense{.in = 27, .out = 4});
    CHECK(new_neuron_gradient_error<0, 5>(c, 1.0) < 1e-8);
  }
  {
    using Net = Sequential<double, Cpu, Conv2d, Relu1, GlobalAvgPool, Dense>;
    ConvCase<Net> c(16, Shape{3, 2, 5, 5}, Conv2d{.in = 2, .out = 3, .stride = 2, .padding = 1}, Relu1{},
                    GlobalAvgPool{}, Dense{.in = 3, .out = 4});
    CHECK(new_neuron_gradient_error<0, 3>(c, 1.0) < 1e-8);
  }
  {
    using Net = Sequential<double, Cpu, Conv2d, Relu1, Conv2d, Relu1, MaxPool2d, Conv2d>;  // pooling between convs
    ConvCase<Net> c(17, Shape{2, 2, 8, 8}, Conv2d{.in = 2, .out = 3, .padding = 1}, Relu1{},
                    Conv2d{.in = 3, .out = 3, .padding = 1}, Relu1{}, MaxPool2d{}, Conv2d{.in = 3, .out = 2, .padding = 1});
    CHECK(new_neuron_gradient_error<2, 5>(c, 1.0) < 1e-8);
  }
}

TEST_CASE("dense pairs through BatchNorm: centred inputs and the 1/sqrt(eps) scale") {
  using Net = Sequential<double, Cpu, Dense, BatchNorm, Relu1, Dense>;
  ConvCase<Net> c(18, Shape{6, 5}, Dense{.in = 5, .out = 4}, BatchNorm{.channels = 4}, Relu1{}, Dense{.in = 4, .out = 3});
  CHECK(new_neuron_gradient_error<0, 3>(c, 1.0) < 1e-8);
}

TEST_CASE("the reference's auxiliary-convolution matrix equals an independent computation of its gradient") {
  using Net = Sequential<double, Cpu, Conv2d, Relu1, Conv2d>;
  ConvCase<Net> c(19, Shape{2, 2, 7, 6}, Conv2d{.in = 2, .out = 3, .padding = 1}, Relu1{},
                  Conv2d{.in = 3, .out = 4, .padding = 1});
  c.refresh();
  const Tensor<double> m_ref = grow::reference_conv_gradmax_matrix<0, 2>(c.net);
  // The auxiliary 5x5 'same' convolution (symmetric padding 2, as TensorFlow's SAME for stride 1) as a
  // Conv2d layer: its weight gradient is G.
  Rng rng(1);
  Conv2dLayer<double, Cpu> aux(Conv2d{.in = 2, .out = 4, .kernel = 5, .stride = 1, .padding = 2, .bias = false}, rng);
  aux.backward(c.x, Tensor<double>(Shape{2, 4, 7, 6}), c.net.output_grad<2>(), TensorView<double>(), false);
  const auto& g = aux.weight().grad;  // (C2, C0, 5, 5)
  double worst = 0;
  for (Index b = 0; b < 4; ++b)
    for (Index i2 = 0; i2 < 3; ++i2)
      for (Index j2 = 0; j2 < 3; ++j2)
        for (Index a = 0; a < 2; ++a)
          for (Index i1 = 0; i1 < 3; ++i1)
            for (Index j1 = 0; j1 < 3; ++j1)
              worst = std::max(worst, std::abs(m_ref.at((b * 3 + i2) * 3 + j2, (a * 3 + i1) * 3 + j1) -
                                               g.at(b, a, i1 + i2, j1 + j2)));
  CHECK(worst < 1e-12);
}

TEST_CASE("reference and exact matrices agree for stride-1 producers on interior signals, not with stride 2") {
  using Net = Sequential<double, Cpu, Conv2d, Relu1, Conv2d>;
  auto matrices = [](Index s1, bool interior) {
    ConvCase<Net> c(20, Shape{2, 2, 12, 12}, Conv2d{.in = 2, .out = 3, .stride = s1, .padding = 1}, Relu1{},
                    Conv2d{.in = 3, .out = 2, .padding = 1});
    if (interior)  // inputs zero within 4 pixels of the border
      for (Index i = 0; i < c.x.numel(); ++i) {
        const Index y = (i / 12) % 12, x = i % 12;
        if (y < 4 || y >= 8 || x < 4 || x >= 8) c.x[i] = 0.0;
      }
    c.refresh();
    auto exact = grow::data_from_last_backward<0, 2>(c.net).matrix().clone();
    auto reference = grow::reference_conv_gradmax_matrix<0, 2>(c.net);
    return std::pair{std::move(exact), std::move(reference)};
  };
  auto relative = [](const Tensor<double>& a, const Tensor<double>& b) {
    return (matrix(a) - matrix(b)).norm() / matrix(a).norm();
  };
  {
    const auto [exact, reference] = matrices(1, true);
    CHECK(relative(exact, reference) < 1e-12);
  }
  {
    const auto [exact, reference] = matrices(1, false);  // 'same' borders: the reference is approximate
    CHECK(relative(exact, reference) > 1e-3);
  }
  {
    const auto [exact, reference] = matrices(2, true);  // stride-2 producer: the reference's kernel is wrong
    CHECK(relative(exact, reference) > 0.1);
  }
}
