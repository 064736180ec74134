/// \file
/// netgrow/backend/cpu/layout.hpp: the CPU back end of ops/layout.hpp. Every op sees its tensor as
/// (outer, d, inner) blocks (see there) and arrives checked.
#pragma once

#include <algorithm>
#include <cstring>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The layout ops of ops/layout.hpp on device D (specialised per device).
template <class D>
struct LayoutOps;

/// Block copies on the CPU.
template <>
struct LayoutOps<Cpu> {
  /// `height` rows of `width` elements: dst row r (at dst + r dst_pitch) = src row r (at src + r src_pitch);
  /// dst and src do not overlap.
  template <class T>
  static void copy_rows(T* dst, Index dst_pitch, const T* src, Index src_pitch, Index width, Index height) {
    for (Index r = 0; r < height; ++r) std::copy_n(src + r * src_pitch, width, dst + r * dst_pitch);
  }

  /// A buffer of `outer` blocks of la elements becomes `outer` blocks of la + lb, each followed by its
  /// lb new elements (from `extra`, outer blocks of lb, or zeros when null); moves back to front in place.
  template <class T>
  static void spread_and_append(T* base, Index outer, Index la, Index lb, const T* extra) {
    for (Index o = outer - 1; o >= 0; --o) {
      if (o > 0) std::memmove(base + o * (la + lb), base + o * la, sizeof(T) * static_cast<std::size_t>(la));
      T* dst = base + o * (la + lb) + la;
      if (extra) std::copy_n(extra + o * lb, lb, dst);
      else std::fill_n(dst, lb, T(0));
    }
  }

  /// sums[j] = the sum of squares of the elements of src (outer, d, inner) with middle index j.
  template <class T>
  static void axis_square_sums(const T* src, Index outer, Index d, Index inner, double* sums) {
    if (inner == 1) {
      const auto m = matrix(ConstView<T, Cpu>(src, Shape{outer, d}));
      for (Index j = 0; j < d; ++j) sums[j] = m.col(j).template cast<double>().squaredNorm();
      return;
    }
    for (Index o = 0; o < outer; ++o)
      for (Index j = 0; j < d; ++j) {
        const T* block = src + (o * d + j) * inner;
        double s = 0;
        for (Index i = 0; i < inner; ++i) s += static_cast<double>(block[i]) * static_cast<double>(block[i]);
        sums[j] += s;
      }
  }

  /// rows (d, outer inner) from src (outer, d, inner).
  template <class T>
  static void axis_to_rows(const T* src, Index outer, Index d, Index inner, T* rows) {
    if (inner == 1) {  // a transpose: (outer, d) -> (d, outer)
      matrix(TensorView<T, Cpu>(rows, Shape{d, outer})) = matrix(ConstView<T, Cpu>(src, Shape{outer, d})).transpose();
      return;
    }
    for (Index o = 0; o < outer; ++o)
      for (Index j = 0; j < d; ++j) std::copy_n(src + (o * d + j) * inner, inner, rows + j * outer * inner + o * inner);
  }

  /// dst (outer, d, inner) from rows (d, outer inner).
  template <class T>
  static void rows_to_axis(const T* rows, Index outer, Index d, Index inner, T* dst) {
    if (inner == 1) {  // a transpose: (d, outer) -> (outer, d)
      matrix(TensorView<T, Cpu>(dst, Shape{outer, d})) = matrix(ConstView<T, Cpu>(rows, Shape{d, outer})).transpose();
      return;
    }
    for (Index o = 0; o < outer; ++o)
      for (Index j = 0; j < d; ++j) std::copy_n(rows + j * outer * inner + o * inner, inner, dst + (o * d + j) * inner);
  }
};

}  // namespace netgrow::backend
