// Growing a pair with a layer between that cannot grow by identity (here Flatten) must not compile.
#include <netgrow/netgrow.hpp>

int main() {
  using namespace netgrow;
  Rng rng(0);
#ifdef NETGROW_SHOULD_FAIL
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu1{}, Flatten{}, Dense{3, 2});
  grow::grow_width<0, 3>(net, 1, grow::Random{}, rng);
#else
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu1{}, Dense{3, 2});
  grow::grow_width<0, 2>(net, 1, grow::Random{}, rng);
#endif
  return 0;
}
