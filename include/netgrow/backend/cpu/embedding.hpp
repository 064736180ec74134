/// \file
/// netgrow/backend/cpu/embedding.hpp: the CPU back end of ops/embedding.hpp (a table lookup by id and its
/// gradient, accumulated by id in position order); arguments arrive checked.
#pragma once

#include <algorithm>
#include <cmath>

#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The first bad id of a lookup: its position (-1: none) and value.
struct InvalidId {
  Index position = -1;
  double id = 0;
};

/// The embedding ops of ops/embedding.hpp on device D (specialised per device).
template <class D>
struct EmbeddingOps;

/// Table lookups on the CPU.
template <>
struct EmbeddingOps<Cpu> {
  /// The first id that is not a whole number in [0, vocabulary) (position -1: none).
  template <class T>
  static InvalidId first_invalid(ConstView<T, Cpu> ids, Index vocabulary) {
    for (Index i = 0; i < ids.numel(); ++i) {
      const T id = ids.data()[i];
      if (!(id >= T(0) && id < static_cast<T>(vocabulary) && std::floor(id) == id)) return {i, static_cast<double>(id)};
    }
    return {};
  }

  /// y (P, d): row i = table[ids[i]].
  template <class T>
  static void forward(ConstView<T, Cpu> ids, ConstView<T, Cpu> table, TensorView<T, Cpu> y) {
    const Index d = table.dim(1);
    for (Index i = 0; i < ids.numel(); ++i)
      std::copy_n(table.data() + static_cast<Index>(ids.data()[i]) * d, d, y.data() + i * d);
  }

  /// dtable[id] (+)= the rows of dy at the positions holding id, added in position order.
  template <class T>
  static void backward(ConstView<T, Cpu> ids, ConstView<T, Cpu> dy, TensorView<T, Cpu> dtable, bool accumulate) {
    const Index d = dtable.dim(1);
    if (!accumulate) std::fill_n(dtable.data(), dtable.numel(), T(0));
    for (Index i = 0; i < ids.numel(); ++i) {
      T* row = dtable.data() + static_cast<Index>(ids.data()[i]) * d;
      const T* g = dy.data() + i * d;
      for (Index c = 0; c < d; ++c) row[c] += g[c];
    }
  }
};

}  // namespace netgrow::backend
