// Compile-fail case: grow_width with a type that is not an initializer (no initialize() member) must
// fail with a message saying what an initializer needs.
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/width.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/network/sequential.hpp"

using namespace netgrow;

struct Directions {  // a user's struct that forgot initialize()
  double scale = 1;
};

void grow_it(Sequential<float, Cpu, Dense, Relu1, Dense>& net, Rng& rng) {
#if defined(NETGROW_SHOULD_FAIL)
  grow::grow_width<0, 2>(net, 2, Directions{}, rng);
#else
  grow::grow_width<0, 2>(net, 2, grow::Random{}, rng);
#endif
}
