/// \file
/// netgrow/core/eigen.hpp: zero-copy interop between netgrow Cpu tensors and Eigen.
///
/// matrix(view) maps a tensor as a row-major (dim 0, rest) Eigen matrix; vector(view) maps all its
/// elements as a column vector; view_of(eigen_matrix) views row-major Eigen storage as a tensor.
/// Nothing is copied: the maps alias the tensor's memory and live no longer than it.
#pragma once

#include <Eigen/Core>
#include <type_traits>

#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// A dynamic-size row-major Eigen matrix (the layout of netgrow tensors).
template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A dynamic-size Eigen column vector.
template <class T>
using EigenVector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// Maps a Cpu view (or tensor) as a row-major (dim 0, product of the other dims) matrix; rank 1 maps
/// as (n, 1).
///@{
template <class T>
auto matrix(TensorView<T, Cpu> v) {
  using Map = std::conditional_t<std::is_const_v<T>, Eigen::Map<const RowMajorMatrix<std::remove_const_t<T>>>,
                                 Eigen::Map<RowMajorMatrix<T>>>;
  if (v.rank() == 0) return Map(v.data(), 1, 1);
  const auto m = v.as_matrix();
  return Map(v.data(), m.dim(0), m.dim(1));
}
template <class T>
auto matrix(Tensor<T, Cpu>& t) {
  return matrix(t.view());
}
template <class T>
auto matrix(const Tensor<T, Cpu>& t) {
  return matrix(t.cview());
}
///@}

/// Maps all elements of a Cpu view (or tensor) as an Eigen column vector.
///@{
template <class T>
auto vector(TensorView<T, Cpu> v) {
  using Map = std::conditional_t<std::is_const_v<T>, Eigen::Map<const EigenVector<std::remove_const_t<T>>>,
                                 Eigen::Map<EigenVector<T>>>;
  return Map(v.data(), v.numel());
}
template <class T>
auto vector(Tensor<T, Cpu>& t) {
  return vector(t.view());
}
template <class T>
auto vector(const Tensor<T, Cpu>& t) {
  return vector(t.cview());
}
///@}

/// Views a row-major Eigen matrix (or any vector) as a rank-2 (rows, cols) tensor, without copying;
/// read-only for a const matrix.
///@{
template <class Derived>
auto view_of(Eigen::PlainObjectBase<Derived>& m) {
  using T = typename Derived::Scalar;
  static_assert(Derived::IsRowMajor || Derived::IsVectorAtCompileTime,
                "netgrow::view_of: tensors are row-major; pass a RowMajor Eigen matrix or a vector");
  return TensorView<T, Cpu>(m.data(), Shape{m.rows(), m.cols()});
}
template <class Derived>
auto view_of(const Eigen::PlainObjectBase<Derived>& m) {
  using T = typename Derived::Scalar;
  static_assert(Derived::IsRowMajor || Derived::IsVectorAtCompileTime,
                "netgrow::view_of: tensors are row-major; pass a RowMajor Eigen matrix or a vector");
  return TensorView<const T, Cpu>(m.data(), Shape{m.rows(), m.cols()});
}
///@}

}  // namespace netgrow
