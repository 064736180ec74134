/// \file
/// netgrow/backend/cuda/solver.hpp: the library (cuSOLVER) SVD paths beside the native kernels of
/// kernels/svd_jacobi.cuh and kernels/svd_topk.cuh, with the same outputs: singular values descending,
/// the top-k left (and right) singular vectors row-major, each u column's largest-magnitude entry
/// positive (v flipped with it).
///
/// ~~~{.unparsed}
///   gesvdj  cusolverDn<t>gesvdj, economy size: Jacobi on the whole matrix (any shape)
///   gesvd   cusolverDn<t>gesvd, QR-based bidiagonalisation (needs rows >= cols in cuSOLVER's
///           column-major view, so the matrix or its transpose is passed, whichever is tall)
/// ~~~
/// Both compute the full SVD and keep the top k. Include from .cu files: the sign rule is a kernel.
///
/// Row-major a (m, n) is the column-major X = a^T (n, m); X = U' S V'^T gives a = V' S U'^T, so u is
/// (the top k of) V' and v of U', transposed into row-major by cublas<t>geam.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <optional>
#include <type_traits>

#include <netgrow/kernels/svd_jacobi.cuh>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/cuda_library_check.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::cuda {

/// Which cuSOLVER routine computes the SVD (see the file comment).
enum class SolverSvdMethod { gesvdj, gesvd };

/// Settings of the cuSOLVER SVD paths.
struct SolverSvdOptions {
  SolverSvdMethod method = SolverSvdMethod::gesvdj;  ///< the routine
  double tolerance = 0;                              ///< gesvdj: 0 keeps cuSOLVER's default (machine precision)
  int max_sweeps = 0;                                ///< gesvdj: 0 keeps cuSOLVER's default (100)
};

namespace detail {

// cuSOLVER / cuBLAS entry points by element type.
inline cusolverStatus_t gesvdj_buffer_size(cusolverDnHandle_t h, int m, int n, const float* a, int lda, const float* s,
                                           const float* u, int ldu, const float* v, int ldv, int* lwork,
                                           gesvdjInfo_t params) {
  return cusolverDnSgesvdj_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, a, lda, s, u, ldu, v, ldv, lwork, params);
}
inline cusolverStatus_t gesvdj_buffer_size(cusolverDnHandle_t h, int m, int n, const double* a, int lda,
                                           const double* s, const double* u, int ldu, const double* v, int ldv,
                                           int* lwork, gesvdjInfo_t params) {
  return cusolverDnDgesvdj_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, a, lda, s, u, ldu, v, ldv, lwork, params);
}
inline cusolverStatus_t gesvdj_run(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* s, float* u, int ldu,
                                   float* v, int ldv, float* work, int lwork, int* info, gesvdjInfo_t params) {
  return cusolverDnSgesvdj(h, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, a, lda, s, u, ldu, v, ldv, work, lwork, info, params);
}
inline cusolverStatus_t gesvdj_run(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* s, double* u,
                                   int ldu, double* v, int ldv, double* work, int lwork, int* info,
                                   gesvdjInfo_t params) {
  return cusolverDnDgesvdj(h, CUSOLVER_EIG_MODE_VECTOR, 1, m, n, a, lda, s, u, ldu, v, ldv, work, lwork, info, params);
}
inline cusolverStatus_t gesvd_buffer_size(cusolverDnHandle_t h, int m, int n, const float*, int* lwork) {
  return cusolverDnSgesvd_bufferSize(h, m, n, lwork);
}
inline cusolverStatus_t gesvd_buffer_size(cusolverDnHandle_t h, int m, int n, const double*, int* lwork) {
  return cusolverDnDgesvd_bufferSize(h, m, n, lwork);
}
inline cusolverStatus_t gesvd_run(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* s, float* u, int ldu,
                                  float* vt, int ldvt, float* work, int lwork, int* info) {
  return cusolverDnSgesvd(h, 'S', 'S', m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
}
inline cusolverStatus_t gesvd_run(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* s, double* u, int ldu,
                                  double* vt, int ldvt, double* work, int lwork, int* info) {
  return cusolverDnDgesvd(h, 'S', 'S', m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
}
// Column-major C (rows, cols) = op(A), op a transpose when `trans` (B = A with beta = 0: no garbage read).
inline void geam_copy(cublasHandle_t h, bool trans, int rows, int cols, const float* a, int lda, float* c, int ldc) {
  const float one = 1, zero = 0;
  const cublasOperation_t op = trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  NETGROW_CUBLAS_CHECK(cublasSgeam(h, op, op, rows, cols, &one, a, lda, &zero, a, lda, c, ldc));
}
inline void geam_copy(cublasHandle_t h, bool trans, int rows, int cols, const double* a, int lda, double* c, int ldc) {
  const double one = 1, zero = 0;
  const cublasOperation_t op = trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  NETGROW_CUBLAS_CHECK(cublasDgeam(h, op, op, rows, cols, &one, a, lda, &zero, a, lda, c, ldc));
}

// gesvdj's parameter object, destroyed on scope exit.
class GesvdjParams {
 public:
  GesvdjParams(double tolerance, int max_sweeps) {
    NETGROW_CUSOLVER_CHECK(cusolverDnCreateGesvdjInfo(&params_));
    try {
      if (tolerance > 0) NETGROW_CUSOLVER_CHECK(cusolverDnXgesvdjSetTolerance(params_, tolerance));
      if (max_sweeps > 0) NETGROW_CUSOLVER_CHECK(cusolverDnXgesvdjSetMaxSweeps(params_, max_sweeps));
    } catch (...) {
      (void)cusolverDnDestroyGesvdjInfo(params_);
      throw;
    }
  }
  GesvdjParams(const GesvdjParams&) = delete;
  GesvdjParams& operator=(const GesvdjParams&) = delete;
  ~GesvdjParams() { (void)cusolverDnDestroyGesvdjInfo(params_); }
  gesvdjInfo_t get() const { return params_; }

 private:
  gesvdjInfo_t params_ = nullptr;
};

// Workspace layout (byte offsets) of one solver call.
struct SolverPlan {
  int p = 0;  // min(m, n)
  int lwork = 0;
  std::size_t x = 0, s = 0, left = 0, right = 0, work = 0, info = 0, total = 0;
};

template <class T>
SolverPlan plan_solver(cusolverDnHandle_t solver, Index m, Index n, const SolverSvdOptions& o) {
  require(m >= 1 && n >= 1 && m < INT_MAX && n < INT_MAX && m * n < INT_MAX, "solver SVD: (", m, ", ", n,
          ") outside cuSOLVER's range");
  require(solver != nullptr, "solver SVD: no cuSOLVER handle");
  SolverPlan plan;
  plan.p = static_cast<int>(std::min(m, n));
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), big = std::max(mi, ni);
  if (o.method == SolverSvdMethod::gesvdj) {
    GesvdjParams params(o.tolerance, o.max_sweeps);
    NETGROW_CUSOLVER_CHECK(gesvdj_buffer_size(solver, ni, mi, static_cast<const T*>(nullptr), ni,
                                              static_cast<const T*>(nullptr), static_cast<const T*>(nullptr), ni,
                                              static_cast<const T*>(nullptr), mi, &plan.lwork, params.get()));
  } else {
    NETGROW_CUSOLVER_CHECK(gesvd_buffer_size(solver, big, plan.p, static_cast<const T*>(nullptr), &plan.lwork));
  }
  std::size_t at = 0;
  const auto take = [&](std::size_t bytes) {
    const std::size_t offset = at;
    at += kernels::svd_detail::align_up(bytes);
    return offset;
  };
  plan.x = take(static_cast<std::size_t>(m) * static_cast<std::size_t>(n) * sizeof(T));
  plan.s = take(static_cast<std::size_t>(plan.p) * sizeof(T));
  plan.left = take(static_cast<std::size_t>(big) * static_cast<std::size_t>(plan.p) * sizeof(T));
  plan.right = take(static_cast<std::size_t>(big) * static_cast<std::size_t>(plan.p) * sizeof(T));
  plan.work = take(static_cast<std::size_t>(std::max(plan.lwork, 1)) * sizeof(T));
  plan.info = take(sizeof(int));
  plan.total = at;
  return plan;
}

// The first k columns of column-major (rows, p) src (column stride ld_src) into row-major (rows, k)
// dst: a transpose, column-major (k, rows) = src^T.
template <class T>
void column_major_to_row_major(cublasHandle_t blas, int rows, int k, const T* src, int ld_src, T* dst, Index ld_dst) {
  geam_copy(blas, true, k, rows, src, ld_src, dst, static_cast<int>(ld_dst));
}

// The first k columns of row-major (rows, p) src (row stride ld_src) into row-major dst.
template <class T>
void copy_rows(int rows, int k, const T* src, Index ld_src, T* dst, Index ld_dst, cudaStream_t stream) {
  NETGROW_CUDA_CHECK(cudaMemcpy2DAsync(
      dst, static_cast<std::size_t>(ld_dst) * sizeof(T), src, static_cast<std::size_t>(ld_src) * sizeof(T),
      static_cast<std::size_t>(k) * sizeof(T), static_cast<std::size_t>(rows), cudaMemcpyDeviceToDevice, stream));
}

}  // namespace detail

/// Bytes of workspace solver_svd_topk needs for an (m, n) matrix.
template <class T>
std::size_t solver_svd_workspace_bytes(cusolverDnHandle_t solver, Index m, Index n,
                                       const SolverSvdOptions& options = {}) {
  return detail::plan_solver<T>(solver, m, n, options).total;
}

/// Top-k singular triplets of a (m, n) row-major (row stride lda) by cuSOLVER, 0 <= k <= min(m, n)
/// (k = 0 does nothing): sigma (k) descending, u (m, k) row stride ldu, v (n, k) row stride ldv or
/// nullptr (all assigned; device pointers). Sets both handles' streams to `stream`, then synchronises
/// the stream to read cuSOLVER's info, and throws CudaError when it reports a bad argument or no
/// convergence.
template <class T>
void solver_svd_topk(cusolverDnHandle_t solver, cublasHandle_t blas, Index m, Index n, const T* a, Index lda, Index k,
                     T* sigma, T* u, Index ldu, T* v, Index ldv, cudaStream_t stream,
                     const SolverSvdOptions& options = {}, kernels::DeviceWorkspace workspace = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "solver_svd_topk: float or double");
  require(m >= 0 && n >= 0 && k >= 0 && k <= std::min(m, n), "solver_svd_topk: k = ", k,
          " outside [0, min(m, n) = ", std::min(m, n), "] for (", m, ", ", n, ")");
  if (k == 0) return;
  require(blas != nullptr, "solver_svd_topk: no cuBLAS handle");
  require(a != nullptr && sigma != nullptr && u != nullptr, "solver_svd_topk: a, sigma and u must be device pointers");
  require(lda >= n && ldu >= k && (!v || ldv >= k) && lda < INT_MAX && ldu < INT_MAX && ldv < INT_MAX,
          "solver_svd_topk: bad row strides (lda ", lda, ", ldu ", ldu, ", ldv ", ldv, ")");
  const detail::SolverPlan plan = detail::plan_solver<T>(solver, m, n, options);
  kernels::svd_detail::SvdScratch own;
  auto* work = static_cast<unsigned char*>(
      kernels::svd_detail::resolve_workspace(workspace, plan.total, own, stream, "solver_svd_topk"));
  T* x = reinterpret_cast<T*>(work + plan.x);
  T* s = reinterpret_cast<T*>(work + plan.s);
  T* left = reinterpret_cast<T*>(work + plan.left);
  T* right = reinterpret_cast<T*>(work + plan.right);
  T* lwork = reinterpret_cast<T*>(work + plan.work);
  int* info = reinterpret_cast<int*>(work + plan.info);
  NETGROW_CUSOLVER_CHECK(cusolverDnSetStream(solver, stream));
  NETGROW_CUBLAS_CHECK(cublasSetStream(blas, stream));
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k), p = plan.p;

  std::optional<detail::GesvdjParams> params;  // lives until the stream is synchronised
  if (options.method == SolverSvdMethod::gesvdj) {
    // X = a^T, column-major (n, m), copied because gesvdj overwrites it. X = U' S V'^T.
    detail::copy_rows(mi, ni, a, lda, x, n, stream);
    params.emplace(options.tolerance, options.max_sweeps);
    NETGROW_CUSOLVER_CHECK(
        detail::gesvdj_run(solver, ni, mi, x, ni, s, left, ni, right, mi, lwork, plan.lwork, info, params->get()));
    detail::column_major_to_row_major(blas, mi, ki, right, mi, u, ldu);        // u = V' (m, k)
    if (v) detail::column_major_to_row_major(blas, ni, ki, left, ni, v, ldv);  // v = U' (n, k)
  } else if (n >= m) {
    // X = a^T (n, m) is tall: X = U' S VT', and VT' column-major (p, m) is u row-major (m, p).
    detail::copy_rows(mi, ni, a, lda, x, n, stream);
    NETGROW_CUSOLVER_CHECK(detail::gesvd_run(solver, ni, mi, x, ni, s, left, ni, right, p, lwork, plan.lwork, info));
    detail::copy_rows(mi, ki, right, p, u, ldu, stream);
    if (v) detail::column_major_to_row_major(blas, ni, ki, left, ni, v, ldv);
  } else {
    // a is tall: the column-major copy A (m, n) = X^T gives A = U S VT, and VT is v row-major (n, p).
    detail::geam_copy(blas, true, mi, ni, a, static_cast<int>(lda), x, mi);
    NETGROW_CUSOLVER_CHECK(detail::gesvd_run(solver, mi, ni, x, mi, s, left, mi, right, p, lwork, plan.lwork, info));
    detail::column_major_to_row_major(blas, mi, ki, left, mi, u, ldu);
    if (v) detail::copy_rows(ni, ki, right, p, v, ldv, stream);
  }
  NETGROW_CUDA_CHECK(
      cudaMemcpyAsync(sigma, s, static_cast<std::size_t>(k) * sizeof(T), cudaMemcpyDeviceToDevice, stream));
  kernels::fix_singular_vector_signs<T>(u, ldu, m, v, ldv, n, k, stream);
  int host_info = 0;
  NETGROW_CUDA_CHECK(cudaMemcpyAsync(&host_info, info, sizeof(int), cudaMemcpyDeviceToHost, stream));
  NETGROW_CUDA_CHECK(cudaStreamSynchronize(stream));
  require<CudaError>(host_info == 0, "solver_svd_topk: cuSOLVER ",
                     options.method == SolverSvdMethod::gesvdj ? "gesvdj" : "gesvd", " reported info = ", host_info,
                     host_info < 0 ? " (bad argument)" : " (no convergence)");
}

}  // namespace netgrow::cuda
