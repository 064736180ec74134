/// \file
/// netgrow/backend/cuda/conv2d.hpp: the CUDA back end of ops/conv2d.hpp.
///
/// Algorithm: the whole batch at once. Forward: im2col of the N images into cols (C k k, N Ho Wo)
/// (kernels/im2col.cuh), one GEMM Yc (out, N Ho Wo) = W (out, C k k) cols (cuBLAS or the native kernel,
/// as cuda::context().gemm_path() says), then Yc permuted to y (N, out, Ho, Wo) with the bias added
/// (kernels/conv_layout.cuh). Backward: dy permuted to dYc (out, N Ho Wo); db = per-channel sums of dy;
/// cols again (unless the caller says the forward's are still there); dW (+)= dYc cols^T;
/// dcols = W^T dYc into the cols buffer; dx = col2im(dcols).
/// `workspace` holds cols and Yc/dYc: (C k k + out) N Ho Wo elements, kept by the caller between steps.
/// With cuda::context().conv_path() == ConvPath::implicit_gemm the three products are implicit GEMMs
/// instead (kernels/conv_implicit.cuh): y, dx and dW computed from x and dy in their own layouts, the
/// workspace holding only wgrad's split-k partial tiles.
/// Work is queued on the calling thread's stream (cuda::context()); nothing waits for it.
///
/// nvcc only (launches kernels).
#pragma once

#include <cuda_runtime.h>

#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/conv_implicit.cuh"
#include "netgrow/kernels/conv_layout.cuh"
#include "netgrow/kernels/im2col.cuh"

namespace netgrow::backend {

/// The convolution ops of ops/conv2d.hpp on device D (specialised per device).
template <class D>
struct Conv2dOps;

/// 2-D convolution on the GPU.
template <>
struct Conv2dOps<Cuda> {
  template <class T>
  static void forward(ConstView<T, Cuda> x, ConstView<T, Cuda> w, ConstView<T, Cuda> b, const ConvGeometry& g,
                      TensorView<T, Cuda> y, Tensor<T, Cuda>& workspace) {
    const Index n = x.dim(0), out = w.dim(0), patch = g.patch_size(), columns = n * g.positions();
    if (cuda::context().conv_path() == cuda::ConvPath::implicit_gemm) {
      kernels::conv_implicit_forward<T>(x.data(), w.data(), b.empty() ? nullptr : b.data(), n, out, g, y.data(),
                                        cuda::context().stream());
      workspace.resize(Shape{0});  // holds no patches: an im2col backward must not reuse it
      return;
    }
    workspace.resize(Shape{(patch + out) * columns});
    T* cols = workspace.data();                 // (C k k, N Ho Wo)
    T* channel_major = cols + patch * columns;  // (out, N Ho Wo)
    cudaStream_t stream = cuda::context().stream();
    kernels::im2col<T>(x.data(), n, g, cols, stream);
    BlasOps<Cuda>::gemm<T>(false, false, T(1), w.reshape(Shape{out, patch}),
                           ConstView<T, Cuda>(cols, Shape{patch, columns}), T(0),
                           TensorView<T, Cuda>(channel_major, Shape{out, columns}));
    kernels::sample_major_from_channel_major<T>(channel_major, b.empty() ? nullptr : b.data(), n, out, g.positions(),
                                                y.data(), stream);
  }

  template <class T>
  static void backward(ConstView<T, Cuda> x, ConstView<T, Cuda> dy, ConstView<T, Cuda> w, const ConvGeometry& g,
                       TensorView<T, Cuda> dw, TensorView<T, Cuda> db, bool accumulate, TensorView<T, Cuda> dx,
                       Tensor<T, Cuda>& workspace, bool cols_hold_x) {
    const Index n = x.dim(0), out = w.dim(0), patch = g.patch_size(), columns = n * g.positions();
    cudaStream_t stream = cuda::context().stream();
    if (cuda::context().conv_path() == cuda::ConvPath::implicit_gemm) {
      if (!db.empty()) kernels::channel_sums<T>(dy.data(), n, out, g.positions(), accumulate, db.data(), stream);
      if (!dw.empty()) {
        workspace.resize(Shape{kernels::conv_implicit_wgrad_workspace(n, out, g)});
        kernels::conv_implicit_wgrad<T>(x.data(), dy.data(), n, out, g, accumulate, dw.data(), workspace.data(), stream);
      }
      if (!dx.empty()) kernels::conv_implicit_dgrad<T>(dy.data(), w.data(), n, out, g, dx.data(), stream);
      return;
    }
    const auto w_matrix = w.reshape(Shape{out, patch});
    const bool reuse_cols = cols_hold_x && workspace.numel() == (patch + out) * columns;
    workspace.resize(Shape{(patch + out) * columns});
    T* cols = workspace.data();                 // (C k k, N Ho Wo): the patches, then their gradient
    T* channel_major = cols + patch * columns;  // (out, N Ho Wo): dy
    const ConstView<T, Cuda> dy_matrix(channel_major, Shape{out, columns});
    kernels::channel_major_from_sample_major<T>(dy.data(), n, out, g.positions(), channel_major, stream);
    if (!db.empty()) kernels::channel_sums<T>(dy.data(), n, out, g.positions(), accumulate, db.data(), stream);
    if (!dw.empty()) {  // else x is not read: the adjoint alone
      if (!reuse_cols) kernels::im2col<T>(x.data(), n, g, cols, stream);
      BlasOps<Cuda>::gemm<T>(false, true, T(1), dy_matrix, ConstView<T, Cuda>(cols, Shape{patch, columns}),
                             accumulate ? T(1) : T(0), dw.reshape(Shape{out, patch}));
    }
    if (dx.empty()) return;
    BlasOps<Cuda>::gemm<T>(true, false, T(1), w_matrix, dy_matrix, T(0), TensorView<T, Cuda>(cols, Shape{patch, columns}));
    if (dx.numel() > 0)
      NETGROW_CUDA_CHECK(cudaMemsetAsync(dx.data(), 0, static_cast<std::size_t>(dx.numel()) * sizeof(T), stream));
    kernels::col2im<T>(cols, n, g, dx.data(), stream);
  }
};

}  // namespace netgrow::backend
