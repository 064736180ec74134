// A pair's consumer must be a layer of the network: grow_width<0, 5> on three layers must not compile, and
// its first error must say so (not a tuple index error).
#include <netgrow/netgrow.hpp>

int main() {
  using namespace netgrow;
  Rng rng(0);
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu1{}, Dense{3, 2});
#ifdef NETGROW_SHOULD_FAIL
  grow::reserve_width<0, 5>(net, 6);
#else
  grow::reserve_width<0, 2>(net, 6);
#endif
  return 0;
}
