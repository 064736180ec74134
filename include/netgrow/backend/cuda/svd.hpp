/// \file
/// netgrow/backend/cuda/svd.hpp: the CUDA back end of ops/svd.hpp, the device twin of
/// backend/cpu/svd.hpp: same options, same sign rule (each u column's largest-magnitude entry
/// positive), u (m, k) and v (n, k) on the device, the k singular values copied to the host (the few
/// scalars a rank decision needs).
///
/// The work runs in kernels/svd_topk.cuh (the batched one-sided Jacobi SVD for small or exact cases,
/// the randomized block iteration otherwise); its GEMMs take the context's path (cuBLAS or the native
/// kernel, cuda::context().gemm_path()). Scratch comes from the context's workspace. Waits for the
/// singular values, so the call returns with the results ready.
///
/// nvcc only (launches kernels).
#pragma once

#include <vector>

#include <netgrow/kernels/gemm.cuh>
#include <netgrow/kernels/svd_topk.cuh>

#include "netgrow/backend/cpu/svd.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"

namespace netgrow::backend {

namespace cuda_detail {

inline kernels::SvdOptions kernel_svd_options(const SvdOptions& o) {
  kernels::SvdOptions k;
  k.method = o.method == SvdMethod::exact        ? kernels::SvdMethod::exact
             : o.method == SvdMethod::randomized ? kernels::SvdMethod::randomized
                                                 : kernels::SvdMethod::automatic;
  k.oversampling = o.oversampling;
  k.power_iterations = o.power_iterations;
  k.seed = o.seed;
  return k;
}

// The GEMM the SVD's iterations use: netgrow's own kernel family, or cuBLAS.
struct NativeSvdGemm {
  template <class T>
  void operator()(bool ta, bool tb, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
                  T beta, T* c, Index ldc, cudaStream_t stream) const {
    if (m == 0 || n == 0) return;
    kernels::gemm<T>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
  }
};

template <class T, class Run>
TopSvd<T, Cuda> run_topk(Index m, Index n, Index k, bool want_v, std::size_t workspace_bytes, Run&& run) {
  auto& ctx = cuda::context();
  TopSvd<T, Cuda> out;
  out.u = Tensor<T, Cuda>(Shape{m, k});
  if (want_v) out.v = Tensor<T, Cuda>(Shape{n, k});
  Tensor<T, Cuda> sigma(Shape{k});
  if (k > 0) {
    const kernels::DeviceWorkspace workspace{ctx.workspace(workspace_bytes), workspace_bytes};
    if (ctx.gemm_path() == cuda::GemmPath::native) run(NativeSvdGemm{}, sigma.data(), out.u.data(),
                                                       want_v ? out.v.data() : nullptr, workspace);
    else run(kernels::CublasGemm{ctx.blas()}, sigma.data(), out.u.data(), want_v ? out.v.data() : nullptr, workspace);
  }
  std::vector<T> host(static_cast<std::size_t>(k));
  if (k > 0) {
    NETGROW_CUDA_CHECK(cudaMemcpyAsync(host.data(), sigma.data(), host.size() * sizeof(T), cudaMemcpyDeviceToHost,
                                       ctx.stream()));
    ctx.synchronize();
  }
  out.sigma.assign(host.begin(), host.end());
  return out;
}

}  // namespace cuda_detail

/// Top-k SVDs on the GPU (the path comes from the options: the kernels decide as the CPU does).
template <>
struct SvdOps<Cuda> {
  /// Top-k singular triplets of a (m, n). want_v: also the right vectors.
  template <class T>
  static TopSvd<T, Cuda> svd_topk(ConstView<T, Cuda> a, Index k, bool, const SvdOptions& options, bool want_v) {
    const Index m = a.dim(0), n = a.dim(1);
    const kernels::SvdOptions o = cuda_detail::kernel_svd_options(options);
    const std::size_t bytes = kernels::svd_topk_workspace_bytes<T>(m, n, k, want_v, o);
    return cuda_detail::run_topk<T>(m, n, k, want_v, bytes,
                                    [&](const auto& gemm, T* sigma, T* u, T* v, kernels::DeviceWorkspace w) {
                                      kernels::svd_topk<T>(gemm, m, n, a.data(), n, k, sigma, u, k, v, k,
                                                           cuda::context().stream(), o, w);
                                    });
  }

  /// Top-k singular triplets of a^T b without forming it: a (N, m), b (N, n), N >= 1.
  template <class T>
  static TopSvd<T, Cuda> svd_topk_of_product(ConstView<T, Cuda> a, ConstView<T, Cuda> b, Index k, bool,
                                             const SvdOptions& options, bool want_v) {
    const Index rows = a.dim(0), m = a.dim(1), n = b.dim(1);
    const kernels::SvdOptions o = cuda_detail::kernel_svd_options(options);
    const std::size_t bytes = kernels::svd_topk_of_product_workspace_bytes<T>(rows, m, n, k, want_v, o);
    return cuda_detail::run_topk<T>(m, n, k, want_v, bytes,
                                    [&](const auto& gemm, T* sigma, T* u, T* v, kernels::DeviceWorkspace w) {
                                      kernels::svd_topk_of_product<T>(gemm, rows, m, n, a.data(), m, b.data(), n, T(1),
                                                                      k, sigma, u, k, v, k, cuda::context().stream(),
                                                                      o, w);
                                    });
  }
};

}  // namespace netgrow::backend
