// Tests grow/depth.hpp: every depth-growth variant keeps the network's output in training and
// evaluation mode (with and without a BatchNorm inside the blocks, at the first, a middle and the last
// position), creates the new block's gradients and optimizer state, GradMax's new incoming gradient is
// the SVD prediction, bad requests throw before changing anything, and Net2DeeperNet identity layers
// keep plain networks' output.
#include <doctest/doctest.h>

#include <array>
#include <cmath>

#include "support/conv_growth.hpp"
#include "netgrow/blocks.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/optim/adam.hpp"
#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

// Stem conv, a Stack of two residual blocks (3 channels, inner width 2), and a head.
template <bool InnerNorm>
using ResNet = Sequential<double, Cpu, Conv2d, Stack<WideBlockKind<InnerNorm>>, BatchNorm, Relu, GlobalAvgPool, Dense>;

template <bool InnerNorm>
ConvCase<ResNet<InnerNorm>> make_resnet(std::uint64_t seed) {
  using Block = WideBlockKind<InnerNorm>;
  return ConvCase<ResNet<InnerNorm>>(
      seed, Shape{4, 2, 6, 5}, Conv2d{.in = 2, .out = 3, .padding = 1, .bias = false},
      Stack<Block>{{Block{.in = 3, .inner = 2, .out = 3}, Block{.in = 3, .inner = 2, .out = 3}}},
      BatchNorm{.channels = 3}, Relu{}, GlobalAvgPool{}, Dense{.in = 3, .out = 2});
}

double frobenius(ConstView<double, Cpu> t) {
  return std::sqrt(ops::squared_norm<double>(t));
}

// The grow batch at `index`, copied (the views die with the next forward()).
struct OwnedDepthData {
  Tensor<double> x, dx;
  grow::DepthData<double> view() const { return {x.cview(), dx.cview()}; }
};
template <class K>
OwnedDepthData copy_data(const StackLayer<K, double, Cpu>& stack, std::size_t index) {
  const auto d = grow::depth_data_from_last_backward(stack, index);
  OwnedDepthData o;
  o.x.copy_from(d.input);
  o.dx.copy_from(d.output_grad);
  return o;
}

// DepthRandom and DepthGradMax zero the branch's first convolution, DepthZero its last.
template <class Init>
constexpr bool zero_incoming = !std::same_as<Init, grow::DepthZero>;

// Trains a little, grows a block at `index` with `init`, and checks outputs (training and evaluation
// mode), the new block's zero side, its gradients and optimizer state, and that training goes on.
template <bool InnerNorm, class Init>
void check_depth_preserved(std::uint64_t seed, std::size_t index, const Init& init) {
  auto c = make_resnet<InnerNorm>(seed);
  auto& stack = c.net.template layer<1>();
  Sgd sgd(0.01, {.momentum = 0.9});
  for (int i = 0; i < 3; ++i) {  // weights, BatchNorm statistics and momentum away from their start
    c.refresh();
    sgd.step(c.net);
  }
  // Training-mode outputs do not depend on the running statistics; the evaluation-mode comparison has no
  // training-mode pass (which moves them) between its two sides.
  const Tensor<double> train_before = c.output(Mode::train);
  const double loss_before = c.refresh();
  const OwnedDepthData data = copy_data(stack, index);
  const Tensor<double> eval_before = c.output(Mode::eval);
  const auto report = grow::grow_depth(stack, index, init, c.rng, data.view());
  CHECK(report.index == index);
  CHECK(report.old_depth == 2);
  CHECK(report.new_depth == 3);
  REQUIRE(stack.size() == 3);
  CHECK(stack.kind().blocks.size() == 3);  // what a checkpoint records
  auto& block = stack.block(index);
  // The new block's BatchNorms are fresh: identity affine map, running mean 0, variance 1 (before any
  // training-mode pass moves the running statistics).
  auto check_fresh = [](auto& bn) {
    for (Index ch = 0; ch < bn.channels(); ++ch) {
      CHECK(bn.gamma().value[ch] == 1.0);
      CHECK(bn.beta().value[ch] == 0.0);
      CHECK(bn.running_mean().value[ch] == 0.0);
      CHECK(bn.running_var().value[ch] == 1.0);
    }
  };
  check_fresh(block.pre_activation().template layer<0>());
  if constexpr (InnerNorm) check_fresh(block.branch().template layer<1>());
  CHECK(max_abs_diff(eval_before, c.output(Mode::eval)) < 1e-12);
  CHECK(max_abs_diff(train_before, c.output(Mode::train)) < 1e-12);

  CHECK_FALSE(block.has_projection());
  auto& first = block.branch().template layer<0>().weight();
  auto& last = block.branch().template layer<WideBlockLayer<InnerNorm, double, Cpu>::consumer_index>().weight();
  if constexpr (zero_incoming<Init>) {
    CHECK(frobenius(first.value) == 0.0);
    CHECK(frobenius(last.value) > 0.0);
  } else {
    CHECK(frobenius(last.value) == 0.0);
    CHECK(frobenius(first.value) > 0.0);
  }
  // Gradients zero, momentum created (zero) like the neighbours'.
  block.visit_parameters([&](std::string_view name, Parameter<double, Cpu>& p) {
    INFO("parameter ", name);
    CHECK(p.grad.shape() == p.value.shape());
    CHECK(frobenius(p.grad) == 0.0);
    if (p.trainable) {
      CHECK(p.state_owner == "sgd");
      REQUIRE(p.state.size() == 1);
      CHECK(p.state[0].shape() == p.value.shape());
      CHECK(frobenius(p.state[0]) == 0.0);
    }
  });

  // The first step after growth: the loss is unchanged, the trained side has a gradient, training goes on.
  CHECK(c.refresh() == doctest::Approx(loss_before).epsilon(1e-12));
  CHECK(frobenius(zero_incoming<Init> ? first.grad : last.grad) > 0.0);
  const Tensor<double> zero_side = (zero_incoming<Init> ? first.value : last.value).clone();
  sgd.step(c.net);
  CHECK(frobenius(zero_incoming<Init> ? first.value : last.value) > 0.0);
  CHECK(max_abs_diff(zero_side, zero_incoming<Init> ? first.value : last.value) > 0.0);
  c.refresh();
  sgd.step(c.net);
  CHECK_FALSE(c.net.find_non_finite().has_value());
}

}  // namespace

TEST_CASE_TEMPLATE("residual depth growth keeps the output at the first, a middle and the last position", Init,
                   grow::DepthZero, grow::DepthRandom, grow::DepthGradMax) {
  for (std::size_t index : {0, 1, 2}) {
    INFO("index ", index, ", without inner BatchNorm");
    check_depth_preserved<false>(10 + index, index, Init{});
  }
  for (std::size_t index : {0, 1, 2}) {
    INFO("index ", index, ", with inner BatchNorm");
    check_depth_preserved<true>(20 + index, index, Init{});
  }
}

TEST_CASE("GradMax depth growth: the new incoming gradient is slope x scale x O M, of the SVD's norm") {
  auto check = [](auto inner_norm, double c_out) {
    constexpr bool InnerNorm = decltype(inner_norm)::value;
    using BlockLayer = WideBlockLayer<InnerNorm, double, Cpu>;
    constexpr std::size_t C = BlockLayer::consumer_index;
    for (std::size_t index : {0, 1, 2}) {
      INFO("inner BatchNorm ", InnerNorm, ", index ", index);
      auto c = make_resnet<InnerNorm>(40 + index);
      auto& stack = c.net.template layer<1>();
      Sgd sgd(0.01, {.momentum = 0.9});
      c.refresh();
      sgd.step(c.net);
      c.refresh();
      const auto report = grow::grow_depth(stack, index, grow::DepthGradMax{.norm = grow::NormRule::fixed(c_out)},
                                           c.rng, grow::depth_data_from_last_backward(stack, index));
      CHECK(report.slope == 1.0);  // Relu1 between the branch's convolutions
      CHECK(report.gradient_scale == doctest::Approx(InnerNorm ? 1.0 / std::sqrt(1e-5) : 1.0).epsilon(1e-12));
      REQUIRE(report.singular_values.size() == 2);  // k = the inner width

      c.refresh();  // the same batch, through the grown network
      auto& block = stack.block(index);
      // M as the grown network sees it now, from the new branch's own stored input and output gradient.
      const Tensor<double> m = grow::data_from_last_backward<0, C>(block.branch()).matrix().clone();  // (27, 27)
      const auto& w_out = block.branch().template layer<C>().weight().value;                          // (3, 2, 3, 3)
      Tensor<double> o(Shape{2, 27});
      ops::axis_to_rows<double>(w_out.cview(), 1, o.view());
      const auto& g = block.branch().template layer<0>().weight().grad;  // (2, 3, 3, 3)
      const Eigen::MatrixXd predicted = report.slope * report.gradient_scale * (matrix(o) * matrix(m));
      const Eigen::MatrixXd actual = matrix(g.cview().reshape(Shape{2, 27}));
      CHECK((actual - predicted).norm() <= 1e-9 * actual.norm());
      CHECK(actual.norm() > 0.0);
      // Direction: the outgoing rows are M's top-2 left singular vectors (up to sign) x c.
      Eigen::JacobiSVD<Eigen::MatrixXd> svd(matrix(m), Eigen::ComputeFullU);
      const auto sigma = svd.singularValues();
      CHECK(report.singular_values[0] == doctest::Approx(sigma(0)).epsilon(1e-9));
      CHECK(report.singular_values[1] == doctest::Approx(sigma(1)).epsilon(1e-9));
      for (Index j = 0; j < 2; ++j) {
        CHECK(matrix(o).row(j).norm() == doctest::Approx(c_out).epsilon(1e-12));
        CHECK(std::abs(matrix(o).row(j).dot(svd.matrixU().col(j))) == doctest::Approx(c_out).epsilon(1e-9));
      }
      const double expected = std::abs(report.slope) * report.gradient_scale * c_out * std::hypot(sigma(0), sigma(1));
      CHECK(actual.norm() == doctest::Approx(expected).epsilon(1e-9));
    }
  };
  check(std::false_type{}, 0.7);
  check(std::true_type{}, 0.05);
}

TEST_CASE("GradMax depth growth in evaluation mode and with the reference's BatchNorm rule keeps the output") {
  auto c = make_resnet<true>(50);
  auto& stack = c.net.layer<1>();
  const Tensor<double> train_before = c.output(Mode::train);
  c.refresh(Mode::eval);
  const OwnedDepthData data = copy_data(stack, 1);
  const Tensor<double> eval_before = c.output(Mode::eval);
  const auto report = grow::grow_depth(stack, 1, grow::DepthGradMax{.mode = Mode::eval}, c.rng, data.view());
  CHECK(report.gradient_scale == doctest::Approx(1.0 / std::sqrt(1.0 + 1e-5)).epsilon(1e-12));
  CHECK(max_abs_diff(eval_before, c.output(Mode::eval)) < 1e-12);
  const auto ignored =
      grow::grow_depth(stack, 3, grow::DepthGradMax{.pair_data = {.batch_norm = grow::BatchNormJacobian::ignore}},
                       c.rng, (c.refresh(), grow::depth_data_from_last_backward(stack, 3)));
  CHECK(ignored.gradient_scale == 1.0);
  CHECK(stack.size() == 4);
  CHECK(max_abs_diff(train_before, c.output(Mode::train)) < 1e-12);
}

TEST_CASE("depth growth creates Adam's state for the new block and keeps the function of a Wide-ResNet") {
  Rng rng(60);
  models::WideResNet<double, Cpu, true> wrn({.depth = 10, .block_width = 0.25, .classes = 3}, rng);
  auto& net = wrn.net();
  const Tensor<double> x = random_tensor(Shape{2, 3, 8, 8}, rng);
  const Tensor<double> target = random_tensor(Shape{2, 3}, rng);
  Tensor<double> grad;
  Adam adam(1e-3);
  auto refresh = [&] {
    const auto pred = net.forward(x);
    grad.resize(pred.shape());
    const double loss = MseLoss{}(pred, target, grad);
    net.backward(grad);
    return loss;
  };
  refresh();
  adam.step(net);
  const double loss = refresh();
  auto& group = net.layer<2>();  // one block, 16 -> 32 channels at stride 2: insert after it (position 1)
  const auto kind = grow::depth_block_kind(group, 1);
  CHECK(kind.in == 32);
  CHECK(kind.out == 32);
  CHECK(kind.stride == 1);
  CHECK(kind.inner == group.block(0).inner_channels());
  grow::grow_depth(group, 1, kind, grow::DepthGradMax{}, rng, grow::depth_data_from_last_backward(group, 1));
  CHECK(group.size() == 2);
  group.block(1).visit_parameters([](std::string_view name, Parameter<double, Cpu>& p) {
    INFO(name);
    if (p.trainable) {
      CHECK(p.state_owner == "adam");
      CHECK(p.state.size() == 2);
    }
  });
  CHECK(refresh() == doctest::Approx(loss).epsilon(1e-12));
  adam.step(net);
  CHECK_FALSE(net.find_non_finite().has_value());
}

TEST_CASE("a Stack exposes every insertion point's input and gradient, as the flat network stores them") {
  Rng rng(65), same(65);
  auto flat = make_sequential<double, Cpu>(rng, Dense{4, 5}, Dense{5, 5}, Dense{5, 3});
  auto stacked = make_sequential<double, Cpu>(same, Stack<Dense>{{Dense{4, 5}, Dense{5, 5}, Dense{5, 3}}});
  const Tensor<double> x = random_tensor(Shape{3, 4}, rng), g = random_tensor(Shape{3, 3}, rng);
  flat.forward(x);
  stacked.forward(x);
  flat.backward(g, {.input_grad = true});
  stacked.backward(g, {.input_grad = true});
  const auto& stack = stacked.layer<0>();
  const std::array<ConstView<double, Cpu>, 4> inputs{x.cview(), flat.output<0>(), flat.output<1>(), flat.output<2>()};
  const std::array<ConstView<double, Cpu>, 4> grads{flat.input_grad(), flat.output_grad<0>(), flat.output_grad<1>(),
                                                    g.cview()};
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("position ", i);
    const auto d = grow::depth_data_from_last_backward(stack, i);
    CHECK(max_abs_diff(d.input, inputs[i]) < 1e-15);
    CHECK(max_abs_diff(d.output_grad, grads[i]) < 1e-15);
  }
}

TEST_CASE("the insertion point's gradient at a stack's input needs input_grad when the stack comes first") {
  using Net = Sequential<double, Cpu, Stack<WideBlock>, GlobalAvgPool, Dense>;
  ConvCase<Net> c(70, Shape{2, 3, 5, 5}, Stack<WideBlock>{{WideBlock{.in = 3, .inner = 2, .out = 3}}}, GlobalAvgPool{},
                  Dense{.in = 3, .out = 2});
  auto& stack = c.net.layer<0>();
  CHECK_THROWS_WITH_AS(grow::depth_data_from_last_backward(stack, 0), doctest::Contains("run forward() first"),
                       StateError);
  c.refresh();
  CHECK_THROWS_WITH_AS(grow::depth_data_from_last_backward(stack, 0), doctest::Contains("input_grad = true"),
                       StateError);
  CHECK_NOTHROW(grow::depth_data_from_last_backward(stack, 1));
  const Tensor<double> before = c.output(Mode::train);
  const auto pred = c.net.forward(c.x);
  c.grad.resize(pred.shape());
  MseLoss{}(pred, c.target, c.grad);
  c.net.backward(c.grad, {.input_grad = true});
  grow::grow_depth(stack, 0, grow::DepthGradMax{}, c.rng, grow::depth_data_from_last_backward(stack, 0));
  CHECK(max_abs_diff(before, c.output(Mode::train)) < 1e-12);
  // An insert() discards the stored activations: the old insertion points no longer line up.
  CHECK_THROWS_AS(grow::depth_data_from_last_backward(stack, 1), StateError);
}

TEST_CASE("bad depth-growth requests throw before changing the stack") {
  auto c = make_resnet<false>(80);
  auto& stack = c.net.layer<1>();
  c.refresh();
  const auto data = grow::depth_data_from_last_backward(stack, 1);
  CHECK_THROWS_WITH_AS(grow::grow_depth(stack, 3, grow::DepthZero{}, c.rng), doctest::Contains("insertion position 3"),
                       Error);
  CHECK_THROWS_WITH_AS(grow::depth_data_from_last_backward(stack, 5), doctest::Contains("valid positions: 0 to 2"),
                       Error);
  CHECK_THROWS_AS(grow::depth_block_kind(stack, 4), Error);
  CHECK_THROWS_WITH_AS(grow::grow_depth(stack, 1, WideBlock{.in = 3, .inner = 2, .out = 4}, grow::DepthZero{}, c.rng),
                       doctest::Contains("must map the 3 channels"), ShapeError);
  CHECK_THROWS_WITH_AS(
      grow::grow_depth(stack, 1, WideBlock{.in = 3, .inner = 2, .out = 3, .stride = 2}, grow::DepthRandom{}, c.rng),
      doctest::Contains("stride 1"), ShapeError);
  CHECK_THROWS_WITH_AS(grow::grow_depth(stack, 1, grow::DepthGradMax{}, c.rng), doctest::Contains("grow batch"), Error);
  CHECK(stack.size() == 2);
  // The stored activations are intact: a valid growth still works.
  grow::grow_depth(stack, 1, grow::DepthGradMax{}, c.rng, data);
  CHECK(stack.size() == 3);
  CHECK(stack.block(1).inner_channels() == 2);
}

TEST_CASE("stacks of plain Dense or Conv2d layers grow by identity layers at any position") {
  {
    using Net = Sequential<double, Cpu, Stack<Dense>, Relu, Dense>;
    Rng rng(90);
    Net net(rng, Stack<Dense>{{Dense{4, 5}, Dense{5, 3}}}, Relu{}, Dense{3, 2});
    const Tensor<double> x = random_tensor(Shape{6, 4}, rng);
    Tensor<double> before;
    before.copy_from(net.forward(x));
    auto& stack = net.layer<0>();
    for (std::size_t index : {0, 2, 4, 5}) {
      INFO("index ", index);
      grow::grow_depth(stack, index, grow::DepthIdentity{}, rng);
      CHECK(max_abs_diff(before, net.forward(x)) < 1e-14);
    }
    CHECK(stack.describe() ==
          "Stack[6](Dense(4 -> 4), Dense(4 -> 5), Dense(5 -> 5), Dense(5 -> 3), Dense(3 -> 3), Dense(3 -> 3))");
  }
  {
    using Net = Sequential<double, Cpu, Stack<Conv2d>, GlobalAvgPool, Dense>;
    Rng rng(91);
    Net net(
        rng,
        Stack<Conv2d>{{Conv2d{.in = 2, .out = 3, .kernel = 5, .padding = 2}, Conv2d{.in = 3, .out = 3, .stride = 2}}},
        GlobalAvgPool{}, Dense{3, 2});
    const Tensor<double> x = random_tensor(Shape{2, 2, 7, 7}, rng);
    Tensor<double> before;
    before.copy_from(net.forward(x));
    auto& stack = net.layer<0>();
    grow::grow_depth(stack, 1, grow::DepthIdentity{}, rng);
    grow::grow_depth(stack, 3, grow::DepthIdentity{}, rng);
    CHECK(stack.block(1).kernel() == 5);  // modelled on its neighbour, 'same' padding, stride 1
    CHECK(stack.block(3).stride() == 1);
    CHECK(max_abs_diff(before, net.forward(x)) < 1e-13);
  }
}

TEST_CASE("Net2DeeperNet: an identity layer after Relu / Relu1 keeps a Sequential's output, state moves over") {
  SUBCASE("Dense, Relu1, Dense") {
    Rng rng(100);
    auto net = make_sequential<double, Cpu>(rng, Dense{4, 6}, Relu1{}, Dense{6, 3});
    const Tensor<double> x = random_tensor(Shape{5, 4}, rng), target = random_tensor(Shape{5, 3}, rng);
    Sgd sgd(0.05, {.momentum = 0.9});
    Tensor<double> grad;
    auto step = [&](auto& n) {
      const auto pred = n.forward(x);
      grad.resize(pred.shape());
      const double loss = MseLoss{}(pred, target, grad);
      n.backward(grad);
      sgd.step(n);
      return loss;
    };
    step(net);
    step(net);
    Tensor<double> before, momentum;
    before.copy_from(net.forward(x));
    momentum.copy_from(net.layer<2>().weight().state[0].cview());
    auto deeper = grow::insert_identity_layer<1>(std::move(net));
    static_assert(std::same_as<decltype(deeper), Sequential<double, Cpu, Dense, Relu1, Dense, Relu1, Dense>>);
    CHECK(max_abs_diff(before, deeper.forward(x)) < 1e-14);
    CHECK(deeper.layer<2>().in_features() == 6);
    CHECK(max_abs_diff(momentum, deeper.layer<4>().weight().state[0]) == 0.0);
    CHECK(deeper.layer<2>().weight().state_owner == "sgd");
    CHECK(frobenius(deeper.layer<2>().weight().state[0]) == 0.0);
    step(deeper);
    CHECK_FALSE(deeper.find_non_finite().has_value());
  }
  SUBCASE("Conv2d, BatchNorm, Relu, GlobalAvgPool, Dense: an identity convolution, training and evaluation mode") {
    using Net = Sequential<double, Cpu, Conv2d, BatchNorm, Relu, GlobalAvgPool, Dense>;
    ConvCase<Net> c(101, Shape{3, 2, 5, 5}, Conv2d{.in = 2, .out = 4, .padding = 1}, BatchNorm{.channels = 4}, Relu{},
                    GlobalAvgPool{}, Dense{4, 2});
    c.refresh();
    const Tensor<double> train = c.output(Mode::train), eval = c.output(Mode::eval);
    auto deeper = grow::insert_identity_layer<2>(std::move(c.net));
    static_assert(std::same_as<decltype(deeper),
                               Sequential<double, Cpu, Conv2d, BatchNorm, Relu, Conv2d, Relu, GlobalAvgPool, Dense>>);
    CHECK(deeper.layer<3>().describe() == "Conv2d(4 -> 4, 3x3, stride 1, padding 1)");
    Tensor<double> after;
    after.copy_from(deeper.forward(c.x, Mode::eval));
    CHECK(max_abs_diff(eval, after) < 1e-14);
    after.copy_from(deeper.forward(c.x, Mode::train));
    CHECK(max_abs_diff(train, after) < 1e-14);
  }
  SUBCASE("after the last layer") {
    Rng rng(102);
    auto net = make_sequential<double, Cpu>(rng, Dense{3, 4}, Relu{});
    const Tensor<double> x = random_tensor(Shape{4, 3}, rng);
    Tensor<double> before;
    before.copy_from(net.forward(x));
    auto deeper = grow::insert_identity_layer<1>(std::move(net));
    static_assert(decltype(deeper)::size == 4);
    CHECK(max_abs_diff(before, deeper.forward(x)) < 1e-14);
  }
  static_assert(grow::idempotent_activation<Relu> && grow::idempotent_activation<Relu1> &&
                grow::idempotent_activation<Identity>);
  static_assert(!grow::idempotent_activation<Tanh> && !grow::idempotent_activation<Gelu> &&
                !grow::idempotent_activation<LeakyRelu>);
}
