/// \file
/// netgrow/backend/cpu/layout.hpp: copies that rearrange blocks of Cpu tensors along one axis:
/// concatenation, slicing and writing slices back. Width growth is built on these (appending rows
/// or columns of weights, gradients and optimizer state).
///
/// A tensor of shape (d0, ..., dr) seen along `axis` is (outer, d_axis, inner) with outer the product
/// of the dimensions before the axis and inner the product of those after it.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "netgrow/backend/cpu/blas.hpp"

namespace netgrow::ops {

namespace detail {

struct AxisSplit {
  Index outer = 1, inner = 1;
};

inline AxisSplit split_at(const Shape& s, int axis) {
  AxisSplit r;
  for (int i = 0; i < axis; ++i) r.outer *= s[i];
  for (int i = axis + 1; i < s.rank(); ++i) r.inner *= s[i];
  return r;
}

inline int checked_axis(const Shape& s, int axis, const char* what) {
  const int a = axis < 0 ? axis + s.rank() : axis;
  require<ShapeError>(a >= 0 && a < s.rank(), what, ": axis ", axis, " out of range for shape ", s);
  return a;
}

// True when a and b agree on every dimension except `axis`.
inline bool same_except(const Shape& a, const Shape& b, int axis) {
  if (a.rank() != b.rank()) return false;
  for (int i = 0; i < a.rank(); ++i)
    if (i != axis && a[i] != b[i]) return false;
  return true;
}

}  // namespace detail

/// Shape of a with dimension `axis` increased by `extra`.
inline Shape grown_shape(Shape s, int axis, Index extra) {
  const int a = detail::checked_axis(s, axis, "grown_shape");
  s[a] += extra;
  return s;
}

/// out = a and b joined along `axis` (out is assigned; it must not alias a or b).
template <class T>
void concat(In<T> a, In<T> b, int axis, TensorView<T, Cpu> out) {
  const int ax = detail::checked_axis(a.shape(), axis, "concat");
  require<ShapeError>(detail::same_except(a.shape(), b.shape(), ax), "concat: ", a.shape(), " and ", b.shape(),
                      " differ outside axis ", axis);
  require<ShapeError>(out.shape() == grown_shape(a.shape(), ax, b.dim(ax)), "concat: output ", out.shape(),
                      " for ", a.shape(), " + ", b.shape(), " along axis ", axis);
  const auto [outer, inner] = detail::split_at(a.shape(), ax);
  const Index la = a.dim(ax) * inner, lb = b.dim(ax) * inner;
  for (Index o = 0; o < outer; ++o) {
    T* dst = out.data() + o * (la + lb);
    std::copy_n(a.data() + o * la, la, dst);
    std::copy_n(b.data() + o * lb, lb, dst + la);
  }
}

/// out = src[..., begin:begin+count, ...] along `axis` (out is assigned).
template <class T>
void slice(In<T> src, int axis, Index begin, Index count, TensorView<T, Cpu> out) {
  const int ax = detail::checked_axis(src.shape(), axis, "slice");
  require<ShapeError>(begin >= 0 && count >= 0 && begin + count <= src.dim(ax), "slice: [", begin, ", ",
                      begin + count, ") out of range along axis ", axis, " of ", src.shape());
  Shape s = src.shape();
  s[ax] = count;
  require<ShapeError>(out.shape() == s, "slice: output ", out.shape(), " for slice shape ", s);
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index ls = src.dim(ax) * inner, lo = count * inner;
  for (Index o = 0; o < outer; ++o) std::copy_n(src.data() + o * ls + begin * inner, lo, out.data() + o * lo);
}

/// dst[..., begin:begin+src.dim(axis), ...] = src along `axis`.
template <class T>
void assign_slice(In<T> src, int axis, Index begin, TensorView<T, Cpu> dst) {
  const int ax = detail::checked_axis(dst.shape(), axis, "assign_slice");
  require<ShapeError>(detail::same_except(src.shape(), dst.shape(), ax), "assign_slice: ", src.shape(), " into ",
                      dst.shape(), " along axis ", axis);
  const Index count = src.dim(ax);
  require<ShapeError>(begin >= 0 && begin + count <= dst.dim(ax), "assign_slice: [", begin, ", ", begin + count,
                      ") out of range along axis ", axis, " of ", dst.shape());
  const auto [outer, inner] = detail::split_at(dst.shape(), ax);
  const Index ld = dst.dim(ax) * inner, ls = count * inner;
  for (Index o = 0; o < outer; ++o) std::copy_n(src.data() + o * ls, ls, dst.data() + o * ld + begin * inner);
}

/// Appends a block of shape `extra_shape` to t along `axis`, in place: the existing blocks move within
/// t's buffer (back to front), so no new allocation is made while the capacity lasts. `extra` holds
/// the appended values (extra_shape, row-major) or is null for zeros. Call reserve() first to make
/// room; this function requires it (and cannot fail once the capacity is there).
template <class T>
void append_in_place(Tensor<T, Cpu>& t, int axis, const Shape& extra_shape, const T* extra) {
  const int ax = detail::checked_axis(t.shape(), axis, "append_in_place");
  require<ShapeError>(detail::same_except(t.shape(), extra_shape, ax), "append_in_place: ", extra_shape, " onto ",
                      t.shape(), " along axis ", axis);
  const Shape grown = grown_shape(t.shape(), ax, extra_shape[ax]);
  const auto [outer, inner] = detail::split_at(t.shape(), ax);
  const Index la = t.dim(ax) * inner, lb = extra_shape[ax] * inner;
  t.reshape_within_capacity(grown);  // throws (before any change) when the capacity is short
  T* base = t.data();
  for (Index o = outer - 1; o >= 0; --o) {
    if (o > 0) std::memmove(base + o * (la + lb), base + o * la, sizeof(T) * static_cast<std::size_t>(la));
    T* dst = base + o * (la + lb) + la;
    if (extra) std::copy_n(extra + o * lb, lb, dst);
    else std::fill_n(dst, lb, T(0));
  }
}

/// norms[j] = the Euclidean norm of all elements of src whose index along `axis` is j (the norm of
/// row j of axis_to_rows(src, axis), without building it).
template <class T>
std::vector<double> axis_norms(In<T> src, int axis) {
  const int ax = detail::checked_axis(src.shape(), axis, "axis_norms");
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index d = src.dim(ax);
  std::vector<double> sq(static_cast<std::size_t>(d), 0.0);
  if (inner == 1) {
    const auto m = matrix(TensorView<const T, Cpu>(src.data(), Shape{outer, d}));
    for (Index j = 0; j < d; ++j) sq[static_cast<std::size_t>(j)] = m.col(j).template cast<double>().squaredNorm();
  } else {
    for (Index o = 0; o < outer; ++o)
      for (Index j = 0; j < d; ++j) {
        const T* block = src.data() + (o * d + j) * inner;
        double s = 0;
        for (Index i = 0; i < inner; ++i) s += static_cast<double>(block[i]) * static_cast<double>(block[i]);
        sq[static_cast<std::size_t>(j)] += s;
      }
  }
  for (double& v : sq) v = std::sqrt(v);
  return sq;
}

/// rows (d_axis, outer * inner): row j holds every element of src whose index along `axis` is j, in
/// row-major order of the other dimensions. For a Dense weight (out, in) and axis 1, row j is column j;
/// for a convolution weight (out, in, kh, kw) and axis 1, row j is the flattened (out, kh, kw) slice.
template <class T>
void axis_to_rows(In<T> src, int axis, TensorView<T, Cpu> rows) {
  const int ax = detail::checked_axis(src.shape(), axis, "axis_to_rows");
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index d = src.dim(ax);
  require<ShapeError>(rows.shape() == Shape{d, outer * inner}, "axis_to_rows: output ", rows.shape(), " for ",
                      src.shape(), " along axis ", axis);
  if (inner == 1) {  // a transpose: (outer, d) -> (d, outer)
    matrix(rows) = matrix(TensorView<const T, Cpu>(src.data(), Shape{outer, d})).transpose();
    return;
  }
  for (Index o = 0; o < outer; ++o)
    for (Index j = 0; j < d; ++j)
      std::copy_n(src.data() + (o * d + j) * inner, inner, rows.data() + j * outer * inner + o * inner);
}

/// The inverse of axis_to_rows: writes rows (d_axis, outer * inner) into dst along `axis`.
template <class T>
void rows_to_axis(In<T> rows, int axis, TensorView<T, Cpu> dst) {
  const int ax = detail::checked_axis(dst.shape(), axis, "rows_to_axis");
  const auto [outer, inner] = detail::split_at(dst.shape(), ax);
  const Index d = dst.dim(ax);
  require<ShapeError>(rows.shape() == Shape{d, outer * inner}, "rows_to_axis: rows ", rows.shape(), " for ",
                      dst.shape(), " along axis ", axis);
  if (inner == 1) {  // a transpose: (d, outer) -> (outer, d)
    matrix(TensorView<T, Cpu>(dst.data(), Shape{outer, d})) = matrix(rows).transpose();
    return;
  }
  for (Index o = 0; o < outer; ++o)
    for (Index j = 0; j < d; ++j)
      std::copy_n(rows.data() + j * outer * inner + o * inner, inner, dst.data() + (o * d + j) * inner);
}

}  // namespace netgrow::ops
