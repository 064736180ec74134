// Tests Dropout's state in checkpoints: the mask stream and the count of masks drawn are recorded with the
// layer's settings (FieldRole::state), so a run with dropout and a GradMax growth, saved and loaded into a
// network built from another generator, continues bit for bit; a checkpoint with another p is refused.
#include <doctest/doctest.h>

#include "netgrow/io/checkpoint.hpp"

#include <vector>

#include "io/io_support.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/layers/dropout.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/optim/adam.hpp"

using namespace netgrow;

namespace {

using Net = Sequential<float, Cpu, Dense, Relu1, Dropout, Dense>;

Net build(std::uint64_t seed, double p = 0.25) {
  Rng rng(seed);
  return Net(rng, Dense{.in = 6, .out = 5}, Relu1{}, Dropout{.p = p}, Dense{.in = 5, .out = 3});
}

// Trains `net` from step `from` to `to` on fixed data (a GradMax growth after step 3); returns the losses.
std::vector<double> train(Net& net, Adam& adam, int from, int to) {
  Rng data_rng(1);
  const Tensor<float> x = test::normal_tensor<float>(Shape{16, 6}, data_rng);
  const Tensor<std::int32_t> y = test::cyclic_labels(16, 3);
  Tensor<float> grad;
  std::vector<double> losses;
  Rng grow_rng(9);
  for (int step = from; step < to; ++step) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    losses.push_back(SoftmaxCrossEntropy{}(logits, y, grad).loss);
    net.backward(grad);
    adam.step(net);
    if (step == 3) {
      net.forward(x);
      net.backward(grad);
      grow::grow_width<0, 3>(net, 2, grow::GradMax{}, grow_rng, grow::data_from_last_backward<0, 3>(net));
    }
  }
  return losses;
}

}  // namespace

TEST_CASE("a run with Dropout and growth resumes from a checkpoint bit for bit (mask stream and count restored)") {
  Net straight = build(100);
  Adam straight_adam(0.01);
  const std::vector<double> all = train(straight, straight_adam, 0, 10);

  for (const int stop : {2, 4, 7}) {
    CAPTURE(stop);
    test::TempDir dir;
    Net first = build(100);
    Adam first_adam(0.01);
    std::vector<double> losses = train(first, first_adam, 0, stop);
    io::TrainingState state;
    state.optimizer(first_adam);
    io::save_checkpoint(dir / "run.safetensors", first, state);

    Net second = build(555);  // another stream drawn, seed width
    Adam second_adam(0.01);
    io::TrainingState second_state;
    second_state.optimizer(second_adam);
    io::load_checkpoint(dir / "run.safetensors", second, second_state);
    CHECK(second.layer<2>().kind().seed == first.layer<2>().kind().seed);
    CHECK(second.layer<2>().kind().draws == first.layer<2>().kind().draws);
    const std::vector<double> rest = train(second, second_adam, stop, 10);
    losses.insert(losses.end(), rest.begin(), rest.end());
    CHECK(losses == all);
  }

  test::TempDir dir;
  io::save_checkpoint(dir / "p.safetensors", straight);
  Net other_p = build(100, 0.5);
  CHECK_THROWS_AS(io::load_checkpoint(dir / "p.safetensors", other_p), ArchitectureError);
}
