// Tests layers/parameter.hpp: a parameter's tensors and defaults.
#include <doctest/doctest.h>

#include "netgrow/layers/parameter.hpp"

using namespace netgrow;

TEST_CASE("a new parameter has a zero value and gradient of its shape, no state, and unit rates") {
  Parameter<float, Cpu> p(Shape{3, 4});
  CHECK(p.shape() == Shape{3, 4});
  CHECK(p.numel() == 12);
  CHECK(p.grad.shape() == p.value.shape());
  for (float v : p.value.span()) CHECK(v == 0.0f);
  for (float g : p.grad.span()) CHECK(g == 0.0f);
  CHECK(p.state.empty());
  CHECK(p.state_owner.empty());
  CHECK(p.lr_multiplier == 1.0);
  CHECK(p.lr_scale.empty());
  CHECK(p.trainable);
  CHECK(p.weight_decay);
}
