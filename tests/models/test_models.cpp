// Tests models/: every builder runs forward and backward on small inputs, lists its growth sites,
// plans growth from its seed width to its target width, and grows (Random and GradMax) without
// changing the network's output, in training and evaluation mode; the character transformer's sites
// measure token activations and grow every way it grows.
#include <doctest/doctest.h>

#include "netgrow/grow.hpp"
#include "netgrow/models/char_transformer.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/mobilenet_v1.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/models/vgg11.hpp"
#include "netgrow/models/vit.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/network/loss.hpp"
#include "support/gradcheck.hpp"
#include "support/growth.hpp"

using namespace netgrow;

namespace {

// Grows `seed` to the widths of `target` in two growths (Random, then GradMax with the exact
// BatchNorm Jacobian), checking the output each time; returns the plan.
template <class Model>
models::GrowthPlan check_growth(Model& seed, Model& target, Shape input, Index classes, std::uint64_t s) {
  Rng rng(s);
  Tensor<double> x = test::random_tensor(input, rng);
  Tensor<std::int32_t> labels(Shape{input[0]});
  for (Index i = 0; i < input[0]; ++i) labels[i] = static_cast<std::int32_t>(i % classes);
  auto& net = seed.net();
  Tensor<double> grad;
  auto refresh = [&] {
    const auto logits = net.forward(x, Mode::train);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, labels, grad);
    net.backward(grad);
  };
  refresh();
  CHECK(net.forward(x).shape() == Shape{input[0], classes});

  const models::GrowthPlan plan = models::plan_growth(seed, target, 2);
  CHECK(plan.sites() >= 1);
  Tensor<double> train_before, eval_before, after;

  // Growth 0: Random (no data): the output is kept in training and evaluation mode.
  train_before.copy_from(net.forward(x, Mode::train));
  eval_before.copy_from(net.forward(x, Mode::eval));
  models::grow_all_sites(seed, plan, 0, grow::Random{}, rng);
  after.copy_from(net.forward(x, Mode::eval));
  CHECK(test::max_abs_diff(eval_before, after) < 1e-10);
  after.copy_from(net.forward(x, Mode::train));
  CHECK(test::max_abs_diff(train_before, after) < 1e-10);

  // Growth 1: GradMax on the batch (refresh runs training-mode passes, so compare in training mode).
  train_before.copy_from(net.forward(x, Mode::train));
  const auto reports = models::grow_all_sites(seed, plan, 1, grow::GradMax{}, rng, refresh);
  after.copy_from(net.forward(x, Mode::train));
  CHECK(test::max_abs_diff(train_before, after) < 1e-10);
  for (const auto& r : reports) {
    INFO("pair ", r.producer, " -> ", r.consumer);
    CHECK(!r.singular_values.empty());
  }

  std::size_t i = 0;
  seed.for_each_site([&](auto& site) {
    INFO("site ", site.name);
    CHECK(site.width() == plan.target[i++]);
  });
  refresh();  // still trains after growth
  CHECK(!net.find_non_finite().has_value());
  return plan;
}

}  // namespace

TEST_CASE("Mlp: two sites, grows to the target widths") {
  Rng a(1), b(1);
  models::Mlp<double, Cpu> seed({.in = 12, .hidden1 = 16, .hidden2 = 8, .out = 3, .width_multiplier = 0.25}, a);
  models::Mlp<double, Cpu> target({.in = 12, .hidden1 = 16, .hidden2 = 8, .out = 3}, b);
  const auto plan = check_growth(seed, target, Shape{6, 12}, 3, 1);
  CHECK(plan.names == std::vector<std::string>{"fc1", "fc2"});
  CHECK(plan.seed == std::vector<Index>{4, 2});
  CHECK(plan.target == std::vector<Index>{16, 8});
}

TEST_CASE("SmallCnn for 28x28 inputs, with and without BatchNorm") {
  const models::SmallCnnConfig small{.c1 = 8, .c2 = 8, .fc = 16, .classes = 4, .width_multiplier = 0.25};
  models::SmallCnnConfig big = small;
  big.width_multiplier = 1;
  {
    Rng a(2), b(2);
    models::SmallCnn<double, Cpu> seed(small, a), target(big, b);
    const auto plan = check_growth(seed, target, Shape{3, 1, 28, 28}, 4, 2);
    CHECK(plan.names == std::vector<std::string>{"conv1", "conv2", "fc1"});
    CHECK(plan.seed == std::vector<Index>{2, 2, 4});
  }
  {
    Rng a(3), b(3);
    models::SmallCnn<double, Cpu, true> seed(small, a), target(big, b);
    check_growth(seed, target, Shape{3, 1, 28, 28}, 4, 3);
  }
}

TEST_CASE("WideResNet-10: inner block widths grow from a quarter to full width") {
  const models::WideResNetConfig small{.depth = 10, .width_multiplier = 0.5, .block_width = 0.25, .classes = 3};
  models::WideResNetConfig big = small;
  big.block_width = 1;
  Rng a(4), b(4);
  models::WideResNet<double, Cpu> seed(small, a), target(big, b);
  const auto plan = check_growth(seed, target, Shape{2, 3, 8, 8}, 3, 4);
  CHECK(plan.names == std::vector<std::string>{"group1.block0", "group2.block0", "group3.block0"});
  CHECK(plan.seed == std::vector<Index>{2, 4, 8});
  CHECK(plan.target == std::vector<Index>{8, 16, 32});
  {
    Rng c(5), d(5);
    models::WideResNet<double, Cpu, true> seed_bn(small, c), target_bn(big, d);
    check_growth(seed_bn, target_bn, Shape{2, 3, 8, 8}, 3, 5);
  }
  Rng e(6);
  models::WideResNet<float, Cpu> wrn28({.depth = 28, .block_width = 0.25}, e);
  std::size_t sites = 0;
  wrn28.for_each_site([&](auto&) { ++sites; });
  CHECK(sites == 12);
  CHECK(wrn28.net().layer<1>().size() == 4);
  using Wrn = models::WideResNet<float, Cpu>;
  CHECK_THROWS_AS(Wrn({.depth = 27}, e), Error);
}

TEST_CASE("Vgg11 as in the reference: stride-2 downsampling, convolutional classifier, 8 sites") {
  Rng a(7), b(7);
  models::Vgg11<double, Cpu> seed({.width_multiplier = 1.0 / 32, .classes = 5}, a);
  models::Vgg11<double, Cpu> target({.width_multiplier = 1.0 / 16, .classes = 5}, b);
  const auto plan = check_growth(seed, target, Shape{2, 3, 32, 32}, 5, 7);
  CHECK(plan.sites() == 8);
  CHECK(plan.seed == std::vector<Index>{2, 4, 8, 8, 16, 16, 16, 16});
  CHECK(seed.net().output_shape(Shape{1, 3, 32, 32}) == Shape{1, 5});
}

TEST_CASE("MobileNetV1: depthwise convolutions between pointwise pairs, 13 sites, last width fixed") {
  // Narrower seeds can start dead: a 1-channel stem followed by Relu1 may output only zeros.
  const models::MobileNetV1Config small{.width_multiplier = 1.0 / 8, .classes = 4, .last_width = 16};
  models::MobileNetV1Config big = small;
  big.width_multiplier = 1.0 / 4;
  Rng a(8), b(8);
  models::MobileNetV1<double, Cpu> seed(small, a), target(big, b);
  const auto plan = check_growth(seed, target, Shape{2, 3, 32, 32}, 4, 8);
  CHECK(plan.sites() == 13);
  CHECK(plan.names.front() == "conv0");
  CHECK(plan.names.back() == "pw12");
  CHECK(plan.seed == std::vector<Index>{4, 8, 16, 16, 32, 32, 64, 64, 64, 64, 64, 64, 128});
  CHECK(seed.net().output_shape(Shape{1, 3, 32, 32}) == Shape{1, 4});
  Rng c(9), d(9);
  models::MobileNetV1<double, Cpu, true> seed_bn(small, c), target_bn(big, d);
  check_growth(seed_bn, target_bn, Shape{2, 3, 32, 32}, 4, 9);
}

TEST_CASE("CharTransformer: one MLP site per block; measure reads token rows; every growth keeps the logits") {
  Rng rng(21);
  models::CharTransformer<double> model({.vocabulary = 11, .context = 6, .dim = 8, .layers = 2, .heads = 2,
                                         .head_dim = 4, .mlp = 12},
                                        rng);
  auto& net = model.net();
  Tensor<double> x(Shape{3, 6});
  Tensor<std::int32_t> y(Shape{3, 6});
  for (Index i = 0; i < x.numel(); ++i) {
    x[i] = static_cast<double>((i * 7) % 11);
    y[i] = static_cast<std::int32_t>((i * 5 + 1) % 11);
  }
  Tensor<double> grad;
  auto refresh = [&] {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SequenceCrossEntropy{}(logits, y, grad);
    net.backward(grad);
  };
  std::vector<std::string> names;
  std::vector<grow::SiteMeasure> measures;
  model.for_each_site([&](auto& site) {
    names.push_back(site.name);
    measures.push_back(site.measure(4, refresh));
  });
  CHECK(names == std::vector<std::string>{"block0.mlp", "block1.mlp"});
  REQUIRE(measures[0].gradient_singular_values.size() == 4);
  CHECK(measures[0].gradient_singular_values[0] > 0);
  CHECK(measures[0].activation_singular_values.size() == 12);
  CHECK(measures[0].width == 12);
  // One neuron: fc1 (d inputs) and fc2 (d outputs) at each of T tokens.
  CHECK(measures[0].flops_per_neuron == 2.0 * 8 * 6 + 2.0 * 8 * 6);
  CHECK(measures[0].parameters_per_neuron == 8 + 1 + 8);
  const double flops = forward_flops(net, Shape{1, 6});

  const Tensor<double> before = [&] {
    Tensor<double> t;
    t.copy_from(net.forward(x, Mode::eval));
    return t;
  }();
  auto check_same = [&] {
    Tensor<double> t;
    t.copy_from(net.forward(x, Mode::eval));
    CHECK(test::max_abs_diff(t.cview(), before.cview()) < 1e-12);
  };
  model.for_each_site([&](auto& site) { site.grow(1, grow::GradMax{}, rng, refresh); });
  CHECK(forward_flops(net, Shape{1, 6}) == doctest::Approx(flops + 2 * measures[0].flops_per_neuron));
  check_same();
  refresh();
  grow::grow_heads(model.blocks().block(0).attention(), 1, grow::HeadsGradMax{}, rng,
                   grow::head_data_from_last_backward(model.blocks().block(0)));
  check_same();
  grow::expand_depth(model.blocks(), 3);
  check_same();
  model.expand_width(16, rng);
  check_same();
  model.grow_context(9, rng);
  check_same();
  CHECK(model.dim() == 16);
  CHECK(model.depth() == 3);
  CHECK(model.context() == 9);
  CHECK(net.forward(Tensor<double>(Shape{2, 9})).shape() == Shape{2, 9, 11});
}

TEST_CASE("Vit on 28x28 images: 16 patch tokens and a class token; LEMON and MSG width growth keep the logits; bad "
          "sizes are refused") {
  Rng rng(23);
  models::Vit<double> model({.dim = 8, .layers = 2, .heads = 2, .head_dim = 4, .mlp = 12}, rng);
  CHECK(model.context() == 17);
  Tensor<double> x = test::random_tensor(Shape{3, 1, 28, 28}, rng);
  Tensor<double> before;
  before.copy_from(model.net().forward(x, Mode::eval));
  CHECK(before.shape() == Shape{3, 10});
  std::vector<std::string> names;
  model.for_each_site([&](auto& site) { names.push_back(site.name); });
  CHECK(names == std::vector<std::string>{"block0.mlp", "block1.mlp"});
  model.expand_width(12, rng);
  CHECK(test::max_abs_diff(model.net().forward(x, Mode::eval), before.cview()) < 1e-12);
  model.expand_width(16, rng, grow::Msg{.fade_steps = 3});
  CHECK(test::max_abs_diff(model.net().forward(x, Mode::eval), before.cview()) < 1e-12);
  CHECK(model.dim() == 16);
  CHECK(grow::fading(model.net()));
  CHECK_THROWS_AS(models::Vit<double>({.patch = 5}, rng), ArgumentError);
}
