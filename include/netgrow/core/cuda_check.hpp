/// \file
/// netgrow/core/cuda_check.hpp: turns CUDA runtime return codes into exceptions carrying the call
/// text and location, and answers whether a usable GPU is present.
///
/// Host-compiler safe: needs only <cuda_runtime_api.h>, so test drivers and host code can include it.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "netgrow/core/error.hpp"

namespace netgrow {

/// A failed CUDA, cuBLAS or cuSOLVER call; what() names the call, its status and where it was made.
class CudaError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

/// Out of device memory: a CudaError the caller may recover from (smaller batch, fewer neurons).
class CudaOutOfMemory : public CudaError {
 public:
  using CudaError::CudaError;  ///< constructed from the message, like every netgrow::Error
};

namespace detail {

inline void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  const std::string where = std::string(file) + ":" + std::to_string(line);
  const std::string msg = std::string(call) + " failed with " + cudaGetErrorName(status) + " (" +
                          cudaGetErrorString(status) + ") at " + where;
  if (status == cudaErrorMemoryAllocation) throw CudaOutOfMemory(msg);
  throw CudaError(msg);
}

}  // namespace detail

}  // namespace netgrow

/// Checks a CUDA runtime call: NETGROW_CUDA_CHECK(cudaMemcpy(...)); a failure throws CudaError
/// (CudaOutOfMemory for cudaErrorMemoryAllocation).
#define NETGROW_CUDA_CHECK(call)                                                                   \
  do {                                                                                             \
    const cudaError_t netgrow_status_ = (call);                                                    \
    if (netgrow_status_ != cudaSuccess)                                                            \
      ::netgrow::detail::throw_cuda_error(netgrow_status_, #call, __FILE__, __LINE__);             \
  } while (0)

namespace netgrow::cuda {

/// Number of usable CUDA devices; 0 when there is no driver or no GPU (never throws for that).
inline int device_count() {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device"/"no driver" error
    return 0;
  }
  return n;
}

/// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for device `index`.
inline std::string device_description(int index = 0) {
  cudaDeviceProp p{};
  NETGROW_CUDA_CHECK(cudaGetDeviceProperties(&p, index));
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0)).substr(0, 5) + " GiB)";
}

}  // namespace netgrow::cuda
