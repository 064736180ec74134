/// \file
/// netgrow/ops/pair_data.hpp: GradMax's data for convolutional pairs on a device (the math is
/// grow/pair_data.hpp's, whose Cpu branch computes it directly and is the reference). Called by
/// grow::data_from_last_backward on device networks; the route of a new channel through pooling comes
/// from the host as index lists. Back end: backend/cuda/pair_data.hpp (no Cpu back end).
///
/// ~~~{.unparsed}
///   conv_pair_matrix    Conv -> ... -> Conv: M (C2 k2 k2, C0 k1 k1) = D cols^T, D the consumer's taps
///                       gathered at its input grid and routed back to the producer's grid, cols the
///                       producer's patches; centred (M -= D 1 mean^T) for BatchNorm in training mode
///   conv_pair_patches   Conv -> ... -> Flatten / GlobalAvgPool -> Dense: the routed patches Q (N, Yp fan_in)
///                       or their average (N, fan_in), centred likewise; M = dz^T Q is formed by the caller
/// ~~~
/// Everything stays on the device; the result is a new tensor.
#pragma once

#include "netgrow/backend/host_route.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::ops {

using backend::HostRoute;

/// Conv -> ... -> Conv (see the file comment): h (N, C0, H, W) the producer's input with geometry g1,
/// dz (N, C2, Ho2, Wo2) the consumer's output gradient; the consumer has kernel k2, stride s2, padding
/// p2 over a (hp, wp) input grid; `back` routes that grid's positions back to the producer's Y1 (rows:
/// Y1, entries: consumer-grid positions), the identity when empty. Returns M (C2 k2 k2, C0 k1 k1).
template <class T, class D>
Tensor<T, D> conv_pair_matrix(ConstView<T, D> h, const ConvGeometry& g1, ConstView<T, D> dz, Index k2, Index s2,
                              Index p2, Index hp, Index wp, const HostRoute<T>& back, bool centre) {
  require<ShapeError>(dz.rank() == 4 && h.rank() == 4 && dz.dim(0) == h.dim(0), "conv_pair_matrix: consumer gradient ",
                      dz.shape(), " for producer input ", h.shape());
  require<ShapeError>(!back.identity() || hp * wp == g1.positions(), "conv_pair_matrix: an identity route needs the "
                      "consumer's grid (", hp, " x ", wp, ") to be the producer's output grid (", g1.out_height(),
                      " x ", g1.out_width(), ")");
  require<ShapeError>(back.identity() || static_cast<Index>(back.offsets.size()) == g1.positions() + 1,
                      "conv_pair_matrix: a route of ", back.offsets.size(), " offsets for ", g1.positions(),
                      " producer positions");
  return backend::PairDataOps<D>::template conv_pair_matrix<T>(h, g1, dz, k2, s2, p2, hp, wp, back, centre);
}

/// Conv -> ... -> Flatten / GlobalAvgPool -> Dense (see the file comment): h and g1 as above; `route`
/// maps the Yp positions the Dense layer sees (rows) to producer positions (entries), the identity when
/// empty (then Yp = Y1). Returns Q (N, Yp fan_in), or (N, fan_in) when `averaged`.
template <class T, class D>
Tensor<T, D> conv_pair_patches(ConstView<T, D> h, const ConvGeometry& g1, const HostRoute<T>& route, Index yp,
                               bool averaged, bool centre) {
  require<ShapeError>(h.rank() == 4, "conv_pair_patches: producer input ", h.shape(), " is not (N, C, H, W)");
  require<ShapeError>(!route.identity() || yp == g1.positions(), "conv_pair_patches: an identity route needs ", yp,
                      " positions = the producer's ", g1.positions());
  require<ShapeError>(route.identity() || static_cast<Index>(route.offsets.size()) == yp + 1,
                      "conv_pair_patches: a route of ", route.offsets.size(), " offsets for ", yp, " positions");
  return backend::PairDataOps<D>::template conv_pair_patches<T>(h, g1, route, yp, averaged, centre);
}

}  // namespace netgrow::ops
