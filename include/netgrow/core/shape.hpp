/// \file
/// netgrow/core/shape.hpp: a run-time tensor shape of rank 0 to 4, row-major (last dimension fastest).
///
/// Widths change when a network grows, so shapes are values, never template arguments.
#pragma once

#include <array>
#include <initializer_list>
#include <ostream>
#include <string>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow {

/// The dimensions of a tensor: rank 0 to max_rank, each >= 0 (see the file comment).
class Shape {
 public:
  static constexpr int max_rank = 4;  ///< the largest rank a shape may have

  constexpr Shape() = default;  ///< rank 0: a scalar with one element

  /// Shape{128, 784}; throws ShapeError for a rank above max_rank or a negative dimension.
  Shape(std::initializer_list<Index> dims) {
    require<ShapeError>(dims.size() <= static_cast<std::size_t>(max_rank), "Shape: rank ", dims.size(),
                        " exceeds the maximum rank ", max_rank);
    for (Index d : dims) {
      require<ShapeError>(d >= 0, "Shape: negative dimension ", d);
      dims_[static_cast<std::size_t>(rank_++)] = d;
    }
  }

  constexpr int rank() const { return rank_; }  ///< number of dimensions

  /// Dimension i; negative i counts from the back (-1 is the last dimension). Throws ShapeError out of
  /// range.
  ///@{
  Index operator[](int i) const { return dims_[static_cast<std::size_t>(checked_axis(i))]; }
  Index& operator[](int i) { return dims_[static_cast<std::size_t>(checked_axis(i))]; }
  ///@}

  /// Number of elements (1 for rank 0).
  constexpr Index numel() const {
    Index n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }

  /// Product of the dimensions after the first: the row length when the tensor is seen as a
  /// (dim 0, rest) matrix.
  Index inner_numel() const {
    require<ShapeError>(rank_ >= 1, "Shape::inner_numel: rank-0 shape has no rows");
    return tail_product();
  }

  /// Same rank and same dimensions.
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
    return true;
  }

  /// "(128, 784)"
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ", ";
      s += std::to_string(dims_[static_cast<std::size_t>(i)]);
    }
    return s + ")";
  }

 private:
  int checked_axis(int i) const {
    const int axis = i < 0 ? i + rank_ : i;
    if (axis < 0 || axis >= rank_) throw_bad_axis(i);
    return axis;
  }
  [[noreturn]] void throw_bad_axis(int i) const {
    throw ShapeError(detail::concat("Shape: axis ", i, " out of range for rank ", rank_));
  }
  Index tail_product() const {
    Index n = 1;
    for (int i = 1; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }

  std::array<Index, max_rank> dims_{};
  int rank_ = 0;
};

/// Writes s.str(), e.g. "(128, 784)".
inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

}  // namespace netgrow
