/// \file
/// netgrow/ops/patches.hpp: images cut into non-overlapping p x p patches and put back, on any device
/// (a Vision Transformer's patch embedding gathers with the first and scatters its input gradient with
/// the second).
///
/// ~~~{.unparsed}
///   images    (N, C, H, W), H and W multiples of p
///   patches   (N P, C p p), P = (H / p)(W / p): patch rows in image order, grid row-major; each row
///             (c, a, b), channel-major like a convolution filter
/// ~~~
/// Both are permutations (patches do not overlap): every element is copied once, no sums. Back ends:
/// backend/cpu/patches.hpp, backend/cuda/patches.hpp.
#pragma once

#include "netgrow/backend/cpu/patches.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {

inline backend::PatchExtent check_patches(const Shape& images, const Shape& patches, Index p, const char* who) {
  require<ShapeError>(p >= 1 && images.rank() == 4 && images[2] % p == 0 && images[3] % p == 0, who, ": images ",
                      images, " do not divide into ", p, " x ", p, " patches");
  const Index grid = (images[2] / p) * (images[3] / p);
  require<ShapeError>(patches == Shape{images[0] * grid, images[1] * p * p}, who, ": patches ", patches, " for images ",
                      images, " should be (", images[0] * grid, ", ", images[1] * p * p, ")");
  return {images[0], images[1], images[2], images[3], p};
}

}  // namespace detail

/// patches = the p x p patches of `images` (see the file comment).
template <class T, class D>
void patches_from_images(In<T, D> images, Index p, TensorView<T, D> patches) {
  const auto e = detail::check_patches(images.shape(), patches.shape(), p, "patches_from_images");
  if (images.numel() > 0) backend::PatchOps<D>::template move<T>(e, images.data(), patches.data(), false);
}

/// images = the patches put back (the inverse of patches_from_images).
template <class T, class D>
void images_from_patches(In<T, D> patches, Index p, TensorView<T, D> images) {
  const auto e = detail::check_patches(images.shape(), patches.shape(), p, "images_from_patches");
  if (images.numel() > 0) backend::PatchOps<D>::template move<T>(e, patches.data(), images.data(), true);
}

}  // namespace netgrow::ops
