// GradMax between layers joined by the standard Relu (f'(0) = 0) would give the new neurons no
// gradient at all: it must not compile, and the message must point to Relu1.
#include <netgrow/netgrow.hpp>

int main() {
  using namespace netgrow;
  Rng rng(0);
#ifdef NETGROW_SHOULD_FAIL
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu{}, Dense{3, 2});
#else
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu1{}, Dense{3, 2});
#endif
  Tensor<float> x({5, 4}), g({5, 2});
  net.forward(x);
  net.backward(g);
  auto data = grow::data_from_last_backward<0, 2>(net);
  grow::grow_width<0, 2>(net, 1, grow::GradMax{}, rng, data);
  return 0;
}
