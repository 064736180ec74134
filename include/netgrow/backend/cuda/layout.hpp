/// \file
/// netgrow/backend/cuda/layout.hpp: the CUDA back end of ops/layout.hpp. Block copies are pitched
/// cudaMemcpy2DAsync calls queued on the calling thread's stream; axis_square_sums waits for its result.
///
/// nvcc only (launches kernels).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/layout.cuh"
#include "netgrow/kernels/reduce.cuh"

namespace netgrow::backend {

/// The layout ops of ops/layout.hpp on device D (specialised per device).
template <class D>
struct LayoutOps;

/// Block copies on the GPU.
template <>
struct LayoutOps<Cuda> {
  /// `height` rows of `width` elements: dst row r (at dst + r dst_pitch) = src row r (at src + r src_pitch),
  /// device to device; dst and src must not overlap.
  template <class T>
  static void copy_rows(T* dst, Index dst_pitch, const T* src, Index src_pitch, Index width, Index height) {
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

  /// `height` rows of `width` elements at dst + r dst_pitch set to zero.
  template <class T>
  static void zero_rows(T* dst, Index dst_pitch, Index width, Index height) {
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

  /// `outer` blocks of la elements become blocks of la + lb, each followed by its lb new elements (a
  /// DEVICE pointer to outer blocks of lb, or zeros when null). The existing blocks are staged through
  /// the context's workspace (overlapping device copies are undefined), so no tensor is allocated.
  template <class T>
  static void spread_and_append(T* base, Index outer, Index la, Index lb, const T* extra) {
    if (outer > 1 && la > 0 && lb > 0) {
      T* staging = cuda::context().workspace_for<T>(outer * la);
      copy_rows<T>(staging, la, base, la, la, outer);
      copy_rows<T>(base, la + lb, staging, la, la, outer);
    }
    if (extra) copy_rows<T>(base + la, la + lb, extra, lb, lb, outer);
    else zero_rows<T>(base + la, la + lb, lb, outer);
  }

  /// sums[j] (host) = the sum of squares of the elements of src (outer, d, inner) with middle index j;
  /// waits for the result.
  template <class T>
  static void axis_square_sums(const T* src, Index outer, Index d, Index inner, double* sums) {
    auto& ctx = cuda::context();
    double* device_sums = ctx.workspace_for<double>(d);
    kernels::axis_square_sums<T>(src, outer, d, inner, device_sums, ctx.stream());
    NETGROW_CUDA_CHECK(cudaMemcpyAsync(sums, device_sums, sizeof(double) * static_cast<std::size_t>(d),
                                       cudaMemcpyDeviceToHost, ctx.stream()));
    ctx.synchronize();
  }

  template <class T>
  static void axis_to_rows(const T* src, Index outer, Index d, Index inner, T* rows) {
    kernels::axis_to_rows<T>(src, outer, d, inner, rows, cuda::context().stream());
  }

  template <class T>
  static void rows_to_axis(const T* rows, Index outer, Index d, Index inner, T* dst) {
    kernels::rows_to_axis<T>(rows, outer, d, inner, dst, cuda::context().stream());
  }
};

}  // namespace netgrow::backend
