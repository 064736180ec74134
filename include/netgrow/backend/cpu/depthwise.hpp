/// \file
/// netgrow/backend/cpu/depthwise.hpp: the CPU back end of ops/depthwise.hpp (shapes arrive checked).
///
/// Algorithm: direct loops over every in-bounds tap, (sample, channel) maps in parallel forward
/// and channels in parallel backward (each channel's filter gradient sums over the batch).
#pragma once

#include <algorithm>

#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

namespace detail {

// Calls f(output index, input index, tap index) for every in-bounds tap of one map.
template <class F>
void for_each_depthwise_tap(const ConvGeometry& g, F&& f) {
  const Index ho = g.out_height(), wo = g.out_width(), k = g.kernel, s = g.stride, p = g.padding;
  for (Index oy = 0; oy < ho; ++oy)
    for (Index i = 0; i < k; ++i) {
      const Index iy = oy * s - p + i;
      if (iy < 0 || iy >= g.height) continue;
      for (Index ox = 0; ox < wo; ++ox)
        for (Index j = 0; j < k; ++j) {
          const Index ix = ox * s - p + j;
          if (ix < 0 || ix >= g.width) continue;
          f(oy * wo + ox, iy * g.width + ix, i * k + j);
        }
    }
}

}  // namespace detail

/// The depthwise convolution ops of ops/depthwise.hpp on device D (specialised per device).
template <class D>
struct DepthwiseOps;

/// Depthwise convolution on the CPU.
template <>
struct DepthwiseOps<Cpu> {
  template <class T>
  static void forward(ConstView<T, Cpu> x, ConstView<T, Cpu> w, ConstView<T, Cpu> b, const ConvGeometry& g,
                      TensorView<T, Cpu> y) {
    const Index c = x.dim(1), hw = g.height * g.width, ohw = g.positions(), kk = g.kernel * g.kernel;
    const bool has_bias = !b.empty();
    ops::parallel_for(x.dim(0) * c, [&](Index nc, int) {
      const Index ch = nc % c;
      const T* filter = w.data() + ch * kk;
      const T* in = x.data() + nc * hw;
      T* out = y.data() + nc * ohw;
      std::fill_n(out, ohw, has_bias ? b[ch] : T(0));
      detail::for_each_depthwise_tap(g, [&](Index o, Index i, Index tap) { out[o] += filter[tap] * in[i]; });
    });
  }

  template <class T>
  static void backward(ConstView<T, Cpu> x, ConstView<T, Cpu> dy, ConstView<T, Cpu> w, const ConvGeometry& g,
                       TensorView<T, Cpu> dw, TensorView<T, Cpu> db, bool accumulate, TensorView<T, Cpu> dx) {
    const Index n = x.dim(0), c = x.dim(1), hw = g.height * g.width, ohw = g.positions(), kk = g.kernel * g.kernel;
    if (!accumulate) {
      std::fill_n(dw.data(), dw.numel(), T(0));
      std::fill_n(db.data(), db.numel(), T(0));
    }
    ops::parallel_for(c, [&](Index ch, int) {
      const T* filter = w.data() + ch * kk;
      T* filter_grad = dw.data() + ch * kk;
      T bias_grad = 0;
      for (Index i = 0; i < n; ++i) {
        const T* in = x.data() + (i * c + ch) * hw;
        const T* go = dy.data() + (i * c + ch) * ohw;
        for (Index o = 0; o < ohw; ++o) bias_grad += go[o];
        detail::for_each_depthwise_tap(g, [&](Index o, Index idx, Index tap) { filter_grad[tap] += go[o] * in[idx]; });
        if (!dx.empty()) {
          T* gi = dx.data() + (i * c + ch) * hw;
          std::fill_n(gi, hw, T(0));
          detail::for_each_depthwise_tap(g, [&](Index o, Index idx, Index tap) { gi[idx] += go[o] * filter[tap]; });
        }
      }
      if (!db.empty()) db[ch] += bias_grad;
    });
  }
};

}  // namespace netgrow::backend
