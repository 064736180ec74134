/// \file
/// netgrow/backend/cpu/blas.hpp: the op facade's CPU linear-algebra side, over Eigen maps of netgrow
/// tensors: GEMM, bias broadcast, row sums, copy, fill, scale, axpy.
///
/// Contract for every op: outputs are *assigned* unless a `beta` says otherwise (beta = 0 never reads
/// the output, so it may hold garbage); shapes are checked and a mismatch throws ShapeError.
#pragma once

#include <type_traits>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

/// \def NETGROW_PARALLEL_FOR_IF(cond)
/// Runs the loop that follows as an OpenMP `parallel for simd` when `cond` holds; nothing without OpenMP.
#if defined(_OPENMP)
#define NETGROW_PRAGMA(text) _Pragma(#text)
#define NETGROW_PARALLEL_FOR_IF(cond) NETGROW_PRAGMA(omp parallel for simd schedule(static) if (cond))
#else
#define NETGROW_PARALLEL_FOR_IF(cond)
#endif

namespace netgrow::ops {

/// Element counts above which element-wise CPU loops use all OpenMP threads.
inline constexpr Index parallel_threshold = Index{1} << 15;

/// op(X) in gemm: X itself (no) or its transpose (yes).
enum class Trans { no, yes };

/// The read-only Cpu view ops take as input; std::type_identity_t keeps T from being deduced from it,
/// so Tensor, TensorView and ConstView arguments all convert (call as ops::gemm<S>(...)).
template <class T>
using In = std::type_identity_t<ConstView<T, Cpu>>;

/// C = alpha * op(A) * op(B) + beta * C, with op(X) = X or X^T. All three are rank-2 views:
/// op(A) (m, k), op(B) (k, n), C (m, n).
template <class T>
void gemm(Trans ta, Trans tb, std::type_identity_t<T> alpha, In<T> a, In<T> b, std::type_identity_t<T> beta,
          TensorView<T, Cpu> c) {
  require<ShapeError>(a.rank() == 2 && b.rank() == 2 && c.rank() == 2, "gemm: operands must be rank 2, got ",
                      a.shape(), ", ", b.shape(), ", ", c.shape());
  const Index m = ta == Trans::no ? a.dim(0) : a.dim(1);
  const Index k = ta == Trans::no ? a.dim(1) : a.dim(0);
  const Index kb = tb == Trans::no ? b.dim(0) : b.dim(1);
  const Index n = tb == Trans::no ? b.dim(1) : b.dim(0);
  require<ShapeError>(k == kb && c.dim(0) == m && c.dim(1) == n, "gemm: op(A) (", m, ", ", k, ") * op(B) (", kb,
                      ", ", n, ") does not give C ", c.shape());
  auto C = matrix(c);
  if (k == 0) {
    if (beta == T(0)) C.setZero();
    else C *= beta;
    return;
  }
  auto A = matrix(a);
  auto B = matrix(b);
  if (beta == T(0)) {
    if (ta == Trans::no && tb == Trans::no) C.noalias() = alpha * A * B;
    else if (ta == Trans::no) C.noalias() = alpha * A * B.transpose();
    else if (tb == Trans::no) C.noalias() = alpha * A.transpose() * B;
    else C.noalias() = alpha * A.transpose() * B.transpose();
    return;
  }
  if (beta != T(1)) C *= beta;
  if (ta == Trans::no && tb == Trans::no) C.noalias() += alpha * A * B;
  else if (ta == Trans::no) C.noalias() += alpha * A * B.transpose();
  else if (tb == Trans::no) C.noalias() += alpha * A.transpose() * B;
  else C.noalias() += alpha * A.transpose() * B.transpose();
}

/// y (N, F) += b (F) broadcast over rows.
template <class T>
void add_row_vector(TensorView<T, Cpu> y, In<T> b) {
  const auto Y = y.as_matrix();
  require<ShapeError>(b.numel() == Y.dim(1), "add_row_vector: bias of ", b.numel(), " elements for rows of ",
                      Y.dim(1));
  matrix(Y).rowwise() += vector(b).transpose();
}

/// out (F) = beta * out + sum over rows of x (N, F).
template <class T>
void sum_rows(In<T> x, std::type_identity_t<T> beta, TensorView<T, Cpu> out) {
  const auto X = x.as_matrix();
  require<ShapeError>(out.numel() == X.dim(1), "sum_rows: output of ", out.numel(), " elements for rows of ",
                      X.dim(1));
  auto o = vector(out);
  if (beta == T(0)) o.noalias() = matrix(X).colwise().sum().transpose();
  else o = beta * o + matrix(X).colwise().sum().transpose();
}

/// dst = src (same element count; shapes may differ, e.g. flatten).
template <class T>
void copy(In<T> src, TensorView<T, Cpu> dst) {
  require<ShapeError>(src.numel() == dst.numel(), "copy: ", src.shape(), " into ", dst.shape());
  if (src.numel() > 0 && src.data() != dst.data()) std::memmove(dst.data(), src.data(), sizeof(T) * src.numel());
}

/// Every element of dst = value.
template <class T>
void fill(TensorView<T, Cpu> dst, std::type_identity_t<T> value) {
  std::fill_n(dst.data(), dst.numel(), value);
}

/// x *= alpha
template <class T>
void scale(TensorView<T, Cpu> x, std::type_identity_t<T> alpha) {
  vector(x) *= alpha;
}

/// y += alpha * x
template <class T>
void axpy(std::type_identity_t<T> alpha, In<T> x, TensorView<T, Cpu> y) {
  require<ShapeError>(x.numel() == y.numel(), "axpy: ", x.shape(), " vs ", y.shape());
  vector(y) += alpha * vector(x);
}

/// Sum of squares of all elements, accumulated in double.
template <class T>
double squared_norm(In<T> x) {
  return vector(x).template cast<double>().squaredNorm();
}

/// True when every element is finite.
template <class T>
bool all_finite(In<T> x) {
  return vector(x).allFinite();
}

}  // namespace netgrow::ops
