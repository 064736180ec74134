// Tests examples/custom_layer/channel_scale.hpp: a layer kind defined outside include/ (a learnable
// per-channel scale) works everywhere the library's own kinds do, with nothing in include/ naming it: it
// passes the double-precision gradient checker, counts its FLOPs, sits between a GradMax pair (dense and
// convolutional) and grows by identity with the function kept in training and evaluation mode, lets
// InverseGradMaxOpt evaluate new neurons through it (new_channels_layer), and round-trips through a
// checkpoint.
#include <doctest/doctest.h>

#include <filesystem>

#include "custom_layer/channel_scale.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/io/checkpoint.hpp"
#include "netgrow/io/kind_config.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/network/flops.hpp"
#include "support/gradcheck.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using example::ChannelScale;
using example::ChannelScaleLayer;

namespace {

// Sets every scale of layer I to a value away from 1, so growth that disturbed them would show.
template <std::size_t I, class Net>
void spread_scales(Net& net, Rng& rng) {
  auto& s = net.template layer<I>().scale().value;
  for (Index c = 0; c < s.numel(); ++c) s[c] = 0.5 + rng.uniform();
}

}  // namespace

TEST_CASE("ChannelScale passes the gradient check on dense and convolutional inputs") {
  Rng rng(1);
  ChannelScaleLayer<double, Cpu> layer(ChannelScale{.channels = 3}, rng);
  for (Index c = 0; c < 3; ++c) layer.scale().value[c] = 0.3 + 0.4 * static_cast<double>(c);
  test::check_layer_gradients(layer, Shape{5, 3}, 11, Mode::train);
  test::check_layer_gradients(layer, Shape{2, 3, 4, 5}, 12, Mode::eval);
}

TEST_CASE("ChannelScale counts its FLOPs in the network's total") {
  Rng rng(2);
  auto net = make_sequential<double, Cpu>(rng, Dense{.in = 4, .out = 6}, ChannelScale{.channels = 6}, Relu1{},
                                          Dense{.in = 6, .out = 2});
  const double dense = 2.0 * 3 * (4 * 6) + 2.0 * 3 * (6 * 2);
  CHECK(forward_flops(net, Shape{3, 4}) == dense + 3 * 6);
  CHECK(training_step_flops(net, Shape{3, 4}) == 3 * (dense + 3 * 6));
}

TEST_CASE("GradMax grows a dense pair through ChannelScale by identity, keeping the function") {
  using Net = Sequential<double, Cpu, Dense, ChannelScale, Relu1, Dense>;
  test::GrowthFixture<Net> f(3, Dense{.in = 20, .out = 5}, ChannelScale{.channels = 5}, Relu1{},
                             Dense{.in = 5, .out = 10});
  f.train(5);
  spread_scales<1>(f.net, f.rng);
  Tensor<double> eval_before = f.output(), train_before;
  train_before.copy_from(f.net.forward(f.task.x, Mode::train));
  f.refresh();
  const auto data = grow::data_from_last_backward<0, 3>(f.net);
  const auto report = grow::grow_width<0, 3>(f.net, 3, grow::GradMax{}, f.rng, data);
  CHECK(report.new_width == 8);
  CHECK(f.net.layer<1>().channels() == 8);
  for (Index c = 5; c < 8; ++c) CHECK(f.net.layer<1>().scale().value[c] == 1.0);
  CHECK(report.singular_values.front() > 0);
  CHECK(test::max_abs_diff(eval_before, f.output()) < 1e-12);
  CHECK(test::max_abs_diff(train_before, f.net.forward(f.task.x, Mode::train)) < 1e-12);
  // The new neurons' outgoing weights are GradMax's: their gradient is the largest a unit-norm choice can get.
  f.refresh();
  CHECK(test::rows_norm(f.net.layer<0>().weight().grad, 5, 3) > 0);
}

TEST_CASE("GradMax grows a convolutional pair through ChannelScale, the data following its route") {
  using Net = Sequential<double, Cpu, Conv2d, ChannelScale, Relu1, Conv2d, Flatten>;
  Rng rng(4);
  Net net(rng, Conv2d{.in = 2, .out = 3, .kernel = 3, .stride = 1, .padding = 1}, ChannelScale{.channels = 3},
          Relu1{}, Conv2d{.in = 3, .out = 2, .kernel = 3, .stride = 2, .padding = 1}, Flatten{});
  spread_scales<1>(net, rng);
  const Tensor<double> x = test::random_tensor(Shape{4, 2, 5, 5}, rng);
  Tensor<double> before, grad;
  before.copy_from(net.forward(x, Mode::train));
  grad = test::random_tensor(before.shape(), rng);
  net.backward(grad);
  const auto data = grow::data_from_last_backward<0, 3>(net);
  // ChannelScale passes a new channel unchanged: M is the same as without it (the layer's own gradient
  // path is not involved, new channels having scale 1).
  CHECK(data.matrix().shape() == Shape{2 * 3 * 3, 2 * 3 * 3});
  grow::grow_width<0, 3>(net, 2, grow::GradMax{}, rng, data);
  CHECK(net.layer<1>().channels() == 5);
  CHECK(test::max_abs_diff(before, net.forward(x, Mode::train)) < 1e-12);
}

TEST_CASE("InverseGradMaxOpt evaluates new neurons through ChannelScale (new_channels_layer)") {
  using Net = Sequential<double, Cpu, Dense, ChannelScale, Relu1, Dense>;
  test::GrowthFixture<Net> f(5, Dense{.in = 20, .out = 5}, ChannelScale{.channels = 5}, Relu1{},
                             Dense{.in = 5, .out = 10});
  f.train(3);
  spread_scales<1>(f.net, f.rng);
  const Tensor<double> before = f.output();
  f.refresh();
  const auto data = grow::data_from_last_backward<0, 3>(f.net);
  const auto report = grow::grow_width<0, 3>(f.net, 2, grow::InverseGradMaxOpt{.steps = 10}, f.rng, data);
  CHECK(report.new_width == 7);
  CHECK(test::rows_norm(f.net.layer<0>().weight().value, 5, 2) > 0);  // optimised incoming weights
  CHECK(test::max_abs_diff(before, f.output()) < 1e-12);              // zero outgoing weights keep the function
}

TEST_CASE("ChannelScale is recorded from its fields and round-trips through a checkpoint of a grown network") {
  static_assert(io::RecordedKind<ChannelScale>);
  CHECK(io::KindConfig<ChannelScale>::save(ChannelScale{.channels = 4}) == io::Json{{"channels", 4}});
  CHECK(io::KindConfig<ChannelScale>::widths.size() == 1);
  CHECK(io::fixed_settings(ChannelScale{.channels = 4}) == io::Json::object());

  using Net = Sequential<double, Cpu, Dense, ChannelScale, Relu1, Dense>;
  test::GrowthFixture<Net> f(6, Dense{.in = 20, .out = 4}, ChannelScale{.channels = 4}, Relu1{},
                             Dense{.in = 4, .out = 10});
  f.train(3);
  spread_scales<1>(f.net, f.rng);
  grow::grow_width<0, 3>(f.net, 2, grow::Random{}, f.rng);
  f.train(2);
  const Tensor<double> out = f.output();
  const auto path = std::filesystem::temp_directory_path() / "netgrow_test_custom_layer.safetensors";
  io::save_checkpoint(path, f.net);
  Rng rng(1);
  Net fresh(rng, Dense{.in = 20, .out = 4}, ChannelScale{.channels = 4}, Relu1{}, Dense{.in = 4, .out = 10});
  io::load_checkpoint(path, fresh);
  std::filesystem::remove(path);
  CHECK(fresh.layer<1>().channels() == 6);
  CHECK(test::max_abs_diff(out, fresh.forward(f.task.x, Mode::eval)) == 0.0);
}
