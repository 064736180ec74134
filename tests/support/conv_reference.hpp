// tests/support/conv_reference.hpp: plain-loop references for convolution and pooling, in double.
#pragma once

#include <algorithm>
#include <limits>

#include "netgrow/core/tensor.hpp"

namespace netgrow::test {

// y (N, O, Ho, Wo) = cross-correlation of x (N, C, H, W) with w (O, C, k, k), stride s, zero padding p,
// plus b (O) when not empty.
inline Tensor<double> direct_conv(ConstView<double> x, ConstView<double> w, ConstView<double> b, Index s, Index p) {
  const Index n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), o = w.dim(0), k = w.dim(2);
  const Index ho = (h + 2 * p - k) / s + 1, wo = (wd + 2 * p - k) / s + 1;
  Tensor<double> y({n, o, ho, wo});
  for (Index in = 0; in < n; ++in)
    for (Index oc = 0; oc < o; ++oc)
      for (Index oy = 0; oy < ho; ++oy)
        for (Index ox = 0; ox < wo; ++ox) {
          double acc = b.empty() ? 0.0 : b[oc];
          for (Index ic = 0; ic < c; ++ic)
            for (Index i = 0; i < k; ++i)
              for (Index j = 0; j < k; ++j) {
                const Index iy = oy * s - p + i, ix = ox * s - p + j;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) acc += w.at(oc, ic, i, j) * x.at(in, ic, iy, ix);
              }
          y.at(in, oc, oy, ox) = acc;
        }
  return y;
}

}  // namespace netgrow::test
