/// \file
/// netgrow/ops/layout.hpp: copies that rearrange blocks of tensors along one axis, on any device:
/// concatenation, slicing, writing slices back, appending in place, per-index norms, and moving an
/// axis to the rows of a matrix and back. Width growth is built on these (appending rows or columns of
/// weights, gradients and optimizer state). Back ends: backend/cpu/layout.hpp, backend/cuda/layout.hpp.
///
/// A tensor of shape (d0, ..., dr) seen along `axis` is (outer, d_axis, inner) with outer the product
/// of the dimensions before the axis and inner the product of those after it. Negative axes count from
/// the back.
#pragma once

#include <cmath>
#include <vector>

#include "netgrow/backend/cpu/layout.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {

/// (outer, inner) of a shape seen along an axis.
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

/// True when a and b agree on every dimension except `axis`.
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
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void concat(In<T, D> a, In<T, D> b, int axis, Out&& out_values) {
  const TensorView<T, D> out = out_values;
  const int ax = detail::checked_axis(a.shape(), axis, "concat");
  require<ShapeError>(detail::same_except(a.shape(), b.shape(), ax), "concat: ", a.shape(), " and ", b.shape(),
                      " differ outside axis ", axis);
  require<ShapeError>(out.shape() == grown_shape(a.shape(), ax, b.dim(ax)), "concat: output ", out.shape(),
                      " for ", a.shape(), " + ", b.shape(), " along axis ", axis);
  const auto [outer, inner] = detail::split_at(a.shape(), ax);
  const Index la = a.dim(ax) * inner, lb = b.dim(ax) * inner;
  backend::LayoutOps<D>::template copy_rows<T>(out.data(), la + lb, a.data(), la, la, outer);
  backend::LayoutOps<D>::template copy_rows<T>(out.data() + la, la + lb, b.data(), lb, lb, outer);
}

/// out = src[..., begin:begin+count, ...] along `axis` (out is assigned; it must not alias src).
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void slice(In<T, D> src, int axis, Index begin, Index count, Out&& out_values) {
  const TensorView<T, D> out = out_values;
  const int ax = detail::checked_axis(src.shape(), axis, "slice");
  require<ShapeError>(begin >= 0 && count >= 0 && begin + count <= src.dim(ax), "slice: [", begin, ", ",
                      begin + count, ") out of range along axis ", axis, " of ", src.shape());
  Shape s = src.shape();
  s[ax] = count;
  require<ShapeError>(out.shape() == s, "slice: output ", out.shape(), " for slice shape ", s);
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index ls = src.dim(ax) * inner, lo = count * inner;
  backend::LayoutOps<D>::template copy_rows<T>(out.data(), lo, src.data() + begin * inner, ls, lo, outer);
}

/// dst[..., begin:begin+src.dim(axis), ...] = src along `axis` (src must not alias dst).
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void assign_slice(In<T, D> src, int axis, Index begin, Out&& out) {
  const TensorView<T, D> dst = out;
  const int ax = detail::checked_axis(dst.shape(), axis, "assign_slice");
  require<ShapeError>(detail::same_except(src.shape(), dst.shape(), ax), "assign_slice: ", src.shape(), " into ",
                      dst.shape(), " along axis ", axis);
  const Index count = src.dim(ax);
  require<ShapeError>(begin >= 0 && begin + count <= dst.dim(ax), "assign_slice: [", begin, ", ", begin + count,
                      ") out of range along axis ", axis, " of ", dst.shape());
  const auto [outer, inner] = detail::split_at(dst.shape(), ax);
  const Index ld = dst.dim(ax) * inner, ls = count * inner;
  backend::LayoutOps<D>::template copy_rows<T>(dst.data() + begin * inner, ld, src.data(), ls, ls, outer);
}

/// Appends a block of shape `extra_shape` to t along `axis`, in place within t's capacity: no new
/// allocation is made while the capacity lasts. `extra` points to the appended values (extra_shape,
/// row-major, on t's device) or is null for zeros. Call reserve() first to make room; this function
/// requires it (ShapeError before any change when the capacity is short) and cannot fail once it is there.
template <class T, class D>
void append_in_place(Tensor<T, D>& t, int axis, const Shape& extra_shape, const T* extra) {
  const int ax = detail::checked_axis(t.shape(), axis, "append_in_place");
  require<ShapeError>(detail::same_except(t.shape(), extra_shape, ax), "append_in_place: ", extra_shape, " onto ",
                      t.shape(), " along axis ", axis);
  const Shape grown = grown_shape(t.shape(), ax, extra_shape[ax]);
  const auto [outer, inner] = detail::split_at(t.shape(), ax);
  const Index la = t.dim(ax) * inner, lb = extra_shape[ax] * inner;
  t.reshape_within_capacity(grown);  // throws (before any change) when the capacity is short
  backend::LayoutOps<D>::template spread_and_append<T>(t.data(), outer, la, lb, extra);
}

/// norms[j] = the Euclidean norm of all elements of src whose index along `axis` is j (the norm of
/// row j of axis_to_rows(src, axis), without building it); sums of squares in double. On a device:
/// waits for the result.
template <class T, ReadableAs<T> V, class D = device_of<V>>
std::vector<double> axis_norms(const V& x, int axis) {
  const ConstView<T, D> src = x;
  const int ax = detail::checked_axis(src.shape(), axis, "axis_norms");
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  std::vector<double> norms(static_cast<std::size_t>(src.dim(ax)), 0.0);
  if (norms.empty() || src.numel() == 0) return norms;
  backend::LayoutOps<D>::template axis_square_sums<T>(src.data(), outer, src.dim(ax), inner, norms.data());
  for (double& v : norms) v = std::sqrt(v);
  return norms;
}

/// rows (d_axis, outer * inner): row j holds every element of src whose index along `axis` is j, in
/// row-major order of the other dimensions. For a Dense weight (out, in) and axis 1, row j is column j;
/// for a convolution weight (out, in, kh, kw) and axis 1, row j is the flattened (out, kh, kw) slice.
/// rows must not alias src.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void axis_to_rows(In<T, D> src, int axis, Out&& out) {
  const TensorView<T, D> rows = out;
  const int ax = detail::checked_axis(src.shape(), axis, "axis_to_rows");
  const auto [outer, inner] = detail::split_at(src.shape(), ax);
  const Index d = src.dim(ax);
  require<ShapeError>(rows.shape() == Shape{d, outer * inner}, "axis_to_rows: output ", rows.shape(), " for ",
                      src.shape(), " along axis ", axis);
  if (src.numel() > 0) backend::LayoutOps<D>::template axis_to_rows<T>(src.data(), outer, d, inner, rows.data());
}

/// The inverse of axis_to_rows: writes rows (d_axis, outer * inner) into dst along `axis`.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void rows_to_axis(In<T, D> rows, int axis, Out&& out) {
  const TensorView<T, D> dst = out;
  const int ax = detail::checked_axis(dst.shape(), axis, "rows_to_axis");
  const auto [outer, inner] = detail::split_at(dst.shape(), ax);
  const Index d = dst.dim(ax);
  require<ShapeError>(rows.shape() == Shape{d, outer * inner}, "rows_to_axis: rows ", rows.shape(), " for ",
                      dst.shape(), " along axis ", axis);
  if (dst.numel() > 0) backend::LayoutOps<D>::template rows_to_axis<T>(rows.data(), outer, d, inner, dst.data());
}

}  // namespace netgrow::ops
