// A LayerNorm between a pair mixes channels: only initializers that copy neurons (Lemon, Split) may grow
// it; GradMax must not compile.
#include <netgrow/netgrow.hpp>

int main() {
  using namespace netgrow;
  Rng rng(0);
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, LayerNorm{3}, Relu1{}, Dense{3, 2});
#ifdef NETGROW_SHOULD_FAIL
  grow::grow_width<0, 3>(net, 1, grow::GradMax{}, rng);
#else
  grow::grow_width<0, 3>(net, 3, grow::Lemon{}, rng);
#endif
  return 0;
}
