/// \file
/// netgrow/backend/cpu/elementwise.hpp: the CPU back end of ops/elementwise.hpp (activations applied
/// element by element, OpenMP-parallel above ops::parallel_threshold elements).
#pragma once

#include <algorithm>

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The element-wise ops of ops/elementwise.hpp on device D (specialised per device).
template <class D>
struct ElementwiseOps;

/// Element-wise maps on the CPU.
template <>
struct ElementwiseOps<Cpu> {
  template <class Act, class T>
  static void activation_forward(const Act& act, ConstView<T, Cpu> x, TensorView<T, Cpu> y) {
    if constexpr (requires(ConstArray<T> a) { act.f_array(a); }) {  // the activation's vectorised path
      return in_chunks(x.numel(), [&](Index begin, Index count) {
        Array<T>(y.data() + begin, count) = act.f_array(ConstArray<T>(x.data() + begin, count));
      });
    }
    const T* xp = x.data();
    T* yp = y.data();
    const Index n = x.numel();
    NETGROW_PARALLEL_FOR_IF(n > ops::parallel_threshold)
    for (Index i = 0; i < n; ++i) yp[i] = act.f(xp[i]);
  }

  template <class Act, class T>
  static void activation_backward(const Act& act, ConstView<T, Cpu> x, ConstView<T, Cpu> y, ConstView<T, Cpu> dy,
                                  TensorView<T, Cpu> dx) {
    if constexpr (requires(ConstArray<T> a) { act.df_array(a); }) {
      return in_chunks(x.numel(), [&](Index begin, Index count) {
        Array<T>(dx.data() + begin, count) =
            ConstArray<T>(dy.data() + begin, count) * act.df_array(ConstArray<T>(x.data() + begin, count));
      });
    }
    const Index n = x.numel();
    const T *xp = x.data(), *yp = y.data(), *dyp = dy.data();
    T* dxp = dx.data();
    NETGROW_PARALLEL_FOR_IF(n > ops::parallel_threshold)
    for (Index i = 0; i < n; ++i) dxp[i] = dyp[i] * act.df(xp[i], yp[i]);
  }

 private:
  template <class T>
  using Array = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
  template <class T>
  using ConstArray = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

  // f(begin, count) over [0, n) in chunks of 4096, in parallel above ops::parallel_threshold.
  template <class F>
  static void in_chunks(Index n, F&& f) {
    constexpr Index chunk = 4096;
    const Index chunks = (n + chunk - 1) / chunk;
    if (n <= ops::parallel_threshold) {
      for (Index c = 0; c < chunks; ++c) f(c * chunk, std::min(chunk, n - c * chunk));
      return;
    }
    ops::parallel_for(chunks, [&](Index c, int) { f(c * chunk, std::min(chunk, n - c * chunk)); });
  }
};

}  // namespace netgrow::backend
