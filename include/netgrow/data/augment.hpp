/// \file
/// netgrow/data/augment.hpp: image augmentation for (N, C, H, W) batches: random crops after zero
/// padding, and random horizontal flips, drawn from a netgrow::Rng (same seed, same batches).
#pragma once

#include <algorithm>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// What augment() does to each image; the defaults do nothing.
struct AugmentOptions {
  Index crop_padding = 0;        ///< pad by this many zeros on each side, then crop back at a random offset
  bool horizontal_flip = false;  ///< mirror each image left-right with probability 1/2
};

/// Augments every image of `batch` (N, C, H, W) in place.
template <class T>
void augment(TensorView<T, Cpu> batch, const AugmentOptions& o, Rng& rng) {
  require<ShapeError>(batch.rank() == 4, "augment: expects (N, C, H, W), got ", batch.shape());
  require(o.crop_padding >= 0, "augment: negative crop_padding ", o.crop_padding);
  if (o.crop_padding == 0 && !o.horizontal_flip) return;
  const Index n = batch.dim(0), c = batch.dim(1), h = batch.dim(2), w = batch.dim(3), p = o.crop_padding;
  std::vector<T> image(static_cast<std::size_t>(c * h * w));
  for (Index i = 0; i < n; ++i) {
    T* x = batch.data() + i * c * h * w;
    const Index dy = p ? static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(2 * p + 1))) - p : 0;
    const Index dx = p ? static_cast<Index>(rng.uniform_int(static_cast<std::uint64_t>(2 * p + 1))) - p : 0;
    const bool flip = o.horizontal_flip && (rng.next_u64() & 1);
    std::copy_n(x, c * h * w, image.begin());
    for (Index ch = 0; ch < c; ++ch)
      for (Index y = 0; y < h; ++y)
        for (Index xx = 0; xx < w; ++xx) {
          const Index sy = y + dy, sx0 = xx + dx;
          const Index sx = flip ? w - 1 - sx0 : sx0;
          const bool inside = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
          x[(ch * h + y) * w + xx] = inside ? image[static_cast<std::size_t>((ch * h + sy) * w + sx)] : T(0);
        }
  }
}

}  // namespace netgrow
