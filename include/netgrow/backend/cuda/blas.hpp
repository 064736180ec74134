/// \file
/// netgrow/backend/cuda/blas.hpp: the op facade's CUDA linear-algebra side: GEMM (cuBLAS or netgrow's
/// own kernel, chosen by cuda::context().gemm_path()), bias broadcast, row sums, copy, fill, scale,
/// axpy, squared norm and the finiteness check, for Cuda views.
///
/// Same contracts as backend/cpu/blas.hpp, overload for overload: outputs are assigned unless a beta
/// says otherwise (beta = 0 never reads the output), shapes are checked (ShapeError with the CPU's
/// messages). Work is queued on the calling thread's stream; only the functions that return a host
/// value (squared_norm, all_finite) wait for it.
///
/// nvcc only (launches kernels). Declared before the layers so that their ops:: calls find these
/// overloads: include <netgrow/cuda.hpp> (or this header) before the layer headers.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstring>
#include <type_traits>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cuda/check.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/library_check.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/elementwise.cuh"
#include "netgrow/kernels/gemm.cuh"
#include "netgrow/kernels/reduce.cuh"

namespace netgrow::ops {

/// Read-only Cuda view in a non-deduced position (T comes from the other arguments or is explicit).
template <class T>
using CudaIn = std::type_identity_t<ConstView<T, Cuda>>;

namespace cuda_detail {

// Waits for the stream and copies one value from device memory.
template <class V>
V read_back(const V* device_value) {
  V host{};
  auto& ctx = cuda::context();
  NETGROW_CUDA_CHECK(cudaMemcpyAsync(&host, device_value, sizeof(V), cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
  return host;
}

// Row-major C (m, n) = alpha op(A) op(B) + beta C through cuBLAS's column-major GEMM: C^T = op(B)^T op(A)^T,
// where a row-major (r, c) matrix with row stride ld is the column-major (c, r) matrix with leading
// dimension ld.
template <class T>
void library_gemm(bool ta, bool tb, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
                  T beta, T* c, Index ldc) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "ops::gemm (Cuda): float or double");
  require(m <= 2147483647 && n <= 2147483647 && k <= 2147483647 && lda <= 2147483647 && ldb <= 2147483647 &&
              ldc <= 2147483647,
          "gemm (Cuda, cuBLAS): dimensions (", m, ", ", n, ", ", k, ") exceed cuBLAS's 32-bit sizes");
  const cublasOperation_t op_b = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasHandle_t h = cuda::context().blas();
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  if constexpr (std::is_same_v<T, float>)
    NETGROW_CUBLAS_CHECK(cublasSgemm(h, op_b, op_a, ni, mi, ki, &alpha, b, static_cast<int>(ldb), a,
                                     static_cast<int>(lda), &beta, c, static_cast<int>(ldc)));
  else
    NETGROW_CUBLAS_CHECK(cublasDgemm(h, op_b, op_a, ni, mi, ki, &alpha, b, static_cast<int>(ldb), a,
                                     static_cast<int>(lda), &beta, c, static_cast<int>(ldc)));
}

// The same through netgrow's own kernel family (kernels/gemm.cuh, its automatic version).
template <class T>
void native_gemm(bool ta, bool tb, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
                 T beta, T* c, Index ldc) {
  kernels::gemm<T>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, cuda::context().stream());
}

}  // namespace cuda_detail

/// C = alpha * op(A) * op(B) + beta * C on the device; shapes as the Cpu overload. The path (cuBLAS or
/// the native kernel) is cuda::context().gemm_path().
template <class T>
void gemm(Trans ta, Trans tb, std::type_identity_t<T> alpha, CudaIn<T> a, CudaIn<T> b, std::type_identity_t<T> beta,
          TensorView<T, Cuda> c) {
  require<ShapeError>(a.rank() == 2 && b.rank() == 2 && c.rank() == 2, "gemm: operands must be rank 2, got ",
                      a.shape(), ", ", b.shape(), ", ", c.shape());
  const Index m = ta == Trans::no ? a.dim(0) : a.dim(1);
  const Index k = ta == Trans::no ? a.dim(1) : a.dim(0);
  const Index kb = tb == Trans::no ? b.dim(0) : b.dim(1);
  const Index n = tb == Trans::no ? b.dim(1) : b.dim(0);
  require<ShapeError>(k == kb && c.dim(0) == m && c.dim(1) == n, "gemm: op(A) (", m, ", ", k, ") * op(B) (", kb,
                      ", ", n, ") does not give C ", c.shape());
  if (m == 0 || n == 0) return;
  auto& ctx = cuda::context();
  if (k == 0) {  // C = beta C (beta == 0 never reads C)
    if (beta == T(0)) NETGROW_CUDA_CHECK(cudaMemsetAsync(c.data(), 0, sizeof(T) * static_cast<std::size_t>(m * n), ctx.stream()));
    else kernels::scale<T>(c.data(), m * n, beta, ctx.stream());
    return;
  }
  const bool ta_ = ta == Trans::yes, tb_ = tb == Trans::yes;
  if (ctx.gemm_path() == cuda::GemmPath::native)
    cuda_detail::native_gemm<T>(ta_, tb_, m, n, k, alpha, a.data(), a.dim(1), b.data(), b.dim(1), beta, c.data(), n);
  else
    cuda_detail::library_gemm<T>(ta_, tb_, m, n, k, alpha, a.data(), a.dim(1), b.data(), b.dim(1), beta, c.data(), n);
}

/// y (N, F) += b (F) broadcast over rows.
template <class T>
void add_row_vector(TensorView<T, Cuda> y, CudaIn<T> b) {
  const auto Y = y.as_matrix();
  require<ShapeError>(b.numel() == Y.dim(1), "add_row_vector: bias of ", b.numel(), " elements for rows of ",
                      Y.dim(1));
  kernels::add_row_vector<T>(y.data(), Y.dim(0), Y.dim(1), b.data(), cuda::context().stream());
}

/// out (F) = beta * out + sum over rows of x (N, F) (beta == 0 never reads out).
template <class T>
void sum_rows(CudaIn<T> x, std::type_identity_t<T> beta, TensorView<T, Cuda> out) {
  const auto X = x.as_matrix();
  require<ShapeError>(out.numel() == X.dim(1), "sum_rows: output of ", out.numel(), " elements for rows of ",
                      X.dim(1));
  auto& ctx = cuda::context();
  T* scratch = ctx.workspace_for<T>(kernels::sum_rows_workspace(X.dim(0), X.dim(1)));
  kernels::sum_rows<T>(x.data(), X.dim(0), X.dim(1), beta, out.data(), scratch, ctx.stream());
}

/// dst = src (same element count; shapes may differ, e.g. flatten; the ranges may overlap).
template <class T>
void copy(CudaIn<T> src, TensorView<T, Cuda> dst) {
  require<ShapeError>(src.numel() == dst.numel(), "copy: ", src.shape(), " into ", dst.shape());
  netgrow::detail::Buffer<T, Cuda>::copy_n(dst.data(), src.data(), src.numel());
}

/// Every element of dst = value.
template <class T>
void fill(TensorView<T, Cuda> dst, std::type_identity_t<T> value) {
  kernels::fill<T>(dst.data(), dst.numel(), value, cuda::context().stream());
}

/// x *= alpha
template <class T>
void scale(TensorView<T, Cuda> x, std::type_identity_t<T> alpha) {
  kernels::scale<T>(x.data(), x.numel(), alpha, cuda::context().stream());
}

/// y += alpha * x
template <class T>
void axpy(std::type_identity_t<T> alpha, CudaIn<T> x, TensorView<T, Cuda> y) {
  require<ShapeError>(x.numel() == y.numel(), "axpy: ", x.shape(), " vs ", y.shape());
  kernels::axpy<T>(x.numel(), alpha, x.data(), y.data(), cuda::context().stream());
}

/// Sum of squares of all elements, accumulated in double (waits for the result).
template <class T>
double squared_norm(CudaIn<T> x) {
  const Index n = x.numel();
  if (n == 0) return 0.0;
  auto& ctx = cuda::context();
  double* scratch = ctx.workspace_for<double>(kernels::map_sum_workspace(n) + 1);
  kernels::map_sum<double>(n, kernels::SquareInDouble<T>{x.data()}, scratch + 1, scratch, ctx.stream());
  return cuda_detail::read_back(scratch);
}

/// True when every element is finite (waits for the result).
template <class T>
bool all_finite(CudaIn<T> x) {
  const Index n = x.numel();
  if (n == 0) return true;
  auto& ctx = cuda::context();
  using Count = unsigned long long;
  Count* scratch = ctx.workspace_for<Count>(kernels::map_sum_workspace(n) + 1);
  kernels::map_sum<Count>(n, kernels::IsNonFinite<T>{x.data()}, scratch + 1, scratch, ctx.stream());
  return cuda_detail::read_back(scratch) == 0;
}

}  // namespace netgrow::ops
