/// \file
/// netgrow/backend/cuda/pair_data.hpp: the CUDA back end of ops/pair_data.hpp (GradMax's data for
/// convolutional pairs on the device). Arguments arrive checked.
///
/// nvcc only (launches kernels).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/im2col.cuh"
#include "netgrow/kernels/pair_data.cuh"
#include "netgrow/backend/host_route.hpp"

namespace netgrow::backend {

namespace cuda_detail {

// A route on the device (three tensors), or nothing for the identity.
template <class T>
struct DeviceRoute {
  Tensor<std::int32_t, Cuda> offsets, index;
  Tensor<T, Cuda> weight;
  explicit DeviceRoute(const HostRoute<T>& r) {
    if (r.identity()) return;
    offsets = to<Cuda>(ConstView<std::int32_t, Cpu>(r.offsets.data(), Shape{static_cast<Index>(r.offsets.size())}));
    if (r.index.empty()) return;
    index = to<Cuda>(ConstView<std::int32_t, Cpu>(r.index.data(), Shape{static_cast<Index>(r.index.size())}));
    weight = to<Cuda>(ConstView<T, Cpu>(r.weight.data(), Shape{static_cast<Index>(r.weight.size())}));
  }
};

// The identity route over `positions` rows (one entry of weight 1 each), for kernels that need a route.
template <class T>
HostRoute<T> identity_route(Index positions) {
  HostRoute<T> r;
  r.offsets.resize(static_cast<std::size_t>(positions + 1));
  r.index.resize(static_cast<std::size_t>(positions));
  r.weight.assign(static_cast<std::size_t>(positions), T(1));
  for (Index y = 0; y <= positions; ++y) r.offsets[static_cast<std::size_t>(y)] = static_cast<std::int32_t>(y);
  for (Index y = 0; y < positions; ++y) r.index[static_cast<std::size_t>(y)] = static_cast<std::int32_t>(y);
  return r;
}

// cols (fan_in, N Y1) of h and, when centring, their mean over the N Y1 columns (fan_in).
template <class T>
void patches_and_mean(ConstView<T, Cuda> h, const ConvGeometry& g1, bool centre, Tensor<T, Cuda>& cols,
                      Tensor<T, Cuda>& mean) {
  const Index n = h.dim(0), fan_in = g1.patch_size(), columns = n * g1.positions();
  cols = Tensor<T, Cuda>(Shape{fan_in, columns});
  kernels::im2col<T>(h.data(), n, g1, cols.data(), cuda::context().stream());
  if (!centre) return;
  Tensor<T, Cuda> ones(Shape{columns, 1});
  BlasOps<Cuda>::fill<T>(ones.view(), T(1) / static_cast<T>(columns));
  mean = Tensor<T, Cuda>(Shape{fan_in, 1});
  BlasOps<Cuda>::gemm<T>(false, false, T(1), cols.cview(), ones.cview(), T(0), mean.view());
}

}  // namespace cuda_detail

/// GradMax's pair data on the GPU.
template <>
struct PairDataOps<Cuda> {
  /// Conv -> ... -> Conv (see the file comment): h (N, C0, H, W) the producer's input with geometry g1,
  /// dz (N, C2, Ho2, Wo2) the consumer's output gradient; the consumer has kernel k2, stride s2, padding
  /// p2 over a (hp, wp) input grid; `back` routes that grid's positions back to the producer's Y1 (rows:
  /// Y1, entries: consumer-grid positions), the identity when empty. Returns M (C2 k2 k2, C0 k1 k1).
  template <class T>
  static Tensor<T, Cuda> conv_pair_matrix(ConstView<T, Cuda> h, const ConvGeometry& g1, ConstView<T, Cuda> dz, Index k2,
                                   Index s2, Index p2, Index hp, Index wp, const HostRoute<T>& back, bool centre) {
    const Index n = h.dim(0), fan_in = g1.patch_size(), y1 = g1.positions(), yp = hp * wp;
    const Index c2 = dz.dim(1), fan_out = c2 * k2 * k2;
    cudaStream_t stream = cuda::context().stream();
    Tensor<T, Cuda> cols, mean;
    cuda_detail::patches_and_mean(h, g1, centre, cols, mean);
    Tensor<T, Cuda> d(Shape{fan_out, n * yp});
    kernels::consumer_taps<T>(dz.data(), n, c2, dz.dim(2), dz.dim(3), k2, s2, p2, hp, wp, d.data(), stream);
    if (!back.identity()) {
      const cuda_detail::DeviceRoute<T> route(back);
      Tensor<T, Cuda> routed(Shape{fan_out, n * y1});
      kernels::route_back<T>(d.data(), fan_out, n, yp, y1, route.offsets.data(), route.index.data(), route.weight.data(),
                             routed.data(), stream);
      d = std::move(routed);
    }
    Tensor<T, Cuda> m(Shape{fan_out, fan_in});
    BlasOps<Cuda>::gemm<T>(false, true, T(1), d.cview(), cols.cview(), T(0), m.view());
    if (centre) {  // M -= (D 1) mean^T
      Tensor<T, Cuda> ones(Shape{n * y1, 1}), row_sums(Shape{fan_out, 1});
      BlasOps<Cuda>::fill<T>(ones.view(), T(1));
      BlasOps<Cuda>::gemm<T>(false, false, T(1), d.cview(), ones.cview(), T(0), row_sums.view());
      BlasOps<Cuda>::gemm<T>(false, true, T(-1), row_sums.cview(), mean.cview(), T(1), m.view());
    }
    return m;
  }

  /// Conv -> ... -> Flatten / GlobalAvgPool -> Dense (see the file comment): h and g1 as above; `route`
  /// maps the Yp positions the Dense layer sees (rows) to producer positions (entries), the identity when
  /// empty (then Yp = Y1). Returns Q (N, Yp fan_in), or (N, fan_in) when `averaged`.
  template <class T>
  static Tensor<T, Cuda> conv_pair_patches(ConstView<T, Cuda> h, const ConvGeometry& g1, const HostRoute<T>& route, Index yp,
                                    bool averaged, bool centre) {
    const Index n = h.dim(0), fan_in = g1.patch_size(), y1 = g1.positions();
    Tensor<T, Cuda> cols, mean;
    cuda_detail::patches_and_mean(h, g1, centre, cols, mean);
    const cuda_detail::DeviceRoute<T> r(route.identity() ? cuda_detail::identity_route<T>(yp) : route);
    Tensor<T, Cuda> q(Shape{n, (averaged ? 1 : yp) * fan_in});
    kernels::routed_patches<T>(cols.data(), fan_in, n, y1, yp, r.offsets.data(), r.index.data(), r.weight.data(), averaged,
                               centre ? mean.data() : nullptr, q.data(), cuda::context().stream());
    return q;
  }
};

}  // namespace netgrow::backend
