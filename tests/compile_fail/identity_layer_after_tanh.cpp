// Net2DeeperNet after Tanh would change the network's function (tanh(tanh(z)) != tanh(z)): inserting
// an identity layer there must not compile, and the message must say why.
#include <netgrow/netgrow.hpp>

int main() {
  using namespace netgrow;
  Rng rng(0);
#ifdef NETGROW_SHOULD_FAIL
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Tanh{}, Dense{3, 2});
#else
  auto net = make_sequential<float, Cpu>(rng, Dense{4, 3}, Relu{}, Dense{3, 2});
#endif
  auto deeper = grow::insert_identity_layer<1>(std::move(net));
  return decltype(deeper)::size == 5 ? 0 : 1;
}
