/// \file
/// netgrow/backend/cuda/conv2d.hpp: the op facade's 2-D convolution on Cuda views. Same contract as
/// backend/cpu/conv2d.hpp (shapes, what is assigned and what accumulated, the same ShapeErrors).
///
/// Algorithm: the whole batch at once. Forward: im2col of the N images into cols (C k k, N Ho Wo)
/// (kernels/im2col.cuh), one GEMM Yc (out, N Ho Wo) = W (out, C k k) cols (ops::gemm: cuBLAS or the
/// native kernel, as cuda::context().gemm_path() says), then Yc permuted to y (N, out, Ho, Wo) with the
/// bias added (kernels/conv_layout.cuh). Backward: dy permuted to dYc (out, N Ho Wo); db = per-channel
/// sums of dy; cols again (unless the caller says the forward's are still there); dW (+)= dYc cols^T; dcols = W^T dYc into the cols buffer; dx = col2im(dcols).
/// `workspace` holds cols and Yc/dYc: (C k k + out) N Ho Wo elements, kept by the caller between steps.
/// Work is queued on the calling thread's stream (cuda::context()); nothing waits for it.
///
/// nvcc only (launches kernels).
#pragma once

#include <cuda_runtime.h>

#include "netgrow/backend/cpu/conv2d.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/check.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/conv_layout.cuh"
#include "netgrow/kernels/im2col.cuh"

namespace netgrow::ops {

/// y = conv(x, w) + b (b empty: no bias); y is assigned.
template <class T>
void conv2d_forward(CudaIn<T> x, CudaIn<T> w, CudaIn<T> b, const ConvGeometry& g, TensorView<T, Cuda> y,
                    Tensor<T, Cuda>& workspace) {
  detail::check_conv2d_shapes(x.shape(), w.shape(), b.numel(), g, y.shape(), "conv2d_forward");
  const Index n = x.dim(0), out = w.dim(0), patch = g.patch_size(), columns = n * g.positions();
  if (y.numel() == 0) return;
  workspace.resize(Shape{(patch + out) * columns});
  T* cols = workspace.data();                  // (C k k, N Ho Wo)
  T* channel_major = cols + patch * columns;  // (out, N Ho Wo)
  cudaStream_t stream = cuda::context().stream();
  kernels::im2col<T>(x.data(), n, g, cols, stream);
  ops::gemm<T>(Trans::no, Trans::no, T(1), w.reshape(Shape{out, patch}), ConstView<T, Cuda>(cols, Shape{patch, columns}),
               T(0), TensorView<T, Cuda>(channel_major, Shape{out, columns}));
  kernels::sample_major_from_channel_major<T>(channel_major, b.empty() ? nullptr : b.data(), n, out, g.positions(),
                                              y.data(), stream);
}

/// dw (out, C, k, k) and db (out; empty: no bias) are assigned, or added to when `accumulate`; dx is
/// assigned (skipped when empty). `cols_hold_x`: the caller vouches that `workspace` still holds the
/// columns conv2d_forward made of this x with this geometry; then the im2col is skipped (when the
/// workspace also has the size this call needs, i.e. the output width did not change since).
template <class T>
void conv2d_backward(CudaIn<T> x, CudaIn<T> dy, CudaIn<T> w, const ConvGeometry& g, TensorView<T, Cuda> dw,
                     TensorView<T, Cuda> db, bool accumulate, TensorView<T, Cuda> dx, Tensor<T, Cuda>& workspace,
                     bool cols_hold_x = false) {
  detail::check_conv2d_shapes(x.shape(), w.shape(), db.numel(), g, dy.shape(), "conv2d_backward");
  require_same_shape(dw.shape(), w.shape(), "conv2d_backward (dw)");
  require<ShapeError>(dx.empty() || dx.shape() == x.shape(), "conv2d_backward: dx ", dx.shape(), " for input ",
                      x.shape());
  const Index n = x.dim(0), out = w.dim(0), patch = g.patch_size(), columns = n * g.positions();
  cudaStream_t stream = cuda::context().stream();
  const auto w_matrix = w.reshape(Shape{out, patch});
  const auto dw_matrix = dw.reshape(Shape{out, patch});
  const bool reuse_cols = cols_hold_x && workspace.numel() == (patch + out) * columns;
  workspace.resize(Shape{(patch + out) * columns});
  T* cols = workspace.data();                  // (C k k, N Ho Wo): the patches, then their gradient
  T* channel_major = cols + patch * columns;  // (out, N Ho Wo): dy
  const ConstView<T, Cuda> dy_matrix(channel_major, Shape{out, columns});
  kernels::channel_major_from_sample_major<T>(dy.data(), n, out, g.positions(), channel_major, stream);
  if (!db.empty()) kernels::channel_sums<T>(dy.data(), n, out, g.positions(), accumulate, db.data(), stream);
  if (!reuse_cols) kernels::im2col<T>(x.data(), n, g, cols, stream);
  ops::gemm<T>(Trans::no, Trans::yes, T(1), dy_matrix, ConstView<T, Cuda>(cols, Shape{patch, columns}),
               accumulate ? T(1) : T(0), dw_matrix);
  if (dx.empty()) return;
  ops::gemm<T>(Trans::yes, Trans::no, T(1), w_matrix, dy_matrix, T(0), TensorView<T, Cuda>(cols, Shape{patch, columns}));
  if (dx.numel() > 0)
    NETGROW_CUDA_CHECK(cudaMemsetAsync(dx.data(), 0, static_cast<std::size_t>(dx.numel()) * sizeof(T), stream));
  kernels::col2im<T>(cols, n, g, dx.data(), stream);
}

}  // namespace netgrow::ops
