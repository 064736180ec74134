// kernels/pair_data.cuh: GradMax's data for convolutional pairs on the GPU (grow/pair_data.hpp has the
// math and the Cpu reference). Three gathers; the matrix products around them are GEMMs.
//
// Layouts: the producer's patches cols (fan_in = C0 k1 k1, N Y1) as kernels/im2col.cuh makes them
// (column n Y1 + y); a route of a new channel from the producer's grid (Y1 positions) to the consumer's
// input grid (Yp positions) in compressed rows: entries offsets[y'] .. offsets[y' + 1] of (index, weight)
// say that the value at y' is the sum of weight x value at producer position index (pooling between the
// pair; the identity when absent).
//
// Versions (one each; the launchers run them):
//   consumer_taps v1_gather        D (fan_out = C2 k2 k2, N Yp): one thread per element reads the consumer
//        output gradient dz (N, C2, Ho2, Wo2) that reaches input position y' through tap (a, b):
//        D[(oc, a, b), n Yp + y'] = dz[n, oc, oy, ox] with y' = (oy s - p + a, ox s - p + b), 0 where no
//        output reads y' through that tap. Pure copy: bitwise equal to the Cpu loop.
//   route_back v1_gather           R^T applied to the columns of D: out[f, n Y1 + y] = sum over the
//        transposed route's entries of y (y', w) of w D[f, n Yp + y'], in entry order (the host builds
//        the transposed route in the order the Cpu loop accumulates).
//   routed_patches v1_gather       Q (N, Yp fan_in) or, averaged, (N, fan_in): one thread per element sums
//        w cols[f, n Y1 + y] over the route's entries of y' (and over y' for the average), minus the
//        route's weight sum times mean[f] when centring (BatchNorm in training mode).
//
// Contract: outputs are assigned; asynchronous on `stream`; sizes must fit 32-bit indices per dimension
// (checked). Index arrays are int32, weights of the element type.
#pragma once

#include <cuda_runtime.h>

#include <climits>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

namespace pair_data_detail {

inline int checked_int(Index v, const char* who, const char* what) {
  require(v >= 0 && v <= INT_MAX, who, ": ", what, " ", v, " exceeds the kernels' 32-bit index range");
  return static_cast<int>(v);
}

// grid-stride over D's elements (row, n, y').
template <class T>
__global__ void consumer_taps_kernel(const T* __restrict__ dz, int n, int c2, int ho2, int wo2, int k2, int s2, int p2,
                                     int hp, int wp, T* __restrict__ d) {
  const Index yp = static_cast<Index>(hp) * wp;
  const Index columns = static_cast<Index>(n) * yp;
  const Index total = static_cast<Index>(c2) * k2 * k2 * columns;
  for (Index e = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index row = e / columns, column = e - row * columns;
    const int sample = static_cast<int>(column / yp);
    const int y = static_cast<int>(column - static_cast<Index>(sample) * yp);
    const int iy = y / wp, ix = y - (y / wp) * wp;
    const int oc = static_cast<int>(row / (k2 * k2));
    const int tap = static_cast<int>(row - static_cast<Index>(oc) * k2 * k2);
    const int a = tap / k2, b = tap - (tap / k2) * k2;
    const int ny = iy + p2 - a, nx = ix + p2 - b;  // oy s2 = iy + p2 - a
    T value = T(0);
    if (ny >= 0 && nx >= 0 && ny % s2 == 0 && nx % s2 == 0) {
      const int oy = ny / s2, ox = nx / s2;
      if (oy < ho2 && ox < wo2) value = dz[((static_cast<Index>(sample) * c2 + oc) * ho2 + oy) * wo2 + ox];
    }
    d[e] = value;
  }
}

template <class T>
__global__ void route_back_kernel(const T* __restrict__ d, int rows, int n, int yp, int y1,
                                  const std::int32_t* __restrict__ offsets, const std::int32_t* __restrict__ index,
                                  const T* __restrict__ weight, T* __restrict__ out) {
  const Index columns = static_cast<Index>(n) * y1;
  const Index total = static_cast<Index>(rows) * columns;
  for (Index e = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index row = e / columns, column = e - row * columns;
    const int sample = static_cast<int>(column / y1);
    const int y = static_cast<int>(column - static_cast<Index>(sample) * y1);
    const T* src = d + row * static_cast<Index>(n) * yp + static_cast<Index>(sample) * yp;
    T sum = T(0);
    for (int k = offsets[y]; k < offsets[y + 1]; ++k) sum += weight[k] * src[index[k]];
    out[e] = sum;
  }
}

template <class T>
__global__ void routed_patches_kernel(const T* __restrict__ cols, int fan_in, int n, int y1, int yp,
                                      const std::int32_t* __restrict__ offsets, const std::int32_t* __restrict__ index,
                                      const T* __restrict__ weight, bool averaged, const T* __restrict__ mean,
                                      T* __restrict__ q) {
  const int positions = averaged ? 1 : yp;
  const Index per_sample = static_cast<Index>(positions) * fan_in;
  const Index total = static_cast<Index>(n) * per_sample;
  const Index columns = static_cast<Index>(n) * y1;
  const T scale = averaged ? T(1) / static_cast<T>(yp) : T(1);
  for (Index e = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<Index>(gridDim.x) * blockDim.x) {
    const int sample = static_cast<int>(e / per_sample);
    const Index rest = e - static_cast<Index>(sample) * per_sample;
    const int position = static_cast<int>(rest / fan_in);
    const int f = static_cast<int>(rest - static_cast<Index>(position) * fan_in);
    const T* row = cols + static_cast<Index>(f) * columns + static_cast<Index>(sample) * y1;
    T sum = T(0), weights = T(0);
    const int first = averaged ? 0 : position, last = averaged ? yp : position + 1;
    for (int yy = first; yy < last; ++yy)
      for (int k = offsets[yy]; k < offsets[yy + 1]; ++k) {
        sum += scale * weight[k] * row[index[k]];
        weights += scale * weight[k];
      }
    if (mean != nullptr) sum -= weights * mean[f];
    q[e] = sum;
  }
}

}  // namespace pair_data_detail

// D (C2 k2 k2, N Hp Wp) from dz (N, C2, Ho2, Wo2) for a consumer with kernel k2, stride s2, padding p2
// reading an (Hp, Wp) grid (see the file comment); D is assigned.
template <class T>
void consumer_taps(const T* dz, Index n, Index c2, Index ho2, Index wo2, Index k2, Index s2, Index p2, Index hp,
                   Index wp, T* d, cudaStream_t stream) {
  namespace pd = pair_data_detail;
  const char* who = "consumer_taps";
  require(s2 >= 1 && k2 >= 1 && p2 >= 0, who, ": kernel ", k2, ", stride ", s2, ", padding ", p2);
  const Index total = c2 * k2 * k2 * n * hp * wp;
  if (total == 0) return;
  pd::checked_int(c2 * k2 * k2, who, "rows");
  pd::checked_int(n * hp * wp, who, "columns");
  pd::consumer_taps_kernel<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(
      dz, pd::checked_int(n, who, "batch"), pd::checked_int(c2, who, "channels"), pd::checked_int(ho2, who, "height"),
      pd::checked_int(wo2, who, "width"), static_cast<int>(k2), static_cast<int>(s2), static_cast<int>(p2),
      pd::checked_int(hp, who, "grid height"), pd::checked_int(wp, who, "grid width"), d);
  NETGROW_CHECK_LAUNCH("consumer_taps_v1_gather");
}

// out (rows, N Y1) = D (rows, N Yp) routed back to the producer's grid through the transposed route
// (offsets (Y1 + 1), index/weight: its entries, y' and w); out is assigned.
template <class T>
void route_back(const T* d, Index rows, Index n, Index yp, Index y1, const std::int32_t* offsets,
                const std::int32_t* index, const T* weight, T* out, cudaStream_t stream) {
  namespace pd = pair_data_detail;
  const char* who = "route_back";
  const Index total = rows * n * y1;
  if (total == 0) return;
  pd::checked_int(n * yp, who, "columns");
  pd::route_back_kernel<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(
      d, pd::checked_int(rows, who, "rows"), pd::checked_int(n, who, "batch"), pd::checked_int(yp, who, "positions"),
      pd::checked_int(y1, who, "producer positions"), offsets, index, weight, out);
  NETGROW_CHECK_LAUNCH("route_back_v1_gather");
}

// q (N, Yp fan_in), or (N, fan_in) when averaged, from cols (fan_in, N Y1) through the route (offsets
// (Yp + 1), index/weight: its entries, y and w), minus weight sums x mean (fan_in) when mean is given;
// q is assigned.
template <class T>
void routed_patches(const T* cols, Index fan_in, Index n, Index y1, Index yp, const std::int32_t* offsets,
                    const std::int32_t* index, const T* weight, bool averaged, const T* mean, T* q,
                    cudaStream_t stream) {
  namespace pd = pair_data_detail;
  const char* who = "routed_patches";
  const Index total = n * (averaged ? 1 : yp) * fan_in;
  if (total == 0) return;
  pd::checked_int(n * y1, who, "columns");
  pd::routed_patches_kernel<T><<<detail::grid_blocks(total), detail::threads_per_block, 0, stream>>>(
      cols, pd::checked_int(fan_in, who, "fan_in"), pd::checked_int(n, who, "batch"),
      pd::checked_int(y1, who, "producer positions"), pd::checked_int(yp, who, "positions"), offsets, index, weight,
      averaged, mean, q);
  NETGROW_CHECK_LAUNCH("routed_patches_v1_gather");
}

}  // namespace netgrow::kernels
