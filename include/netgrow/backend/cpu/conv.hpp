/// \file
/// netgrow/backend/cpu/conv.hpp: im2col / col2im on the CPU, the patch matrices convolutions are
/// computed with.
///
/// For one image (C, H, W) and a k x k kernel with stride s and zero padding p, the column matrix is
///   cols (C k k, Ho Wo),   cols[(c, i, j), (oy, ox)] = image[c, oy s - p + i, ox s - p + j]
/// (0 where that falls outside the image), rows ordered (c, i, j) like a flattened (C, k, k) filter,
/// so a convolution is W (out, C k k) x cols. col2im is its adjoint: it *adds* cols back into an image.
#pragma once

#include <algorithm>
#include <cstring>

#include "netgrow/core/conv_geometry.hpp"

namespace netgrow::ops {

namespace detail {
// floor(a / b) for b > 0.
constexpr Index floor_div(Index a, Index b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
// Output columns ox whose input column ox s - p + j lies inside [0, width): [lo, hi).
inline void valid_range(Index width, Index wo, Index s, Index p, Index j, Index& lo, Index& hi) {
  lo = std::clamp<Index>(floor_div(p - j + s - 1, s), 0, wo);
  hi = std::clamp<Index>(floor_div(width - 1 + p - j, s) + 1, lo, wo);
}
}  // namespace detail

/// cols (C k k, Ho Wo) from image (C, H, W); cols is assigned.
template <class T>
void im2col(const T* image, const ConvGeometry& g, T* cols) {
  const Index ho = g.out_height(), wo = g.out_width(), k = g.kernel, s = g.stride, p = g.padding;
  for (Index c = 0; c < g.channels; ++c)
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < k; ++j) {
        T* row = cols + ((c * k + i) * k + j) * ho * wo;
        for (Index oy = 0; oy < ho; ++oy) {
          T* out = row + oy * wo;
          const Index iy = oy * s - p + i;
          if (iy < 0 || iy >= g.height) {
            std::fill_n(out, wo, T(0));
            continue;
          }
          const T* in = image + (c * g.height + iy) * g.width;
          Index lo = 0, hi = 0;
          detail::valid_range(g.width, wo, s, p, j, lo, hi);
          std::fill_n(out, lo, T(0));
          if (s == 1) {
            std::copy_n(in + lo - p + j, hi - lo, out + lo);
          } else {
            for (Index ox = lo; ox < hi; ++ox) out[ox] = in[ox * s - p + j];
          }
          std::fill_n(out + hi, wo - hi, T(0));
        }
      }
}

/// image (C, H, W) += the adjoint of im2col applied to cols (C k k, Ho Wo).
template <class T>
void col2im(const T* cols, const ConvGeometry& g, T* image) {
  const Index ho = g.out_height(), wo = g.out_width(), k = g.kernel, s = g.stride, p = g.padding;
  for (Index c = 0; c < g.channels; ++c)
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < k; ++j) {
        const T* row = cols + ((c * k + i) * k + j) * ho * wo;
        for (Index oy = 0; oy < ho; ++oy) {
          const Index iy = oy * s - p + i;
          if (iy < 0 || iy >= g.height) continue;
          T* out = image + (c * g.height + iy) * g.width;
          const T* in = row + oy * wo;
          Index lo = 0, hi = 0;
          detail::valid_range(g.width, wo, s, p, j, lo, hi);
          if (s == 1) {
            T* __restrict dst = out + lo - p + j;
            const T* __restrict src = in + lo;
            for (Index ox = 0; ox < hi - lo; ++ox) dst[ox] += src[ox];
          } else {
            for (Index ox = lo; ox < hi; ++ox) out[ox * s - p + j] += in[ox];
          }
        }
      }
}

}  // namespace netgrow::ops
