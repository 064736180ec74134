// The CUDA side of the consumer project: netgrow::cuda from a .cu file compiled by nvcc. Builds
// wherever the CUDA toolkit is; runs a small network on the GPU when one is present, and otherwise says
// so and exits successfully (a build machine without a GPU still checks that everything compiles).
#include <netgrow/cuda.hpp>

#include <cstdio>

int main() {
  using namespace netgrow;
  // netgrow::cuda spelled out: the CUDA headers declare a namespace ::cuda too.
  if (netgrow::cuda::device_count() == 0) {
    std::printf("consumer_cuda: built with netgrow::cuda; no CUDA GPU visible, skipping the GPU run\n");
    return 0;
  }
  Rng rng(7);
  auto task = make_teacher_student<float>({.in = 8, .hidden = 6, .out = 3, .samples = 256}, rng);
  auto net = make_sequential<float, Cuda>(rng, Dense{.in = 8, .out = 16}, Relu1{}, Dense{.in = 16, .out = 3});
  const Tensor<float, Cuda> x = to<Cuda>(task.x), y = to<Cuda>(task.y);
  Sgd sgd(0.05, {.momentum = 0.9});
  Tensor<float, Cuda> grad;
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    auto pred = net.forward(x);
    grad.resize(pred.shape());
    last = MseLoss{}(pred, y, grad);
    if (step == 0) first = last;
    net.backward(grad);
    sgd.step(net);
  }
  const bool ok = last < 0.5 * first;
  std::printf("consumer_cuda: on %s, loss %.4g -> %.4g %s\n", netgrow::cuda::device_description(0).c_str(), first, last,
              ok ? "OK" : "NOT REDUCED");
  return ok ? 0 : 1;
}
