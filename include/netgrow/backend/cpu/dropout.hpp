/// \file
/// netgrow/backend/cpu/dropout.hpp: the CPU back end of ops/dropout.hpp.
#pragma once

#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/core/dropout_mask.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The dropout op of ops/dropout.hpp on device D (specialised per device).
template <class D>
struct DropoutOps;

/// Dropout on the CPU: one key per row of `last` elements, then one hash per element.
template <>
struct DropoutOps<Cpu> {
  /// y = x * scale where kept, else 0, over x seen as (rows, middle, last) (shapes checked by the facade).
  template <class T>
  static void dropout(const DropoutMask& mask, T scale, Index rows, Index middle, Index last, ConstView<T, Cpu> x,
                      TensorView<T, Cpu> y) {
    (void)rows;
    const T* in = x.data();
    T* out = y.data();
    auto row = [&](Index r) {
      const std::uint64_t key = mask.row_key(r / middle, r % middle);
      const T* a = in + r * last;
      T* b = out + r * last;
      for (Index j = 0; j < last; ++j) b[j] = mask.keep(key, j) ? a[j] * scale : T(0);
    };
    const Index outer = x.numel() / last;
    if (x.numel() > ops::parallel_threshold)
      ops::parallel_for(outer, [&](Index r, int) { row(r); });
    else
      for (Index r = 0; r < outer; ++r) row(r);
  }
};

}  // namespace netgrow::backend
