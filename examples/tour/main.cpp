// examples/tour: the README's five-minute tour as a program. One training step of an MLP on random
// data, then a GradMax growth of its hidden layer; the output after growth equals the output before
// (to float rounding: the wider GEMM may sum in another order).
#include <netgrow/netgrow.hpp>

#include <cstdio>

using namespace netgrow;

int main() try {
  Rng rng(42);                                          // same seed (and threads) -> same bits
  auto net = make_sequential<float, Cpu>(rng,           // layer kinds in the type,
      Dense{.in = 784, .out = 1024}, Relu1{},           // widths at run time
      Dense{.in = 1024, .out = 10});
  Sgd sgd(CosineLr{.base = 0.1, .total_steps = 10000}, {.momentum = 0.9, .nesterov = true});

  Tensor<float> x({128, 784}), grad;                    // row-major, 64-byte aligned
  fill_normal(x.view(), 0.0, 1.0, rng);
  Tensor<std::int32_t> labels({128});
  for (Index i = 0; i < labels.numel(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
  auto logits = net.forward(x);                         // (128, 10); x must outlive backward()
  grad.resize(logits.shape());
  auto r = SoftmaxCrossEntropy{}(logits, labels, grad);  // r.loss, r.accuracy()
  net.backward(grad);                                   // every Parameter's .grad
  sgd.step(net);

  // Grow 4 neurons between layers 0 and 2 with GradMax, from this batch's activations and gradients.
  logits = net.forward(x);
  Tensor<float> before;
  before.copy_from(logits);
  SoftmaxCrossEntropy{}(logits, labels, grad);
  net.backward(grad);
  auto data = grow::data_from_last_backward<0, 2>(net);
  auto report = grow::grow_width<0, 2>(net, 4, grow::GradMax{}, rng, data);
  const auto after = net.forward(x);
  const double change = (matrix(after) - matrix(before)).cwiseAbs().maxCoeff();
  std::printf("tour: loss %.4f, hidden width %ld -> %ld, top singular value %.4g, output change %.3g\n", r.loss,
              static_cast<long>(report.old_width), static_cast<long>(report.new_width),
              report.singular_values.empty() ? 0.0 : report.singular_values[0], change);
  return change < 1e-5 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tour: %s\n", e.what());
  return 1;
}
