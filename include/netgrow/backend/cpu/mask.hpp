/// \file
/// netgrow/backend/cpu/mask.hpp: the CPU back end of ops/mask.hpp.
#pragma once

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The mask ops of ops/mask.hpp on device D (specialised per device).
template <class D>
struct MaskOps;

/// Mask ops on the CPU.
template <>
struct MaskOps<Cpu> {
  /// x = 0 where mask is 0 (same element count, checked by the facade).
  template <class T>
  static void apply_mask(ConstView<T, Cpu> mask, TensorView<T, Cpu> x) {
    const Index n = x.numel();
    const T* m = mask.data();
    T* p = x.data();
    NETGROW_PARALLEL_FOR_IF(n > ops::parallel_threshold)
    for (Index i = 0; i < n; ++i)
      if (m[i] == T(0)) p[i] = T(0);
  }

  /// x (r, c) *= row_gains[i] col_gains[j]; an empty gain vector counts as all ones (shapes checked by
  /// the facade).
  template <class T>
  static void scale_rows_columns(ConstView<T, Cpu> row_gains, ConstView<T, Cpu> col_gains, TensorView<T, Cpu> x) {
    const Index r = x.dim(0), c = x.dim(1);
    const T* gr = row_gains.empty() ? nullptr : row_gains.data();
    const T* gc = col_gains.empty() ? nullptr : col_gains.data();
    T* p = x.data();
    NETGROW_PARALLEL_FOR_IF(r * c > ops::parallel_threshold)
    for (Index i = 0; i < r; ++i) {
      const T a = gr ? gr[i] : T(1);
      for (Index j = 0; j < c; ++j) p[i * c + j] *= gc ? a * gc[j] : a;
    }
  }
};

}  // namespace netgrow::backend
