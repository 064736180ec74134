// Device side of the SVD tests: uploads, calls the launchers, downloads.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include <netgrow/kernels/svd_jacobi.cuh>
#include <netgrow/kernels/svd_topk.cuh>

#include "netgrow/core/cuda_library_check.hpp"
#include "netgrow/backend/cuda/solver.hpp"
#include "svd_shim.hpp"

namespace netgrow::test {
namespace {

// A device array that frees itself.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t count) : count_(count) {
    if (count_ > 0) NETGROW_CUDA_CHECK(cudaMalloc(&data_, count_ * sizeof(T)));
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (data_) (void)cudaFree(data_);
  }
  T* get() const { return data_; }
  void upload(const std::vector<T>& host) {
    if (!host.empty())
      NETGROW_CUDA_CHECK(cudaMemcpy(data_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    if (count_ > 0) NETGROW_CUDA_CHECK(cudaMemcpy(host.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  void fill_nan() {
    if (count_ > 0) NETGROW_CUDA_CHECK(cudaMemset(data_, 0xff, count_ * sizeof(T)));  // all ones: NaN
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

// Handles created once per process.
struct Handles {
  cublasHandle_t blas = nullptr;
  cusolverDnHandle_t solver = nullptr;
  Handles() {
    NETGROW_CUBLAS_CHECK(cublasCreate(&blas));
    NETGROW_CUSOLVER_CHECK(cusolverDnCreate(&solver));
  }
  ~Handles() {
    (void)cusolverDnDestroy(solver);
    (void)cublasDestroy(blas);
  }
};

Handles& handles() {
  static Handles h;
  return h;
}

std::size_t count(Index n) {
  return static_cast<std::size_t>(std::max<Index>(0, n));
}

// Packs `rows` rows of width `width` from a strided host array.
template <class T>
std::vector<T> compact(const std::vector<T>& strided, Index batch, Index stride, Index rows, Index ld, Index width) {
  std::vector<T> out;
  out.reserve(count(batch * rows * width));
  for (Index b = 0; b < batch; ++b)
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < width; ++j) out.push_back(strided[static_cast<std::size_t>(b * stride + i * ld + j)]);
  return out;
}

kernels::SvdOptions topk_options(const TopkRequest& r) {
  kernels::SvdOptions o;
  o.method = r.method == TopkMethod::automatic ? kernels::SvdMethod::automatic
             : r.method == TopkMethod::exact   ? kernels::SvdMethod::exact
                                               : kernels::SvdMethod::randomized;
  o.oversampling = r.oversampling;
  o.power_iterations = r.power_iterations;
  o.seed = r.seed;
  return o;
}

}  // namespace

template <class T>
SvdResult<T> jacobi_on_device(const std::vector<T>& a, Index batch, Index m, Index n, Index k,
                              const JacobiRequest& request) {
  const Index pad = request.padded ? 1 : 0;
  const Index lda = n + 3 * pad, stride_a = m * lda + 5 * pad;
  const Index ldu = k + 2 * pad, stride_u = m * ldu + pad;
  const Index ldv = k + 3 * pad, stride_v = n * ldv + 2 * pad;
  const Index stride_sigma = k + pad;
  std::vector<T> a_strided(count(batch * stride_a), T(0));
  for (Index b = 0; b < batch; ++b)
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < n; ++j)
        a_strided[static_cast<std::size_t>(b * stride_a + i * lda + j)] =
            a[static_cast<std::size_t>((b * m + i) * n + j)];
  DeviceArray<T> dev_a(a_strided.size()), sigma(count(batch * stride_sigma)),
      u(request.want_u ? count(batch * stride_u) : 0), v(request.want_v ? count(batch * stride_v) : 0);
  dev_a.upload(a_strided);
  sigma.fill_nan();
  u.fill_nan();
  v.fill_nan();
  kernels::JacobiSvdOptions options;
  options.storage = request.memory == JacobiMemory::automatic ? kernels::JacobiStorage::automatic
                    : request.memory == JacobiMemory::shared  ? kernels::JacobiStorage::shared
                                                              : kernels::JacobiStorage::global;
  kernels::svd_jacobi<T>(batch, m, n, dev_a.get(), lda, stride_a, k, sigma.get(), stride_sigma,
                         request.want_u ? u.get() : nullptr, ldu, stride_u, request.want_v ? v.get() : nullptr, ldv,
                         stride_v, nullptr, options);
  NETGROW_CUDA_CHECK(cudaDeviceSynchronize());
  SvdResult<T> r;
  r.sigma = compact(sigma.download(), batch, stride_sigma, 1, k, k);
  if (request.want_u) r.u = compact(u.download(), batch, stride_u, m, ldu, k);
  if (request.want_v) r.v = compact(v.download(), batch, stride_v, n, ldv, k);
  return r;
}

template <class T>
SvdResult<T> topk_on_device(const std::vector<T>& a, Index m, Index n, Index k, const TopkRequest& request) {
  DeviceArray<T> dev_a(a.size()), sigma(count(k)), u(count(m * k)), v(request.want_v ? count(n * k) : 0);
  dev_a.upload(a);
  sigma.fill_nan();
  u.fill_nan();
  v.fill_nan();
  const kernels::SvdOptions options = topk_options(request);
  const std::size_t bytes = kernels::svd_topk_workspace_bytes<T>(m, n, k, request.want_v, options);
  DeviceArray<unsigned char> workspace(request.caller_workspace ? bytes : 0);
  kernels::svd_topk<T>(kernels::CublasGemm{handles().blas}, m, n, dev_a.get(), n, k, sigma.get(), u.get(), k,
                       request.want_v ? v.get() : nullptr, k, nullptr, options,
                       kernels::DeviceWorkspace{workspace.get(), request.caller_workspace ? bytes : 0});
  NETGROW_CUDA_CHECK(cudaDeviceSynchronize());
  return {sigma.download(), u.download(), v.download()};
}

template <class T>
SvdResult<T> topk_of_product_on_device(const std::vector<T>& a, const std::vector<T>& b, Index rows, Index m, Index n,
                                       T scale, Index k, const TopkRequest& request) {
  DeviceArray<T> dev_a(a.size()), dev_b(b.size()), sigma(count(k)), u(count(m * k)),
      v(request.want_v ? count(n * k) : 0);
  dev_a.upload(a);
  dev_b.upload(b);
  sigma.fill_nan();
  u.fill_nan();
  v.fill_nan();
  const kernels::SvdOptions options = topk_options(request);
  const std::size_t bytes = kernels::svd_topk_of_product_workspace_bytes<T>(rows, m, n, k, request.want_v, options);
  DeviceArray<unsigned char> workspace(request.caller_workspace ? bytes : 0);
  kernels::svd_topk_of_product<T>(kernels::CublasGemm{handles().blas}, rows, m, n, dev_a.get(), m, dev_b.get(), n,
                                  scale, k, sigma.get(), u.get(), k, request.want_v ? v.get() : nullptr, k, nullptr,
                                  options,
                                  kernels::DeviceWorkspace{workspace.get(), request.caller_workspace ? bytes : 0});
  NETGROW_CUDA_CHECK(cudaDeviceSynchronize());
  return {sigma.download(), u.download(), v.download()};
}

void topk_with_short_workspace(Index m, Index n, Index k) {
  kernels::SvdOptions options;
  options.method = kernels::SvdMethod::randomized;
  const std::size_t bytes = kernels::svd_topk_workspace_bytes<float>(m, n, k, true, options);
  DeviceArray<float> a(count(m * n)), sigma(count(k)), u(count(m * k)), v(count(n * k));
  DeviceArray<unsigned char> workspace(bytes);
  kernels::svd_topk<float>(kernels::CublasGemm{handles().blas}, m, n, a.get(), n, k, sigma.get(), u.get(), k, v.get(),
                           k, nullptr, options, kernels::DeviceWorkspace{workspace.get(), bytes - 1});
}

template <class T>
SvdResult<T> solver_on_device(const std::vector<T>& a, Index m, Index n, Index k, bool gesvdj, bool want_v) {
  DeviceArray<T> dev_a(a.size()), sigma(count(k)), u(count(m * k)), v(want_v ? count(n * k) : 0);
  dev_a.upload(a);
  sigma.fill_nan();
  u.fill_nan();
  v.fill_nan();
  cuda::SolverSvdOptions options;
  options.method = gesvdj ? cuda::SolverSvdMethod::gesvdj : cuda::SolverSvdMethod::gesvd;
  cuda::solver_svd_topk<T>(handles().solver, handles().blas, m, n, dev_a.get(), n, k, sigma.get(), u.get(), k,
                           want_v ? v.get() : nullptr, k, nullptr, options);
  NETGROW_CUDA_CHECK(cudaDeviceSynchronize());
  return {sigma.download(), u.download(), v.download()};
}

// cuSOLVER 13 accepts the invalid-looking arguments tried before (m = -1 in the buffer-size query), so
// the macro is tested on a failing status it is handed directly.
void invalid_cusolver_call() {
  const cusolverStatus_t status = CUSOLVER_STATUS_INVALID_VALUE;
  NETGROW_CUSOLVER_CHECK(status);
}

void invalid_cublas_call() {
  const float one = 1;
  NETGROW_CUBLAS_CHECK(
      cublasSgemm(handles().blas, CUBLAS_OP_N, CUBLAS_OP_N, -1, 1, 1, &one, nullptr, 1, nullptr, 1, &one, nullptr, 1));
}

#define NETGROW_SVD_SHIM_INSTANTIATE(T)                                                                               \
  template SvdResult<T> jacobi_on_device<T>(const std::vector<T>&, Index, Index, Index, Index, const JacobiRequest&); \
  template SvdResult<T> topk_on_device<T>(const std::vector<T>&, Index, Index, Index, const TopkRequest&);            \
  template SvdResult<T> topk_of_product_on_device<T>(const std::vector<T>&, const std::vector<T>&, Index, Index,      \
                                                     Index, T, Index, const TopkRequest&);                            \
  template SvdResult<T> solver_on_device<T>(const std::vector<T>&, Index, Index, Index, bool, bool);
NETGROW_SVD_SHIM_INSTANTIATE(float)
NETGROW_SVD_SHIM_INSTANTIATE(double)
#undef NETGROW_SVD_SHIM_INSTANTIATE

}  // namespace netgrow::test
