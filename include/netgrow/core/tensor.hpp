/// \file
/// netgrow/core/tensor.hpp: Tensor<Scalar, Device>, an owning, contiguous, row-major array of run-time
/// shape (rank 0 to 4), and TensorView<Scalar, Device>, a non-owning view of one.
///
/// Contracts
/// - Tensors are move-only; copies are explicit (`clone()`), so no large copy happens by accident.
/// - Memory is 64-byte aligned. `resize()` reuses the allocation when the new shape fits in it, so a
///   network whose batch size or width changes does not thrash the allocator.
/// - Views never own; they stay valid until their tensor is resized, moved from or destroyed.
///   `TensorView<const T, D>` is the read-only view; a mutable view converts to it implicitly.
/// - Element access with at()/operator[] exists only for Cpu tensors; device tensors move through
///   explicit transfers (backend/cuda/transfer.hpp). The members that only copy or zero whole
///   buffers (zero-filled construction, clone, copy_from, reserve, shrink_to_fit, fill_zero) work on
///   every device through the hooks of detail::Buffer<T, D> (Cuda: backend/cuda/memory.hpp).
#pragma once

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/device.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/core/shape.hpp"

namespace netgrow {

namespace detail {

// Owning storage of `capacity` elements on a device; only the allocation, no shape.
// The Cpu specialisation is here; the Cuda one lives in backend/cuda.
template <class T, class D>
class Buffer;

template <class T>
class Buffer<T, Cpu> {
  static_assert(std::is_trivially_copyable_v<T>, "netgrow tensors hold trivially copyable scalars");

 public:
  static constexpr std::size_t alignment = 64;

  Buffer() = default;
  explicit Buffer(Index n) { allocate(n); }
  Buffer(Buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }

  // Ensures room for n elements; the contents are lost when it has to reallocate.
  void reserve_discarding(Index n) {
    if (n > capacity_) {
      release();
      allocate(n);
    }
  }

  // Ensures room for n elements, keeping the first `keep` elements.
  void reserve_keeping(Index n, Index keep) {
    if (n <= capacity_) return;
    Buffer bigger(n);
    if (keep > 0) std::memcpy(static_cast<void*>(bigger.data_), data_, static_cast<std::size_t>(keep) * sizeof(T));
    *this = std::move(bigger);
  }

  T* data() const { return data_; }
  Index capacity() const { return capacity_; }

  // Element-level hooks Tensor uses for its device-generic members (every Buffer<T, D> has them):
  // copy n elements (the ranges may overlap) and zero n elements.
  static void copy_n(T* dst, const T* src, Index n) {
    if (n > 0 && dst != src) std::memmove(static_cast<void*>(dst), src, static_cast<std::size_t>(n) * sizeof(T));
  }
  static void zero_n(T* dst, Index n) {
    if (n > 0) std::memset(static_cast<void*>(dst), 0, static_cast<std::size_t>(n) * sizeof(T));
  }

 private:
  void allocate(Index n) {
    require(n >= 0, "Tensor: negative element count ", n);
    if (n == 0) return;
    data_ = static_cast<T*>(::operator new(static_cast<std::size_t>(n) * sizeof(T), std::align_val_t{alignment}));
    capacity_ = n;
  }
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t{alignment});
    data_ = nullptr;
    capacity_ = 0;
  }

  T* data_ = nullptr;
  Index capacity_ = 0;
};

}  // namespace detail

/// Non-owning view: pointer + shape. T may be const-qualified (read-only view).
template <class T, class D = Cpu>
class TensorView {
 public:
  using value_type = std::remove_const_t<T>;  ///< the element type without const
  using device_type = D;                      ///< where the elements live (Cpu or Cuda)

  TensorView() = default;  ///< empty view (no data, shape (0))
  /// A view of `shape.numel()` elements at `data` (null only for an empty shape).
  TensorView(T* data, Shape shape) : data_(data), shape_(shape) {
    require<ShapeError>(data != nullptr || shape.numel() == 0, "TensorView: null data for shape ", shape);
  }
  /// Mutable view -> read-only view.
  template <class U>
    requires(std::is_const_v<T> && std::same_as<const U, T>)
  TensorView(const TensorView<U, D>& v) : data_(v.data()), shape_(v.shape()) {}

  T* data() const { return data_; }                                ///< the first element
  const Shape& shape() const { return shape_; }                    ///< the shape
  int rank() const { return shape_.rank(); }                       ///< number of dimensions
  Index dim(int i) const { return shape_[i]; }                     ///< dimension i (negative: from the back)
  Index numel() const { return shape_.numel(); }                   ///< number of elements
  bool empty() const { return data_ == nullptr || numel() == 0; }  ///< no data or no elements

  /// The same elements under another shape with the same element count.
  TensorView reshape(Shape s) const {
    require<ShapeError>(s.numel() == numel(), "TensorView::reshape: cannot view ", shape_, " (", numel(),
                        " elements) as ", s, " (", s.numel(), " elements)");
    return TensorView(data_, s);
  }

  /// The tensor as a (dim 0, product of the others) matrix; a rank-1 tensor becomes (n, 1).
  TensorView as_matrix() const {
    require<ShapeError>(rank() >= 1, "TensorView::as_matrix: rank-0 tensor");
    return TensorView(data_, Shape{dim(0), rank() == 1 ? Index{1} : shape_.inner_numel()});
  }

  /// Rows [begin, begin + count) along dimension 0: contiguous, so still a plain view.
  TensorView rows(Index begin, Index count) const {
    require<ShapeError>(rank() >= 1, "TensorView::rows: rank-0 tensor");
    require<ShapeError>(begin >= 0 && count >= 0 && begin + count <= dim(0), "TensorView::rows: rows [", begin,
                        ", ", begin + count, ") out of range for shape ", shape_);
    Shape s = shape_;
    s[0] = count;
    return TensorView(data_ + begin * shape_.inner_numel(), s);
  }

  /// Host element access (Cpu only), bounds-checked.
  template <class... Is>
    requires(std::same_as<D, Cpu> && sizeof...(Is) >= 1 && (std::is_integral_v<Is> && ...))
  T& at(Is... is) const {
    return data_[offset_of(std::array<Index, sizeof...(Is)>{static_cast<Index>(is)...})];
  }
  /// Flat access (Cpu only), unchecked.
  T& operator[](Index i) const
    requires std::same_as<D, Cpu>
  {
    return data_[i];
  }
  /// The elements as a span (Cpu only).
  std::span<T> span() const
    requires std::same_as<D, Cpu>
  {
    return {data_, static_cast<std::size_t>(numel())};
  }

 private:
  template <std::size_t R>
  Index offset_of(const std::array<Index, R>& idx) const {
    require<ShapeError>(static_cast<int>(R) == rank(), "Tensor::at: ", R, " indices for a rank-", rank(),
                        " tensor of shape ", shape_);
    Index off = 0;
    for (std::size_t i = 0; i < R; ++i) {
      const Index d = shape_[static_cast<int>(i)];
      require<ShapeError>(idx[i] >= 0 && idx[i] < d, "Tensor::at: index ", idx[i], " out of range [0, ", d,
                          ") in dimension ", i, " of shape ", shape_);
      off = off * d + idx[i];
    }
    return off;
  }

  T* data_ = nullptr;
  Shape shape_{0};
};

/// Read-only view: TensorView<const T, D>.
template <class T, class D = Cpu>
using ConstView = TensorView<const T, D>;

/// Owning tensor.
template <class T, class D = Cpu>
class Tensor {
 public:
  using value_type = T;   ///< the element type
  using device_type = D;  ///< where the elements live (Cpu or Cuda)

  Tensor() = default;  ///< empty: shape (0)

  /// Zero-filled tensor of the given shape.
  explicit Tensor(Shape shape) : buffer_(shape.numel()), shape_(shape) { fill_zero(); }

  /// Shape given directly: Tensor<float>({2, 3}).
  Tensor(std::initializer_list<Index> dims) : Tensor(Shape(dims)) {}

  /// Uninitialised tensor: for buffers that are fully overwritten before being read.
  static Tensor uninitialized(Shape shape) {
    Tensor t;
    t.buffer_ = detail::Buffer<T, D>(shape.numel());
    t.shape_ = shape;
    return t;
  }

  /// Cpu tensor from values (row-major order).
  ///@{
  static Tensor from(Shape shape, std::span<const T> values)
    requires std::same_as<D, Cpu>
  {
    require<ShapeError>(static_cast<Index>(values.size()) == shape.numel(), "Tensor::from: ", values.size(),
                        " values for shape ", shape, " (", shape.numel(), " elements)");
    Tensor t = uninitialized(shape);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }
  static Tensor from(Shape shape, std::initializer_list<T> values)
    requires std::same_as<D, Cpu>
  {
    return from(shape, std::span<const T>(values.begin(), values.size()));
  }
  ///@}

  /// Moves leave the source empty (shape (0)).
  ///@{
  Tensor(Tensor&& o) noexcept : buffer_(std::move(o.buffer_)), shape_(std::exchange(o.shape_, empty_shape())) {}
  Tensor& operator=(Tensor&& o) noexcept {
    buffer_ = std::move(o.buffer_);
    shape_ = std::exchange(o.shape_, empty_shape());
    return *this;
  }
  ///@}
  Tensor(const Tensor&) = delete;             ///< copies are explicit: clone()
  Tensor& operator=(const Tensor&) = delete;  ///< copies are explicit: clone() or copy_from()

  /// Deep copy.
  Tensor clone() const {
    Tensor t = uninitialized(shape_);
    t.copy_from(cview());
    return t;
  }

  /// Makes this tensor an element-wise copy of `src` (reshaping it to src's shape). On a device the
  /// copy is queued on the calling thread's stream.
  void copy_from(ConstView<T, D> src) {
    resize(src.shape());
    detail::Buffer<T, D>::copy_n(data(), src.data(), src.numel());
  }

  /// Changes the shape. Reuses the allocation when the new shape fits; contents are unspecified
  /// afterwards (call fill_zero() or overwrite them).
  void resize(Shape shape) {
    buffer_.reserve_discarding(shape.numel());
    shape_ = shape;
  }

  /// Ensures capacity for n elements, keeping the current ones.
  void reserve(Index n) {
    buffer_.reserve_keeping(n, numel());
  }

  /// Gives the tensor a new shape within its capacity without moving any element: element i of the
  /// buffer stays element i (used by in-place growth, which rearranges the elements itself).
  void reshape_within_capacity(Shape shape) {
    require<ShapeError>(shape.numel() <= capacity(), "Tensor::reshape_within_capacity: ", shape, " needs ",
                        shape.numel(), " elements, capacity is ", capacity());
    shape_ = shape;
  }

  /// Releases spare capacity (after growth has finished, for example).
  void shrink_to_fit() {
    if (capacity() == numel()) return;
    Tensor t = clone();
    *this = std::move(t);
  }

  /// Sets every element to `value` (Cpu only).
  void fill(T value)
    requires std::same_as<D, Cpu>
  {
    std::fill_n(data(), numel(), value);
  }
  /// Sets every element to zero (any device).
  void fill_zero() { detail::Buffer<T, D>::zero_n(data(), numel()); }

  /// The first element (device memory for a device tensor).
  ///@{
  T* data() { return buffer_.data(); }
  const T* data() const { return buffer_.data(); }
  ///@}
  const Shape& shape() const { return shape_; }          ///< the shape
  int rank() const { return shape_.rank(); }             ///< number of dimensions
  Index dim(int i) const { return shape_[i]; }           ///< dimension i (negative: from the back)
  Index numel() const { return shape_.numel(); }         ///< number of elements
  bool empty() const { return numel() == 0; }            ///< no elements
  Index capacity() const { return buffer_.capacity(); }  ///< elements the allocation holds (>= numel())

  /// A view of the whole tensor: mutable from a mutable tensor, read-only otherwise (cview() always).
  ///@{
  TensorView<T, D> view() { return {data(), shape_}; }
  ConstView<T, D> view() const { return {data(), shape_}; }
  ConstView<T, D> cview() const { return {data(), shape_}; }
  ///@}
  /// Implicit conversion to a view, so tensors pass where views are expected.
  ///@{
  operator TensorView<T, D>() { return view(); }
  operator ConstView<T, D>() const { return cview(); }
  ///@}

  /// Host element access (Cpu only), bounds-checked: t.at(i, j).
  ///@{
  template <class... Is>
    requires(std::same_as<D, Cpu> && sizeof...(Is) >= 1 && (std::is_integral_v<Is> && ...))
  T& at(Is... is) {
    return view().at(is...);
  }
  template <class... Is>
    requires(std::same_as<D, Cpu> && sizeof...(Is) >= 1 && (std::is_integral_v<Is> && ...))
  const T& at(Is... is) const {
    return cview().at(is...);
  }
  ///@}
  /// Flat access (Cpu only), unchecked.
  ///@{
  T& operator[](Index i)
    requires std::same_as<D, Cpu>
  {
    return data()[i];
  }
  const T& operator[](Index i) const
    requires std::same_as<D, Cpu>
  {
    return data()[i];
  }
  ///@}
  /// The elements as a span (Cpu only).
  ///@{
  std::span<T> span()
    requires std::same_as<D, Cpu>
  {
    return view().span();
  }
  std::span<const T> span() const
    requires std::same_as<D, Cpu>
  {
    return cview().span();
  }
  ///@}
  /// The elements copied into a std::vector, row-major (Cpu only).
  std::vector<T> to_vector() const
    requires std::same_as<D, Cpu>
  {
    return std::vector<T>(data(), data() + numel());
  }

 private:
  static Shape empty_shape() noexcept { return Shape{0}; }

  detail::Buffer<T, D> buffer_;
  Shape shape_{0};
};

/// Read-only view of a tensor or view: lets generic functions accept Tensor, TensorView and ConstView.
///@{
template <class T, class D>
ConstView<T, D> const_view(const Tensor<T, D>& t) {
  return t.cview();
}
template <class T, class D>
ConstView<std::remove_const_t<T>, D> const_view(const TensorView<T, D>& v) {
  return v;
}
///@}
/// Mutable view of a tensor or mutable view.
///@{
template <class T, class D>
TensorView<T, D> mutable_view(Tensor<T, D>& t) {
  return t.view();
}
template <class T, class D>
  requires(!std::is_const_v<T>)
TensorView<T, D> mutable_view(const TensorView<T, D>& v) {
  return v;
}
///@}

/// A copy of `v` on the host: a plain copy for Cpu views; for device views the transfer found by argument
/// lookup (backend/cuda/transfer.hpp, which the caller includes).
template <class T, class D>
Tensor<T, Cpu> host_copy(ConstView<T, D> v) {
  Tensor<T, Cpu> h = Tensor<T, Cpu>::uninitialized(v.shape());
  if constexpr (std::same_as<D, Cpu>) {
    if (v.numel() > 0)
      std::memcpy(static_cast<void*>(h.data()), v.data(), static_cast<std::size_t>(v.numel()) * sizeof(T));
  } else {
    copy(v, h.view());
  }
  return h;
}

/// `v` readable on the host: v itself on the Cpu (no copy); from another device a host_copy kept in
/// `staging` (which must outlive the view).
template <class T, class D>
ConstView<T, Cpu> host_view(ConstView<T, D> v, Tensor<T, Cpu>& staging) {
  if constexpr (std::same_as<D, Cpu>) {
    return v;
  } else {
    staging = host_copy(v);
    return staging.cview();
  }
}
/// host_view of a tensor's elements.
template <class T, class D>
ConstView<T, Cpu> host_view(const Tensor<T, D>& t, Tensor<T, Cpu>& staging) {
  return host_view(t.cview(), staging);
}

/// Host data `x` readable on device D: x itself on the Cpu (no copy); on another device a copy kept in
/// `staging` (which must outlive the view), by the transfer found by argument lookup as for host_copy.
template <class D, class T>
ConstView<T, D> device_view(ConstView<T, Cpu> x, Tensor<T, D>& staging) {
  if constexpr (std::same_as<D, Cpu>) {
    return x;
  } else {
    staging = Tensor<T, D>::uninitialized(x.shape());
    copy(x, staging.view());
    return staging.cview();
  }
}

/// Requires two shapes to be equal; `what` names the operation for the message.
inline void require_same_shape(const Shape& a, const Shape& b, const char* what) {
  require<ShapeError>(a == b, what, ": shape mismatch ", a, " vs ", b);
}

}  // namespace netgrow
