// tests/support/iota.hpp: a float tensor holding 0, 1, 2, ... in row-major order.
#pragma once

#include "netgrow/core/tensor.hpp"

namespace netgrow::test {

inline Tensor<float> iota_tensor(Shape s) {
  Tensor<float> t(s);
  for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i);
  return t;
}

}  // namespace netgrow::test
