/// \file
/// netgrow/backend/cpu/patches.hpp: the CPU back end of ops/patches.hpp (images cut into non-overlapping
/// p x p patches and put back); arguments arrive checked.
#pragma once

#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// (N, C, H, W) images and the side p of their patches.
struct PatchExtent {
  Index n, channels, height, width, patch;
};

/// The patch ops of ops/patches.hpp on device D (specialised per device).
template <class D>
struct PatchOps;

/// Patches on the CPU.
template <>
struct PatchOps<Cpu> {
  /// patches (N P, C p p) = the images' patches, or (to_images) images = the patches put back.
  template <class T>
  static void move(const PatchExtent& e, const T* from, T* to, bool to_images) {
    const Index p = e.patch, gh = e.height / p, gw = e.width / p, fan = e.channels * p * p;
    for (Index i = 0; i < e.n; ++i)
      for (Index gy = 0; gy < gh; ++gy)
        for (Index gx = 0; gx < gw; ++gx) {
          const Index row = (i * gh + gy) * gw + gx;
          for (Index c = 0; c < e.channels; ++c)
            for (Index a = 0; a < p; ++a)
              for (Index b = 0; b < p; ++b) {
                const Index image = ((i * e.channels + c) * e.height + gy * p + a) * e.width + gx * p + b;
                const Index patch = row * fan + (c * p + a) * p + b;
                if (to_images) to[image] = from[patch];
                else to[patch] = from[image];
              }
        }
  }
};

}  // namespace netgrow::backend
