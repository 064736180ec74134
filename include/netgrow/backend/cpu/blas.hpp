/// \file
/// netgrow/backend/cpu/blas.hpp: the CPU back end of ops/blas.hpp, over Eigen maps of netgrow tensors.
/// Arguments arrive checked (the facade's contract); this only computes.
#pragma once

#include <algorithm>
#include <cstring>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::backend {

/// The linear-algebra ops of ops/blas.hpp on device D (specialised per device).
template <class D>
struct BlasOps;

/// Linear algebra on the CPU (Eigen).
template <>
struct BlasOps<Cpu> {
  /// C = alpha op(A) op(B) + beta C with k > 0 (beta == 0 never reads C).
  template <class T>
  static void gemm(bool ta, bool tb, T alpha, ConstView<T, Cpu> a, ConstView<T, Cpu> b, T beta, TensorView<T, Cpu> c) {
    auto C = matrix(c);
    auto A = matrix(a);
    auto B = matrix(b);
    if (beta == T(0)) {
      if (!ta && !tb) C.noalias() = alpha * A * B;
      else if (!ta) C.noalias() = alpha * A * B.transpose();
      else if (!tb) C.noalias() = alpha * A.transpose() * B;
      else C.noalias() = alpha * A.transpose() * B.transpose();
      return;
    }
    if (beta != T(1)) C *= beta;
    if (!ta && !tb) C.noalias() += alpha * A * B;
    else if (!ta) C.noalias() += alpha * A * B.transpose();
    else if (!tb) C.noalias() += alpha * A.transpose() * B;
    else C.noalias() += alpha * A.transpose() * B.transpose();
  }

  /// y (N, F) += b (F) broadcast over rows.
  template <class T>
  static void add_row_vector(TensorView<T, Cpu> y, ConstView<T, Cpu> b) {
    matrix(y).rowwise() += vector(b).transpose();
  }

  /// out (F) = beta out + the column sums of x (N, F).
  template <class T>
  static void sum_rows(ConstView<T, Cpu> x, T beta, TensorView<T, Cpu> out) {
    auto o = vector(out);
    if (beta == T(0)) o.noalias() = matrix(x).colwise().sum().transpose();
    else o = beta * o + matrix(x).colwise().sum().transpose();
  }

  template <class T>
  static void fill(TensorView<T, Cpu> dst, T value) {
    std::fill_n(dst.data(), dst.numel(), value);
  }

  template <class T>
  static void scale(TensorView<T, Cpu> x, T alpha) {
    vector(x) *= alpha;
  }

  template <class T>
  static void axpy(T alpha, ConstView<T, Cpu> x, TensorView<T, Cpu> y) {
    vector(y) += alpha * vector(x);
  }

  template <class T>
  static double squared_norm(ConstView<T, Cpu> x) {
    return vector(x).template cast<double>().squaredNorm();
  }

  template <class T>
  static bool all_finite(ConstView<T, Cpu> x) {
    return vector(x).allFinite();
  }
};

}  // namespace netgrow::backend
