// kernels/im2col.cuh: batched im2col and its adjoint col2im on the GPU, for square-kernel convolutions.
//
// Layouts: images (N, C, H, W) row-major; cols (C k k, N Ho Wo): row (c, i, j) ordered like a flattened
// (C, k, k) filter, column (n, oy, ox); cols[(c, i, j), (n, oy, ox)] = image[n, c, oy s - p + i, ox s - p + j]
// or 0 outside the image. This is the CPU per-image layout (backend/cpu/conv.hpp, (C k k, Ho Wo)) with
// the N images' column blocks side by side, so a convolution of the whole batch is one GEMM:
// W (out, C k k) x cols -> (out, N Ho Wo).
//
// Versions (one each; the launchers run them):
//   im2col v1_thread_per_column_element  one thread per cols element: x of the grid runs over the
//        columns (n, oy, ox), so writes are coalesced and neighbouring threads read neighbouring pixels;
//        y of the grid strides over the rows (c, i, j). Pure copy: bitwise equal to the CPU im2col.
//   col2im v1_gather_per_pixel  one thread per image element gathers its (at most k x k) taps in (i, j)
//        order, starting from the pixel's current value: no atomics, deterministic, and the same
//        additions in the same order as the CPU col2im.
//
// Contract: im2col assigns cols; col2im *adds* into images. Any kernel size, stride and padding the
// geometry allows (ConvGeometry::check); asynchronous on `stream`. Sizes must fit 32-bit indices per
// dimension: C k k rows, N Ho Wo columns and N C H W pixels each < 2^31 (checked).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>

#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::kernels {

namespace im2col_detail {

// The geometry in 32-bit ints, as the kernels use it.
struct Geometry {
  int batch, channels, height, width, kernel, stride, padding, out_height, out_width;
  int rows;     // C k k
  int columns;  // N Ho Wo
};

inline Geometry checked_geometry(Index batch, const ConvGeometry& g, const char* who) {
  g.check(who);
  require(batch >= 0 && g.channels >= 0 && g.height >= 0 && g.width >= 0, who, ": negative size (batch ", batch,
          ", channels ", g.channels, ", height ", g.height, ", width ", g.width, ")");
  const Index rows = g.patch_size(), columns = batch * g.positions();
  const Index pixels = batch * g.channels * g.height * g.width;
  require(rows <= INT_MAX && columns <= INT_MAX && pixels <= INT_MAX && g.kernel <= INT_MAX, who, ": ", rows, " rows, ",
          columns, " columns or ", pixels, " pixels exceed the kernels' 32-bit index range");
  return Geometry{static_cast<int>(batch),     static_cast<int>(g.channels),     static_cast<int>(g.height),
                  static_cast<int>(g.width),   static_cast<int>(g.kernel),       static_cast<int>(g.stride),
                  static_cast<int>(g.padding), static_cast<int>(g.out_height()), static_cast<int>(g.out_width()),
                  static_cast<int>(rows),      static_cast<int>(columns)};
}

inline constexpr int threads_per_block = 256;
inline constexpr int max_grid_y = 65535;

// grid (ceil(columns / 256), min(rows, 65535)); each thread: one column, rows blockIdx.y + t gridDim.y.
template <class T>
__global__ void __launch_bounds__(threads_per_block)
    im2col_kernel(const T* __restrict__ images, Geometry g, T* __restrict__ cols) {
  const int column = static_cast<int>(blockIdx.x) * threads_per_block + static_cast<int>(threadIdx.x);
  if (column >= g.columns) return;
  const int positions = g.out_height * g.out_width;
  const int n = column / positions;
  const int position = column - n * positions;
  const int oy = position / g.out_width;
  const int ox = position - oy * g.out_width;
  const int y0 = oy * g.stride - g.padding, x0 = ox * g.stride - g.padding;
  const int taps = g.kernel * g.kernel;
  const T* image = images + static_cast<Index>(n) * g.channels * g.height * g.width;
  for (int row = static_cast<int>(blockIdx.y); row < g.rows; row += static_cast<int>(gridDim.y)) {
    const int c = row / taps;
    const int tap = row - c * taps;
    const int i = tap / g.kernel;
    const int j = tap - i * g.kernel;
    const int y = y0 + i, x = x0 + j;
    T value = T(0);
    if (y >= 0 && y < g.height && x >= 0 && x < g.width)
      value = image[(static_cast<Index>(c) * g.height + y) * g.width + x];
    cols[static_cast<Index>(row) * g.columns + column] = value;
  }
}

// grid (ceil(H W / 256), min(N C, 65535)); each thread: one pixel (y, x) of planes blockIdx.y + t gridDim.y.
template <class T>
__global__ void __launch_bounds__(threads_per_block)
    col2im_kernel(const T* __restrict__ cols, Geometry g, T* __restrict__ images) {
  const int pixel = static_cast<int>(blockIdx.x) * threads_per_block + static_cast<int>(threadIdx.x);
  const int plane_size = g.height * g.width;
  if (pixel >= plane_size) return;
  const int y = pixel / g.width;
  const int x = pixel - y * g.width;
  const int positions = g.out_height * g.out_width;
  const int planes = g.batch * g.channels;
  // Taps (i, j) reading this pixel: oy = (y + p - i) / s exact and in [0, Ho); likewise ox.
  const int y_shift = y + g.padding, x_shift = x + g.padding;
  const int i_first = y_shift % g.stride, j_first = x_shift % g.stride;
  for (int plane = static_cast<int>(blockIdx.y); plane < planes; plane += static_cast<int>(gridDim.y)) {
    const int n = plane / g.channels;
    const int c = plane - n * g.channels;
    T* out = images + static_cast<Index>(plane) * plane_size + pixel;
    T sum = *out;
    for (int i = i_first; i < g.kernel && i <= y_shift; i += g.stride) {
      const int oy = (y_shift - i) / g.stride;
      if (oy >= g.out_height) continue;
      const Index row_base = static_cast<Index>((c * g.kernel + i) * g.kernel) * g.columns +
                             static_cast<Index>(n) * positions + static_cast<Index>(oy) * g.out_width;
      for (int j = j_first; j < g.kernel && j <= x_shift; j += g.stride) {
        const int ox = (x_shift - j) / g.stride;
        if (ox >= g.out_width) continue;
        sum += cols[row_base + static_cast<Index>(j) * g.columns + ox];
      }
    }
    *out = sum;
  }
}

}  // namespace im2col_detail

// cols (C k k, N Ho Wo) = im2col of images (N, C, H, W); cols is assigned. Asynchronous on `stream`.
template <class T>
void im2col(const T* images, Index batch, const ConvGeometry& g, T* cols, cudaStream_t stream) {
  namespace d = im2col_detail;
  const d::Geometry geo = d::checked_geometry(batch, g, "im2col");
  if (geo.rows == 0 || geo.columns == 0) return;
  const dim3 grid((geo.columns + d::threads_per_block - 1) / d::threads_per_block, std::min(geo.rows, d::max_grid_y));
  d::im2col_kernel<T><<<grid, d::threads_per_block, 0, stream>>>(images, geo, cols);
  NETGROW_CUDA_CHECK(cudaGetLastError());
}

// images (N, C, H, W) += col2im of cols (C k k, N Ho Wo), the adjoint of im2col. Each pixel is written by
// exactly one thread (deterministic, no atomics). Asynchronous on `stream`.
template <class T>
void col2im(const T* cols, Index batch, const ConvGeometry& g, T* images, cudaStream_t stream) {
  namespace d = im2col_detail;
  const d::Geometry geo = d::checked_geometry(batch, g, "col2im");
  const int plane_size = geo.height * geo.width, planes = geo.batch * geo.channels;
  if (plane_size == 0 || planes == 0 || geo.columns == 0) return;
  const dim3 grid((plane_size + d::threads_per_block - 1) / d::threads_per_block, std::min(planes, d::max_grid_y));
  d::col2im_kernel<T><<<grid, d::threads_per_block, 0, stream>>>(cols, geo, images);
  NETGROW_CUDA_CHECK(cudaGetLastError());
}

}  // namespace netgrow::kernels
