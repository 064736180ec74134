// Host-callable shims around the SVD kernels (kernels/svd_jacobi.cuh, kernels/svd_topk.cuh) and the
// cuSOLVER paths (backend/cuda/solver.hpp): host arrays in, host arrays out. Instantiated for float
// and double in svd_shim.cu.
#pragma once

#include <cstdint>
#include <vector>

#include "netgrow/core/config.hpp"

namespace netgrow::test {

// Device results copied back, compacted: sigma (batch, k), u (batch, m, k), v (batch, n, k), row-major.
// u / v stay empty when not requested.
template <class T>
struct SvdResult {
  std::vector<T> sigma, u, v;
};

enum class JacobiMemory { automatic, shared, global };

struct JacobiRequest {
  bool want_u = true, want_v = true;
  JacobiMemory memory = JacobiMemory::automatic;
  // Row strides and matrix strides with gaps (lda = n + 3, ldu = k + 2, ...) instead of packed ones.
  bool padded = false;
};

// kernels::svd_jacobi on `batch` (m, n) row-major matrices stored back to back in a. Output buffers
// are filled with NaN before the call, so anything left unassigned shows.
template <class T>
SvdResult<T> jacobi_on_device(const std::vector<T>& a, Index batch, Index m, Index n, Index k,
                              const JacobiRequest& request = {});

enum class TopkMethod { automatic, exact, randomized };

struct TopkRequest {
  TopkMethod method = TopkMethod::randomized;
  Index oversampling = 10;
  int power_iterations = 2;
  std::uint64_t seed = 0x5eed;
  bool want_v = true;
  bool caller_workspace = false;  // pass a workspace sized by *_workspace_bytes instead of none
};

// kernels::svd_topk on a (m, n) row-major, GEMMs through cuBLAS.
template <class T>
SvdResult<T> topk_on_device(const std::vector<T>& a, Index m, Index n, Index k, const TopkRequest& request = {});

// kernels::svd_topk_of_product on scale * a^T b, a (rows, m), b (rows, n) row-major.
template <class T>
SvdResult<T> topk_of_product_on_device(const std::vector<T>& a, const std::vector<T>& b, Index rows, Index m, Index n,
                                       T scale, Index k, const TopkRequest& request = {});

// Calls kernels::svd_topk with a caller workspace one byte smaller than it asks for (throws).
void topk_with_short_workspace(Index m, Index n, Index k);

// cuda::solver_svd_topk (gesvdj when `gesvdj`, else gesvd) on a (m, n) row-major.
template <class T>
SvdResult<T> solver_on_device(const std::vector<T>& a, Index m, Index n, Index k, bool gesvdj, bool want_v = true);

// A cuSOLVER / cuBLAS call with an invalid argument wrapped in NETGROW_CUSOLVER_CHECK /
// NETGROW_CUBLAS_CHECK (they throw netgrow::CudaError).
void invalid_cusolver_call();
void invalid_cublas_call();

}  // namespace netgrow::test
