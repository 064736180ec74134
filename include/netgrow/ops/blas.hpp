/// \file
/// netgrow/ops/blas.hpp: the op facade's linear algebra on any device: GEMM, bias broadcast, row sums,
/// copy, fill, scale, axpy, the squared norm and the finiteness check.
///
/// The op facade (namespace netgrow::ops, one header per family in ops/) states each op's contract and
/// checks its arguments once, for every device; the device back ends compute:
/// backend/cpu/<family>.hpp (Eigen, OpenMP) and backend/cuda/<family>.hpp (netgrow's kernels, cuBLAS),
/// each a specialisation backend::<Family>Ops<Device>. The Cpu back end comes with the facade; the
/// Cuda one with <netgrow/cuda.hpp> (nvcc), in any order. Calling an op on Cuda views without it is a
/// compile error naming the incomplete backend::<Family>Ops<netgrow::Cuda>.
///
/// Contract for every op: outputs are *assigned* unless a `beta` says otherwise (beta = 0 never reads
/// the output, so it may hold garbage); shapes are checked and a mismatch throws ShapeError. Inputs are
/// read-only views in a non-deduced position (`In<T, D>`), so Tensor, TensorView and ConstView
/// arguments all convert; outputs are a Tensor or a mutable view (`Out&&`, WritableAs<T>), and the
/// device is deduced from them: call as ops::gemm<S>(...). Device work is
/// queued on the calling thread's stream; only ops that return a host value wait for it.
#pragma once

#include <type_traits>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::ops {

/// op(X) in gemm: X itself (no) or its transpose (yes).
enum class Trans { no, yes };

/// The read-only view ops take as input; std::type_identity_t keeps T and D from being deduced from
/// it, so Tensor, TensorView and ConstView arguments all convert.
template <class T, class D = Cpu>
using In = std::type_identity_t<ConstView<T, D>>;

/// The device of a tensor or view type.
template <class V>
using device_of = typename std::remove_cvref_t<V>::device_type;

/// A tensor or view whose elements convert to a read-only view of T on its device (the inputs of ops
/// that have no output to deduce the device from).
template <class V, class T>
concept ReadableAs = requires { typename std::remove_cvref_t<V>::device_type; } &&
                     std::convertible_to<const V&, ConstView<T, device_of<V>>>;

/// A mutable tensor or view of T: what ops write into (the device is deduced from it).
template <class V, class T>
concept WritableAs = requires { typename std::remove_cvref_t<V>::device_type; } &&
                     std::convertible_to<V&, TensorView<T, device_of<V>>>;

/// C = alpha * op(A) * op(B) + beta * C, with op(X) = X or X^T. All three are rank-2 views:
/// op(A) (m, k), op(B) (k, n), C (m, n).
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void gemm(Trans ta, Trans tb, std::type_identity_t<T> alpha, In<T, D> a, In<T, D> b, std::type_identity_t<T> beta,
          Out&& out) {
  const TensorView<T, D> c = out;
  require<ShapeError>(a.rank() == 2 && b.rank() == 2 && c.rank() == 2, "gemm: operands must be rank 2, got ",
                      a.shape(), ", ", b.shape(), ", ", c.shape());
  const Index m = ta == Trans::no ? a.dim(0) : a.dim(1);
  const Index k = ta == Trans::no ? a.dim(1) : a.dim(0);
  const Index kb = tb == Trans::no ? b.dim(0) : b.dim(1);
  const Index n = tb == Trans::no ? b.dim(1) : b.dim(0);
  require<ShapeError>(k == kb && c.dim(0) == m && c.dim(1) == n, "gemm: op(A) (", m, ", ", k, ") * op(B) (", kb,
                      ", ", n, ") does not give C ", c.shape());
  using Ops = backend::BlasOps<D>;
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta C
    if (beta == T(0)) Ops::template fill<T>(c, T(0));
    else Ops::template scale<T>(c, beta);
    return;
  }
  Ops::template gemm<T>(ta == Trans::yes, tb == Trans::yes, alpha, a, b, beta, c);
}

/// y (N, F) += b (F) broadcast over rows.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void add_row_vector(Out&& y, In<T, D> b) {
  const TensorView<T, D> Y = TensorView<T, D>(y).as_matrix();
  require<ShapeError>(b.numel() == Y.dim(1), "add_row_vector: bias of ", b.numel(), " elements for rows of ",
                      Y.dim(1));
  backend::BlasOps<D>::template add_row_vector<T>(Y, b);
}

/// out (F) = beta * out + sum over rows of x (N, F) (beta == 0 never reads out).
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void sum_rows(In<T, D> x, std::type_identity_t<T> beta, Out&& out_values) {
  const TensorView<T, D> out = out_values;
  const auto X = x.as_matrix();
  require<ShapeError>(out.numel() == X.dim(1), "sum_rows: output of ", out.numel(), " elements for rows of ",
                      X.dim(1));
  backend::BlasOps<D>::template sum_rows<T>(X, beta, out);
}

/// dst = src (same element count; shapes may differ, e.g. flatten; the ranges may overlap).
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void copy(In<T, D> src, Out&& out) {
  const TensorView<T, D> dst = out;
  require<ShapeError>(src.numel() == dst.numel(), "copy: ", src.shape(), " into ", dst.shape());
  if (src.numel() > 0 && src.data() != dst.data()) netgrow::detail::Buffer<T, D>::copy_n(dst.data(), src.data(), src.numel());
}

/// Every element of dst = value.
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void fill(Out&& out, std::type_identity_t<T> value) {
  const TensorView<T, D> dst = out;
  if (dst.numel() > 0) backend::BlasOps<D>::template fill<T>(dst, value);
}

/// x *= alpha
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void scale(Out&& out, std::type_identity_t<T> alpha) {
  const TensorView<T, D> x = out;
  if (x.numel() > 0) backend::BlasOps<D>::template scale<T>(x, alpha);
}

/// y += alpha * x
template <class T, WritableAs<T> Out, class D = device_of<Out>>
void axpy(std::type_identity_t<T> alpha, In<T, D> x, Out&& out) {
  const TensorView<T, D> y = out;
  require<ShapeError>(x.numel() == y.numel(), "axpy: ", x.shape(), " vs ", y.shape());
  if (x.numel() > 0) backend::BlasOps<D>::template axpy<T>(alpha, x, y);
}

/// Sum of squares of all elements, accumulated in double (on a device: waits for the result).
template <class T, ReadableAs<T> V, class D = device_of<V>>
double squared_norm(const V& x) {
  const ConstView<T, D> v = x;
  return v.numel() == 0 ? 0.0 : backend::BlasOps<D>::template squared_norm<T>(v);
}

/// True when every element is finite (on a device: waits for the result).
template <class T, ReadableAs<T> V, class D = device_of<V>>
bool all_finite(const V& x) {
  const ConstView<T, D> v = x;
  return v.numel() == 0 || backend::BlasOps<D>::template all_finite<T>(v);
}

}  // namespace netgrow::ops
