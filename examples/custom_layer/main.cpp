// examples/custom_layer: a layer kind of your own (channel_scale.hpp, a learnable per-channel scale)
// used everywhere netgrow's own kinds are, without any change to the library:
//   1. it trains inside a Sequential, between the two layers of a GradMax pair;
//   2. it counts its FLOPs in forward_flops / training_step_flops;
//   3. the pair grows with GradMax through it (identity growth: new channels get scale 1), and the
//      network computes what it did before (in double, to rounding: the wider GEMM sums in another order);
//   4. a checkpoint of the grown network, its settings recorded from ChannelScale::fields(), loads into
//      a network built at the seed width, which then gives the same outputs bit for bit.
// Exit status 0 when all of it holds.
#include <cstdio>
#include <filesystem>

#include "channel_scale.hpp"
#include "netgrow/netgrow.hpp"
#include "netgrow/io/checkpoint.hpp"

using namespace netgrow;
using example::ChannelScale;
using Net = Sequential<double, Cpu, Dense, ChannelScale, Relu1, Dense>;

int main() try {
  Rng rng(7);
  auto task = make_teacher_student<double>({.in = 20, .hidden = 10, .out = 10, .samples = 256}, rng);
  auto build = [&](Rng& r) {
    return Net(r, Dense{.in = 20, .out = 6}, ChannelScale{.channels = 6}, Relu1{}, Dense{.in = 6, .out = 10});
  };
  Net net = build(rng);
  Sgd sgd(0.05, {.momentum = 0.9});
  Tensor<double> grad;
  auto step = [&](bool update) {
    const auto pred = net.forward(task.x);
    grad.resize(pred.shape());
    const double loss = MseLoss{}(pred, task.y, grad);
    net.backward(grad);
    if (update) sgd.step(net);
    return loss;
  };
  const double first = step(true);
  for (int i = 0; i < 200; ++i) step(true);
  const double trained = step(false);
  std::printf("1. trained 200 steps: loss %.4f -> %.4f; the scales moved from 1 to %.4f .. %.4f\n", first, trained,
              net.layer<1>().scale().value.span().front(), net.layer<1>().scale().value.span().back());

  const Shape batch{1, 20};
  const double flops_before = forward_flops(net, batch);

  Tensor<double> before;
  before.copy_from(net.forward(task.x, Mode::eval));
  step(false);  // the grow batch: h and dL/dz of the pair (0, 3)
  const auto data = grow::data_from_last_backward<0, 3>(net);
  const auto report = grow::grow_width<0, 3>(net, 4, grow::GradMax{}, rng, data);
  const auto after = net.forward(task.x, Mode::eval);
  const double change = (matrix(after) - matrix(before)).cwiseAbs().maxCoeff();
  std::printf("2. FLOPs of one sample: %.0f before growth, %.0f after (ChannelScale counts one per element)\n",
              flops_before, forward_flops(net, batch));
  std::printf("3. GradMax through ChannelScale: width %ld -> %ld, top singular value %.4g, output change %.3g\n",
              static_cast<long>(report.old_width), static_cast<long>(report.new_width),
              report.singular_values.empty() ? 0.0 : report.singular_values[0], change);

  const auto path = std::filesystem::temp_directory_path() / "netgrow_custom_layer.safetensors";
  io::save_checkpoint(path, net);
  Rng seed_rng(99);
  Net fresh = build(seed_rng);  // at the seed width
  io::load_checkpoint(path, fresh);
  std::filesystem::remove(path);
  const auto reloaded = fresh.forward(task.x, Mode::eval);
  const double reload_change = (matrix(reloaded) - matrix(after)).cwiseAbs().maxCoeff();
  std::printf("4. checkpoint round trip into a seed-width network: %s, output change %.3g\n",
              fresh.layer<1>().describe().c_str(), reload_change);

  const bool ok = change < 1e-12 && reload_change == 0 && forward_flops(net, batch) > flops_before &&
                  fresh.layer<1>().channels() == 10;
  std::printf("custom_layer: %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "custom_layer: %s\n", e.what());
  return 1;
}
