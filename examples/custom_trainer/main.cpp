// examples/custom_trainer: your own training loop around netgrow, with GradMax growth done by hand.
//
// An MLP learns Fashion-MNIST (10000 training images) in a plain loop: forward, loss, backward, step.
// Then the loop forms GradMax's matrix M = E[dL/dz h^T] itself for the pair Dense(1) -> Relu1 ->
// Dense(3) from one batch's stored activations h and gradients dL/dz, prints its top singular values,
// and grows the hidden layer by k neurons through grow::grow_pair with an initializer written here:
// incoming weights zero (the function is kept), outgoing weights M's top-k left singular vectors. The
// initializer declares only the traits it needs (grow/initializer.hpp gives the others their defaults).
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "netgrow/netgrow.hpp"

using namespace netgrow;
using Net = Sequential<float, Cpu, Flatten, Dense, Relu1, Dense, Relu1, Dense>;

// New neurons with zero incoming weights and the given outgoing directions, scaled to the mean norm
// of the existing neurons' outgoing weights.
struct GivenDirections {
  static constexpr bool needs_zero_at_zero = true;   // zero incoming weights: f(0) = 0 keeps the function
  static constexpr bool needs_nonzero_slope = true;  // f'(0) != 0 lets the new neurons learn
  Eigen::MatrixXf directions;                        // (k, fan_out), unit rows
  grow::NewNeurons<float> initialize(const grow::PairView<float>& pair, Index k, const grow::GrowthData<float>&,
                                     Rng&) const {
    grow::NewNeurons<float> n;
    n.incoming = Tensor<float>(Shape{k, pair.fan_in()});  // zeros
    n.outgoing = Tensor<float>(Shape{k, pair.fan_out()});
    matrix(n.outgoing) = directions * static_cast<float>(pair.mean_outgoing_norm);
    return n;
  }
};

int main() try {
  const FashionMnist data = load_fashion_mnist({.max_train = 10000, .max_test = 2000});
  Rng rng(1);
  Net net(rng, Flatten{}, Dense{.in = 784, .out = 32}, Relu1{}, Dense{.in = 32, .out = 16}, Relu1{},
          Dense{.in = 16, .out = 10});
  Sgd sgd(0.05, {.momentum = 0.9});
  Tensor<float> x, grad;
  Tensor<std::int32_t> y;
  // Forward, loss and backward on the given samples; an optimizer step when `update`. Returns the loss.
  auto run = [&](const LabeledImages& set, std::span<const Index> rows, bool update) {
    gather_rows(set.images, rows, x);
    gather_rows(set.labels, rows, y);
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    net.backward(grad);
    if (update) sgd.step(net);
    return loss;
  };
  std::vector<Index> test_rows(static_cast<std::size_t>(data.test.size()));
  std::iota(test_rows.begin(), test_rows.end(), Index{0});
  BatchSampler batches(data.train.size(), 128, Rng(2));
  auto train = [&](int steps) {
    double recent = 0;  // mean loss of the last 50 steps
    for (int s = 0; s < steps; ++s) {
      const double loss = run(data.train, batches.next(), true);
      if (s >= steps - 50) recent += loss / 50;
    }
    std::printf("  %d steps: training loss %.4f (last 50 steps), test loss %.4f, parameters %td\n", steps, recent,
                run(data.test, test_rows, false), net.parameter_count());
  };

  std::printf("custom_trainer: MLP 784-32-16-10 on %td Fashion-MNIST images\n", data.train.size());
  train(300);

  // GradMax by hand, on a grow batch of 1000 training images (forward and backward, no update).
  BatchSampler grow_batches(data.train.size(), 1000, Rng(3));
  const auto grow_rows = grow_batches.next();
  const double loss_before = run(data.train, grow_rows, false);
  const ConstView<float> h = net.output<0>();        // (N, 784): the input of layer 1
  const ConstView<float> dz = net.output_grad<3>();  // (N, 16): dL/dz of layer 3 (carries the 1/N of the mean)
  Tensor<float> m(Shape{16, 784});
  matrix(m) = matrix(dz).transpose() * matrix(h);  // (16, 784) = E[dL/dz h^T]
  const Index k = 8;
  const auto svd = ops::svd_topk<float>(m, k, {.method = ops::SvdMethod::exact});  // u (16, k), sigma (k)
  std::printf("top singular values of M (16 x 784):");
  for (Index i = 0; i < k; ++i) std::printf(" %.4g", svd.sigma[static_cast<std::size_t>(i)]);
  std::printf("\n");

  const GivenDirections init{.directions = matrix(svd.u).transpose()};
  grow::grow_pair(net, grow::PairList<grow::Pair<1, 3>>{}, 0, k, init, rng);  // or grow::grow_width<1, 3>
  const double loss_after = run(data.train, grow_rows, false);
  std::printf("grew the hidden layer 32 -> %td: grow-batch loss %.6f before, %.6f after (the function is kept)\n",
              net.layer<1>().out_features(), loss_before, loss_after);

  // The new incoming weights' gradient is O M for outgoing weights O = c U_k^T (c: their norm), so its
  // norm is c sqrt(s_1^2 + ... + s_k^2): the largest any unit directions could give.
  const auto g = matrix(net.layer<1>().weight().grad).bottomRows(k);
  const double c = matrix(net.layer<3>().weight().value).rightCols(k).col(0).norm();
  double sum_sq = 0;
  for (const double s : svd.sigma) sum_sq += s * s;
  std::printf("gradient norm of the new incoming weights %.5g; c sqrt(sum s_i^2) = %.5g\n", g.norm(),
              c * std::sqrt(sum_sq));
  train(300);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "custom_trainer: %s\n", e.what());
  return 1;
}
