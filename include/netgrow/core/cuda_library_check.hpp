/// \file
/// netgrow/core/cuda_library_check.hpp: turns cuBLAS and cuSOLVER status codes into exceptions
/// carrying the call text, the status name and the location, like NETGROW_CUDA_CHECK does for the
/// runtime.
///
/// Host-compiler safe: needs only <cublas_v2.h>, <cusolverDn.h> and check.hpp.
/// ~~~
///   NETGROW_CUBLAS_CHECK(cublasSgemm(...));
///   NETGROW_CUSOLVER_CHECK(cusolverDnSgesvdj(...));
/// ~~~
/// A failed call throws netgrow::CudaError; an allocation failure inside the library
/// (CUBLAS_STATUS_ALLOC_FAILED, CUSOLVER_STATUS_ALLOC_FAILED) throws netgrow::CudaOutOfMemory.
#pragma once

#include <cublas_v2.h>
#include <cusolverDn.h>

#include <string>

#include "netgrow/core/cuda_check.hpp"

namespace netgrow::detail {

// "CUSOLVER_STATUS_INVALID_VALUE" for a status; cuSOLVER has no name function of its own.
inline const char* cusolver_status_name(cusolverStatus_t status) {
  switch (status) {
    case CUSOLVER_STATUS_SUCCESS:
      return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED:
      return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED:
      return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE:
      return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
      return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_MAPPING_ERROR:
      return "CUSOLVER_STATUS_MAPPING_ERROR";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
      return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
      return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_ZERO_PIVOT:
      return "CUSOLVER_STATUS_ZERO_PIVOT";
    case CUSOLVER_STATUS_INVALID_LICENSE:
      return "CUSOLVER_STATUS_INVALID_LICENSE";
    case CUSOLVER_STATUS_INVALID_WORKSPACE:
      return "CUSOLVER_STATUS_INVALID_WORKSPACE";
    default:
      return "CUSOLVER_STATUS_(unnamed)";
  }
}

// The message both checks throw: "<call> failed with <STATUS_NAME> (code <n>) at <file>:<line>".
inline std::string library_error_message(const char* call, const char* status_name, int code, const char* file,
                                         int line) {
  return std::string(call) + " failed with " + status_name + " (code " + std::to_string(code) + ") at " + file + ":" +
         std::to_string(line);
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  const std::string msg =
      library_error_message(call, cublasGetStatusName(status), static_cast<int>(status), file, line);
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw CudaOutOfMemory(msg);
  throw CudaError(msg);
}

[[noreturn]] inline void throw_cusolver_error(cusolverStatus_t status, const char* call, const char* file, int line) {
  const std::string msg =
      library_error_message(call, cusolver_status_name(status), static_cast<int>(status), file, line);
  if (status == CUSOLVER_STATUS_ALLOC_FAILED) throw CudaOutOfMemory(msg);
  throw CudaError(msg);
}

}  // namespace netgrow::detail

/// Checks a cuBLAS call: NETGROW_CUBLAS_CHECK(cublasSgemm(...)).
#define NETGROW_CUBLAS_CHECK(call)                                                              \
  do {                                                                                          \
    const cublasStatus_t netgrow_cublas_status_ = (call);                                       \
    if (netgrow_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                        \
      ::netgrow::detail::throw_cublas_error(netgrow_cublas_status_, #call, __FILE__, __LINE__); \
  } while (0)

/// Checks a cuSOLVER call: NETGROW_CUSOLVER_CHECK(cusolverDnSgesvdj(...)).
#define NETGROW_CUSOLVER_CHECK(call)                                                                \
  do {                                                                                              \
    const cusolverStatus_t netgrow_cusolver_status_ = (call);                                       \
    if (netgrow_cusolver_status_ != CUSOLVER_STATUS_SUCCESS)                                        \
      ::netgrow::detail::throw_cusolver_error(netgrow_cusolver_status_, #call, __FILE__, __LINE__); \
  } while (0)
