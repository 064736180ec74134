// The smallest useful netgrow program: fit a small MLP to a teacher network and report the loss.
#include <netgrow/netgrow.hpp>

#include <cstdio>

int main() {
  using namespace netgrow;
  Rng rng(7);
  auto task = make_teacher_student<float>({.in = 8, .hidden = 6, .out = 3, .samples = 256}, rng);
  auto net = make_sequential<float, Cpu>(rng, Dense{.in = 8, .out = 16}, Relu1{}, Dense{.in = 16, .out = 3});
  Sgd sgd(0.05, {.momentum = 0.9});
  MseLoss mse;
  Tensor<float> grad;
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    auto pred = net.forward(task.x);
    grad.resize(pred.shape());
    last = mse(pred, task.y, grad);
    if (step == 0) first = last;
    net.backward(grad);
    sgd.step(net);
  }
  const bool ok = last < 0.5 * first;
  std::printf("consumer: loss %.4g -> %.4g %s\n", first, last, ok ? "OK" : "NOT REDUCED");
  return ok ? 0 : 1;
}
