/// \file
/// netgrow/backend/cuda/layout.hpp: block rearrangements of Cuda tensors along one axis (concat, slice,
/// assign_slice, in-place append, axis_to_rows / rows_to_axis, per-index norms), with the contracts
/// and messages of backend/cpu/layout.hpp; grown_shape is the CPU one (shapes live on the host).
///
/// A tensor seen along `axis` is (outer, d_axis, inner). Block copies are pitched cudaMemcpy2DAsync
/// calls queued on the calling thread's stream; axis_norms waits for its result.
///
/// nvcc only (launches kernels).
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "netgrow/backend/cpu/layout.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/kernels/layout.cuh"
#include "netgrow/kernels/reduce.cuh"

namespace netgrow::ops {

namespace cuda_detail {

// height rows of `width` elements: dst row r (at dst + r * dst_pitch) = src row r (at src + r * src_pitch),
// device to device; dst and src must not overlap.
template <class T>
void copy_rows(T* dst, Index dst_pitch, const T* src, Index src_pitch, Index width, Index height) {
  if (width <= 0 || height <= 0) return;
  cudaStream_t stream = cuda::context().stream();
  if (height == 1 || (width == dst_pitch && width == src_pitch)) {
    NETGROW_CUDA_CHECK(cudaMemcpyAsync(dst, src, sizeof(T) * static_cast<std::size_t>(width * height),
                                       cudaMemcpyDeviceToDevice, stream));
    return;
  }
  NETGROW_CUDA_CHECK(cudaMemcpy2DAsync(dst, sizeof(T) * static_cast<std::size_t>(dst_pitch), src,
                                       sizeof(T) * static_cast<std::size_t>(src_pitch),
                                       sizeof(T) * static_cast<std::size_t>(width), static_cast<std::size_t>(height),
                                       cudaMemcpyDeviceToDevice, stream));
}

// height rows of `width` elements at dst + r * dst_pitch set to zero.
template <class T>
void zero_rows(T* dst, Index dst_pitch, Index width, Index height) {
  if (width <= 0 || height <= 0) return;
  cudaStream_t stream = cuda::context().stream();
  if (height == 1 || width == dst_pitch) {
    NETGROW_CUDA_CHECK(cudaMemsetAsync(dst, 0, sizeof(T) * static_cast<std::size_t>(width * height), stream));
    return;
  }
  NETGROW_CUDA_CHECK(cudaMemset2DAsync(dst, sizeof(T) * static_cast<std::size_t>(dst_pitch), 0,
                                       sizeof(T) * static_cast<std::size_t>(width), static_cast<std::size_t>(height),
                                       stream));
}

}  // namespace cuda_detail

/// out = a and b joined along `axis` (out is assigned; it must not alias a or b).
template <class T>
void concat(CudaIn<T> a, CudaIn<T> b, int axis, TensorView<T, Cuda> out) {
  const int ax = detail::checked_axis(a.shape(), axis, "concat");
  require<ShapeError>(detail::same_except(a.shape(), b.shape(), ax), "concat: ", a.shape(), " and ", b.shape(),
                      " differ outside axis ", axis);
  require<ShapeError>(out.shape() == grown_shape(a.shape(), ax, b.dim(ax)), "concat: output ", out.shape(),
                      " for ", a.shape(), " + ", b.shape(), " along axis ", axis);
  const auto [outer, inner] = detail::split_at(a.shape(), ax);
  const Index la = a.dim(ax) * inner, lb = b.dim(ax) * inner;
  cuda_detail::copy_rows<T>(out.data(), la + lb, a.data(), la, la, outer);
  cuda_detail::copy_rows<T>(out.data() + la, la + lb, b.data(), lb, lb, outer);
}

/// out = src[..., begin:begin+count, ...] along `axis` (out is assigned; it must not alias src).
template <class T>
void slice(CudaIn<T> src, int axis, Index begin, Index count, TensorView<T, Cuda> out) {
  const int ax = detail::checked_axis(src.shape(), axis, "slice");
  require<ShapeError>(begin >= 0 && count >= 0 && begin + count <= src.dim(ax), "slice: [", begin, ", ",
                      begin + count, ") out of range along axis ", axis, " of ", src.shape());
  Shape s = src.shape();
  s[ax] = count;
  require<ShapeError>(out.shape() == s, "slice: output ", out.shape(), " for slice shape ", s);
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index ls = src.dim(ax) * inner, lo = count * inner;
  cuda_detail::copy_rows<T>(out.data(), lo, src.data() + begin * inner, ls, lo, outer);
}

/// dst[..., begin:begin+src.dim(axis), ...] = src along `axis` (src must not alias dst).
template <class T>
void assign_slice(CudaIn<T> src, int axis, Index begin, TensorView<T, Cuda> dst) {
  const int ax = detail::checked_axis(dst.shape(), axis, "assign_slice");
  require<ShapeError>(detail::same_except(src.shape(), dst.shape(), ax), "assign_slice: ", src.shape(), " into ",
                      dst.shape(), " along axis ", axis);
  const Index count = src.dim(ax);
  require<ShapeError>(begin >= 0 && begin + count <= dst.dim(ax), "assign_slice: [", begin, ", ", begin + count,
                      ") out of range along axis ", axis, " of ", dst.shape());
  const auto [outer, inner] = detail::split_at(dst.shape(), ax);
  const Index ld = dst.dim(ax) * inner, ls = count * inner;
  cuda_detail::copy_rows<T>(dst.data() + begin * inner, ld, src.data(), ls, ls, outer);
}

/// Appends a block of shape `extra_shape` to t along `axis` within t's capacity (call reserve() first;
/// throws ShapeError before any change when the capacity is short). `extra` is a DEVICE pointer to the
/// appended values (extra_shape, row-major) or null for zeros. The existing blocks are staged through
/// the context's workspace (overlapping device copies are undefined), so no tensor is allocated.
template <class T>
void append_in_place(Tensor<T, Cuda>& t, int axis, const Shape& extra_shape, const T* extra) {
  const int ax = detail::checked_axis(t.shape(), axis, "append_in_place");
  require<ShapeError>(detail::same_except(t.shape(), extra_shape, ax), "append_in_place: ", extra_shape, " onto ",
                      t.shape(), " along axis ", axis);
  const Shape grown = grown_shape(t.shape(), ax, extra_shape[ax]);
  const auto [outer, inner] = detail::split_at(t.shape(), ax);
  const Index la = t.dim(ax) * inner, lb = extra_shape[ax] * inner;
  t.reshape_within_capacity(grown);  // throws (before any change) when the capacity is short
  T* base = t.data();
  if (outer > 1 && la > 0 && lb > 0) {
    T* staging = cuda::context().workspace_for<T>(outer * la);
    cuda_detail::copy_rows<T>(staging, la, base, la, la, outer);
    cuda_detail::copy_rows<T>(base, la + lb, staging, la, la, outer);
  }
  if (extra) cuda_detail::copy_rows<T>(base + la, la + lb, extra, lb, lb, outer);
  else cuda_detail::zero_rows<T>(base + la, la + lb, lb, outer);
}

/// norms[j] = the Euclidean norm of all elements of src whose index along `axis` is j (waits for the
/// result; sums of squares in double, as the CPU).
template <class T>
std::vector<double> axis_norms(CudaIn<T> src, int axis) {
  const int ax = detail::checked_axis(src.shape(), axis, "axis_norms");
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index d = src.dim(ax);
  std::vector<double> norms(static_cast<std::size_t>(d), 0.0);
  if (d == 0) return norms;
  auto& ctx = cuda::context();
  double* sums = ctx.workspace_for<double>(d);
  kernels::axis_square_sums<T>(src.data(), outer, d, inner, sums, ctx.stream());
  NETGROW_CUDA_CHECK(cudaMemcpyAsync(norms.data(), sums, sizeof(double) * norms.size(), cudaMemcpyDeviceToHost,
                                     ctx.stream()));
  ctx.synchronize();
  for (double& v : norms) v = std::sqrt(v);
  return norms;
}

/// rows (d_axis, outer * inner): row j holds every element of src whose index along `axis` is j, in
/// row-major order of the other dimensions (see backend/cpu/layout.hpp). rows must not alias src.
template <class T>
void axis_to_rows(CudaIn<T> src, int axis, TensorView<T, Cuda> rows) {
  const int ax = detail::checked_axis(src.shape(), axis, "axis_to_rows");
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index d = src.dim(ax);
  require<ShapeError>(rows.shape() == Shape{d, outer * inner}, "axis_to_rows: output ", rows.shape(), " for ",
                      src.shape(), " along axis ", axis);
  kernels::axis_to_rows<T>(src.data(), outer, d, inner, rows.data(), cuda::context().stream());
}

/// The inverse of axis_to_rows: writes rows (d_axis, outer * inner) into dst along `axis`.
template <class T>
void rows_to_axis(CudaIn<T> rows, int axis, TensorView<T, Cuda> dst) {
  const int ax = detail::checked_axis(dst.shape(), axis, "rows_to_axis");
  const auto [outer, inner] = detail::split_at(dst.shape(), ax);
  const Index d = dst.dim(ax);
  require<ShapeError>(rows.shape() == Shape{d, outer * inner}, "rows_to_axis: rows ", rows.shape(), " for ",
                      dst.shape(), " along axis ", axis);
  kernels::rows_to_axis<T>(rows.data(), outer, d, inner, dst.data(), cuda::context().stream());
}

}  // namespace netgrow::ops
