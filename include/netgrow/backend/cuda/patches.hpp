/// \file
/// netgrow/backend/cuda/patches.hpp: the CUDA back end of ops/patches.hpp, over kernels/patches.cuh;
/// queued on the calling thread's stream.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/patches.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/kernels/patches.cuh"

namespace netgrow::backend {

/// Patches on the GPU.
template <>
struct PatchOps<Cuda> {
  template <class T>
  static void move(const PatchExtent& e, const T* from, T* to, bool to_images) {
    kernels::move_patches<T>({e.n, e.channels, e.height, e.width, e.patch}, from, to, to_images, cuda::context().stream());
  }
};

}  // namespace netgrow::backend
