// A pair's producer must come before its consumer: grow_width<2, 0> must not compile, and its first error
// must say so (and no other follows: not an index sequence of 2^64 - 2 elements).
#include <netgrow/netgrow.hpp>

int main() {
  using namespace netgrow;
  Rng rng(0);
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu1{}, Dense{3, 2});
#ifdef NETGROW_SHOULD_FAIL
  grow::grow_width<2, 0>(net, 1, grow::Random{}, rng);
#else
  grow::grow_width<0, 2>(net, 1, grow::Random{}, rng);
#endif
  return 0;
}
