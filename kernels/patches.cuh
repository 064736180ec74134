// kernels/patches.cuh: images (N, C, H, W) cut into non-overlapping p x p patches (N P, C p p) and put
// back: a permutation, for a Vision Transformer's patch embedding.
//
// Versions:
//   patches_v1_grid_stride   one thread per element of the patch matrix (grid-stride), computing the
//                            image index from the patch index; the same kernel copies either way.
//                            Reads or writes of the images are strided by p within a warp: fine for
//                            28 x 28 Fashion-MNIST, a shared-memory transpose is the step for large images.
//
// The CPU reference is include/netgrow/backend/cpu/patches.hpp (same index map).
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

/// (N, C, H, W) images and the side p of their patches.
struct PatchesExtent {
  Index n = 0, channels = 0, height = 0, width = 0, patch = 0;
};

namespace patches_detail {

template <class T>
__global__ void patches_v1_grid_stride(PatchesExtent e, const T* from, T* to, bool to_images) {
  const Index p = e.patch, gh = e.height / p, gw = e.width / p, fan = e.channels * p * p;
  const Index total = e.n * gh * gw * fan;
  for (Index k = blockIdx.x * Index{blockDim.x} + threadIdx.x; k < total; k += Index{gridDim.x} * blockDim.x) {
    const Index row = k / fan, inner = k % fan;
    const Index i = row / (gh * gw), gy = (row / gw) % gh, gx = row % gw;
    const Index c = inner / (p * p), a = (inner / p) % p, b = inner % p;
    const Index image = ((i * e.channels + c) * e.height + gy * p + a) * e.width + gx * p + b;
    if (to_images) to[image] = from[k];
    else to[k] = from[image];
  }
}

}  // namespace patches_detail

/// to = from's patches (to_images false: from = images, to = patches) or the patches put back.
template <class T>
void move_patches(const PatchesExtent& e, const T* from, T* to, bool to_images, cudaStream_t stream) {
  const Index total = e.n * e.channels * e.height * e.width;
  if (total == 0) return;
  patches_detail::patches_v1_grid_stride<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(
      e, from, to, to_images);
  NETGROW_CHECK_LAUNCH("patches_v1_grid_stride");
}

}  // namespace netgrow::kernels
