// Growing a pair across a layer that cannot grow by identity (here a third Dense layer, which would
// have to change its own weights) must not compile.
#include <netgrow/netgrow.hpp>

int main() {
  using namespace netgrow;
  Rng rng(0);
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu1{}, Dense{3, 3}, Relu1{}, Dense{3, 2});
#ifdef NETGROW_SHOULD_FAIL
  grow::grow_width<0, 4>(net, 1, grow::Random{}, rng);
#else
  grow::grow_width<0, 2>(net, 1, grow::Random{}, rng);
#endif
  return 0;
}
