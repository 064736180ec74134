/// \file
/// netgrow/backend/cuda/blas.hpp: the CUDA back end of ops/blas.hpp: GEMM (cuBLAS or netgrow's own
/// kernel, chosen by cuda::context().gemm_path()), bias broadcast, row sums, fill, scale, axpy, squared
/// norm and the finiteness check. Arguments arrive checked (the facade's contract). Work is queued on
/// the calling thread's stream; only the functions that return a host value wait for it.
///
/// nvcc only (launches kernels).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <type_traits>

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/cuda_library_check.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/kernels/elementwise.cuh"
#include "netgrow/kernels/gemm.cuh"
#include "netgrow/kernels/reduce.cuh"

namespace netgrow::backend {

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

}  // namespace cuda_detail

/// The linear-algebra ops of ops/blas.hpp on device D (specialised per device).
template <class D>
struct BlasOps;

/// Linear algebra on the GPU.
template <>
struct BlasOps<Cuda> {
  /// C = alpha op(A) op(B) + beta C on the context's GEMM path (also called by the other CUDA back ends,
  /// so empty sizes are handled here: k = 0 gives C = beta C).
  template <class T>
  static void gemm(bool ta, bool tb, T alpha, ConstView<T, Cuda> a, ConstView<T, Cuda> b, T beta,
                   TensorView<T, Cuda> c) {
    const Index m = c.dim(0), n = c.dim(1), k = ta ? a.dim(0) : a.dim(1);
    auto& ctx = cuda::context();
    if (m == 0 || n == 0) return;
    if (k == 0) {
      if (beta == T(0))
        NETGROW_CUDA_CHECK(cudaMemsetAsync(c.data(), 0, sizeof(T) * static_cast<std::size_t>(m * n), ctx.stream()));
      else kernels::scale<T>(c.data(), m * n, beta, ctx.stream());
      return;
    }
    if (ctx.gemm_path() == cuda::GemmPath::native)
      kernels::gemm<T>(ta, tb, m, n, k, alpha, a.data(), a.dim(1), b.data(), b.dim(1), beta, c.data(), n, ctx.stream());
    else
      cuda_detail::library_gemm<T>(ta, tb, m, n, k, alpha, a.data(), a.dim(1), b.data(), b.dim(1), beta, c.data(), n);
  }

  template <class T>
  static void add_row_vector(TensorView<T, Cuda> y, ConstView<T, Cuda> b) {
    kernels::add_row_vector<T>(y.data(), y.dim(0), y.dim(1), b.data(), cuda::context().stream());
  }

  template <class T>
  static void sum_rows(ConstView<T, Cuda> x, T beta, TensorView<T, Cuda> out) {
    auto& ctx = cuda::context();
    T* scratch = ctx.workspace_for<T>(kernels::sum_rows_workspace(x.dim(0), x.dim(1)));
    kernels::sum_rows<T>(x.data(), x.dim(0), x.dim(1), beta, out.data(), scratch, ctx.stream());
  }

  template <class T>
  static void fill(TensorView<T, Cuda> dst, T value) {
    kernels::fill<T>(dst.data(), dst.numel(), value, cuda::context().stream());
  }

  template <class T>
  static void scale(TensorView<T, Cuda> x, T alpha) {
    kernels::scale<T>(x.data(), x.numel(), alpha, cuda::context().stream());
  }

  template <class T>
  static void axpy(T alpha, ConstView<T, Cuda> x, TensorView<T, Cuda> y) {
    kernels::axpy<T>(x.numel(), alpha, x.data(), y.data(), cuda::context().stream());
  }

  /// Waits for the result.
  template <class T>
  static double squared_norm(ConstView<T, Cuda> x) {
    const Index n = x.numel();
    auto& ctx = cuda::context();
    double* scratch = ctx.workspace_for<double>(kernels::map_sum_workspace(n) + 1);
    kernels::map_sum<double>(n, kernels::SquareInDouble<T>{x.data()}, scratch + 1, scratch, ctx.stream());
    return cuda_detail::read_back(scratch);
  }

  /// Waits for the result.
  template <class T>
  static bool all_finite(ConstView<T, Cuda> x) {
    const Index n = x.numel();
    auto& ctx = cuda::context();
    using Count = unsigned long long;
    Count* scratch = ctx.workspace_for<Count>(kernels::map_sum_workspace(n) + 1);
    kernels::map_sum<Count>(n, kernels::IsNonFinite<T>{x.data()}, scratch + 1, scratch, ctx.stream());
    return cuda_detail::read_back(scratch) == 0;
  }
};

}  // namespace netgrow::backend
