/// \file
/// netgrow/backend/cuda/context.hpp: where CUDA work is queued. A Context owns a stream, a cuBLAS
/// handle and a cuSOLVER handle bound to it (each created on first use), a reusable device workspace,
/// and the GEMM path the op facade takes. cuda::context() is the calling thread's current context on
/// the current device; every op, transfer and Tensor<T, Cuda> buffer operation queues on it.
///
/// Contracts
/// - The stream is an ordinary (blocking) stream: it synchronises with the legacy default stream, so
///   raw cudaMemcpy calls by user code see the results of netgrow's queued work.
/// - cuBLAS runs in its default math mode (no TF32), host pointer mode.
/// - workspace(bytes) returns scratch that stays valid until the next workspace() call on the same
///   context; work queued on stream() after the call may use it (stream order keeps reuse safe).
/// - Each thread gets its own context per device (created on first use, destroyed at thread exit);
///   ScopedContext makes another one current for a scope (e.g. a second stream).
///
/// Host-compiler safe: needs the CUDA runtime, cuBLAS and cuSOLVER headers only.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/backend/cuda/device_pool.hpp"
#include "netgrow/core/cuda_library_check.hpp"
#include "netgrow/core/config.hpp"

namespace netgrow::cuda {

/// Which GEMM the op facade's ops::gemm runs on Cuda views: cuBLAS (`library`) or netgrow's own
/// kernels/gemm.cuh (`native`).
enum class GemmPath { library, native };

/// How Conv2d (ops::conv2d_forward / conv2d_backward) runs on Cuda views: im2col into a column matrix
/// and one GEMM on the gemm_path() (`im2col_gemm`), or netgrow's implicit GEMMs that gather the patches
/// inside the GEMM's k loop (`implicit_gemm`, kernels/conv_implicit.cuh: no column matrix, no permutes).
enum class ConvPath { im2col_gemm, implicit_gemm };

/// The calling thread's current device.
inline int current_device() {
  int device = 0;
  NETGROW_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

namespace detail {

// Makes `device` current for a scope and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) : previous_(current_device()) {
    if (device != previous_) NETGROW_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() { (void)cudaSetDevice(previous_); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

}  // namespace detail

/// A stream with its cuBLAS and cuSOLVER handles, workspace and GEMM path on one device (see the file
/// comment). Not copyable.
class Context {
 public:
  /// A context on the current device.
  Context() : Context(current_device()) {}

  /// A context on `device`, with a new stream.
  explicit Context(int device) : device_(device) {
    detail::DeviceGuard guard(device_);
    NETGROW_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamDefault));
  }

  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// Waits for the stream, then releases everything (errors are ignored: it may run at process exit).
  ~Context() {
    if (!stream_) return;
    (void)cudaStreamSynchronize(stream_);
    if (workspace_) device_pool().deallocate(workspace_, stream_);
    device_pool().release_stream(stream_);
    if (solver_) (void)cusolverDnDestroy(solver_);
    if (blas_) (void)cublasDestroy(blas_);
    (void)cudaStreamDestroy(stream_);
    (void)cudaGetLastError();
  }

  int device() const { return device_; }           ///< the device the context works on
  cudaStream_t stream() const { return stream_; }  ///< the stream its work is queued on

  /// The cuBLAS handle bound to stream(), created on first use.
  cublasHandle_t blas() {
    if (!blas_) {
      detail::DeviceGuard guard(device_);
      cublasHandle_t h = nullptr;
      NETGROW_CUBLAS_CHECK(cublasCreate(&h));
      try {
        NETGROW_CUBLAS_CHECK(cublasSetStream(h, stream_));
        NETGROW_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
        NETGROW_CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
      } catch (...) {
        (void)cublasDestroy(h);
        throw;
      }
      blas_ = h;
    }
    return blas_;
  }

  /// The cuSOLVER dense handle bound to stream(), created on first use.
  cusolverDnHandle_t solver() {
    if (!solver_) {
      detail::DeviceGuard guard(device_);
      cusolverDnHandle_t h = nullptr;
      NETGROW_CUSOLVER_CHECK(cusolverDnCreate(&h));
      try {
        NETGROW_CUSOLVER_CHECK(cusolverDnSetStream(h, stream_));
      } catch (...) {
        (void)cusolverDnDestroy(h);
        throw;
      }
      solver_ = h;
    }
    return solver_;
  }

  /// Device scratch of at least `bytes` (see the contract above); nullptr for 0 bytes.
  void* workspace(std::size_t bytes) {
    if (bytes > workspace_bytes_) {
      detail::DeviceGuard guard(device_);
      void* bigger = device_pool().allocate(bytes, stream_);
      if (workspace_) device_pool().deallocate(workspace_, stream_);
      workspace_ = bigger;
      workspace_bytes_ = DevicePool::size_class(bytes);
    }
    return bytes ? workspace_ : nullptr;
  }
  /// workspace() for `count` elements of T.
  template <class T>
  T* workspace_for(Index count) {
    return static_cast<T*>(workspace(static_cast<std::size_t>(count > 0 ? count : 0) * sizeof(T)));
  }
  std::size_t workspace_bytes() const { return workspace_bytes_; }  ///< the workspace's current size

  /// The GEMM ops::gemm runs on this context (default: library, cuBLAS).
  ///@{
  GemmPath gemm_path() const { return gemm_path_; }
  void set_gemm_path(GemmPath path) { gemm_path_ = path; }
  ///@}

  /// How convolutions run on this context (default: im2col_gemm).
  ///@{
  ConvPath conv_path() const { return conv_path_; }
  void set_conv_path(ConvPath path) { conv_path_ = path; }
  ///@}

  /// Waits until the work queued so far has finished.
  void synchronize() const { NETGROW_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  GemmPath gemm_path_ = GemmPath::library;  // until the native GEMM is benchmarked against cuBLAS
  ConvPath conv_path_ = ConvPath::im2col_gemm;  // until the implicit GEMM is measured on a GPU
};

namespace detail {

struct ThreadContexts {
  std::vector<std::unique_ptr<Context>> owned;  // index: device; created on first use
  std::vector<Context*> current;                // index: device; null: `owned` is current
  ThreadContexts() = default;
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;
  ~ThreadContexts() {
    current.clear();
    owned.clear();  // each waits for its stream, then releases it
  }
};

inline ThreadContexts& thread_contexts() {
  thread_local ThreadContexts contexts;
  return contexts;
}

}  // namespace detail

/// The calling thread's current context on the current device.
inline Context& context() {
  const int device = current_device();
  auto& t = detail::thread_contexts();
  const auto slot = static_cast<std::size_t>(device);
  if (slot >= t.current.size()) {
    t.current.resize(slot + 1, nullptr);
    t.owned.resize(slot + 1);
  }
  if (t.current[slot]) return *t.current[slot];
  if (!t.owned[slot]) t.owned[slot] = std::make_unique<Context>(device);
  return *t.owned[slot];
}

/// Sets the current context's conv path for a scope and restores the previous one.
class ConvPathScope {
 public:
  explicit ConvPathScope(ConvPath path) : saved_(context().conv_path()) { context().set_conv_path(path); }
  ~ConvPathScope() { context().set_conv_path(saved_); }
  ConvPathScope(const ConvPathScope&) = delete;
  ConvPathScope& operator=(const ConvPathScope&) = delete;

 private:
  ConvPath saved_;
};

/// Makes `ctx` the calling thread's current context on its device until the scope ends.
class ScopedContext {
 public:
  /// Makes `ctx` current for its device; the destructor restores the previous one.
  explicit ScopedContext(Context& ctx) : device_(ctx.device()) {
    auto& t = detail::thread_contexts();
    const auto slot = static_cast<std::size_t>(device_);
    if (slot >= t.current.size()) {
      t.current.resize(slot + 1, nullptr);
      t.owned.resize(slot + 1);
    }
    previous_ = t.current[slot];
    t.current[slot] = &ctx;
  }
  /// Restores the context that was current before.
  ~ScopedContext() { detail::thread_contexts().current[static_cast<std::size_t>(device_)] = previous_; }
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  int device_;
  Context* previous_ = nullptr;
};

}  // namespace netgrow::cuda
