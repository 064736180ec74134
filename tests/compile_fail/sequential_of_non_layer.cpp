// A network whose type list holds something that is not a layer kind must not compile, and the
// error must say so in words.
#include <netgrow/netgrow.hpp>

int main() {
  netgrow::Rng rng(0);
#ifdef NETGROW_SHOULD_FAIL
  netgrow::Sequential<float, netgrow::Cpu, netgrow::Dense, int, netgrow::Dense> net(
      rng, netgrow::Dense{4, 3}, 0, netgrow::Dense{3, 2});
#else
  netgrow::Sequential<float, netgrow::Cpu, netgrow::Dense, netgrow::Relu1, netgrow::Dense> net(
      rng, netgrow::Dense{4, 3}, netgrow::Relu1{}, netgrow::Dense{3, 2});
#endif
  return net.parameter_count() > 0 ? 0 : 1;
}
