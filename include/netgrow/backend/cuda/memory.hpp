/// \file
/// netgrow/backend/cuda/memory.hpp: device memory for Tensor<T, Cuda>: detail::Buffer<T, Cuda>, with
/// the interface of detail::Buffer<T, Cpu> (core/tensor.hpp), served by the pooled allocator
/// cuda::device_pool() (device_pool.hpp; cuda::device_pool().trim() releases its cache).
///
/// Every copy and zero-fill is queued on the calling thread's current stream (cuda::context()), so
/// it is ordered with the ops that read and write the tensor; nothing here synchronises the host.
/// A buffer belongs to the stream that was current when it was allocated: it goes back to the pool
/// tagged with that stream, so its memory is reused only by work queued on that stream after the
/// release (a tensor used on another stream must be synchronised by the user before it is freed).
///
/// Host-compiler safe: needs only the CUDA runtime, cuBLAS and cuSOLVER headers (through context.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/device_pool.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::detail {

template <class T>
class Buffer<T, Cuda> {
  static_assert(std::is_trivially_copyable_v<T>, "netgrow tensors hold trivially copyable scalars");

 public:
  Buffer() = default;
  explicit Buffer(Index n) { allocate(n); }
  Buffer(Buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        capacity_(std::exchange(o.capacity_, 0)),
        stream_(std::exchange(o.stream_, nullptr)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      capacity_ = std::exchange(o.capacity_, 0);
      stream_ = std::exchange(o.stream_, nullptr);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }

  // Ensures room for n elements; the contents are lost when it has to reallocate.
  void reserve_discarding(Index n) {
    if (n > capacity_) {
      Buffer bigger(n);  // allocate first: on failure this buffer is unchanged
      *this = std::move(bigger);
    }
  }

  // Ensures room for n elements, keeping the first `keep` elements.
  void reserve_keeping(Index n, Index keep) {
    if (n <= capacity_) return;
    Buffer bigger(n);
    copy_n(bigger.data_, data_, keep);
    *this = std::move(bigger);
  }

  T* data() const { return data_; }
  Index capacity() const { return capacity_; }

  // Queues a copy of n elements on the current stream (the ranges may overlap).
  static void copy_n(T* dst, const T* src, Index n) {
    if (n <= 0 || dst == src) return;
    const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
    auto& ctx = cuda::context();
    const auto* d = reinterpret_cast<const unsigned char*>(dst);
    const auto* s = reinterpret_cast<const unsigned char*>(src);
    const bool overlap = d < s + bytes && s < d + bytes;
    if (!overlap) {
      NETGROW_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
      return;
    }
    void* staging = ctx.workspace(bytes);  // cudaMemcpy* leaves overlapping ranges undefined
    NETGROW_CUDA_CHECK(cudaMemcpyAsync(staging, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
    NETGROW_CUDA_CHECK(cudaMemcpyAsync(dst, staging, bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
  }

  // Queues setting n elements to all-zero bytes (0 for float and double) on the current stream.
  static void zero_n(T* dst, Index n) {
    if (n <= 0) return;
    NETGROW_CUDA_CHECK(cudaMemsetAsync(dst, 0, static_cast<std::size_t>(n) * sizeof(T), cuda::context().stream()));
  }

 private:
  void allocate(Index n) {
    require(n >= 0, "Tensor: negative element count ", n);
    if (n == 0) return;
    require(static_cast<std::size_t>(n) <= std::numeric_limits<std::size_t>::max() / sizeof(T),
            "Tensor<T, Cuda>: ", n, " elements overflow the byte count");
    cudaStream_t stream = cuda::context().stream();
    data_ = static_cast<T*>(cuda::device_pool().allocate(static_cast<std::size_t>(n) * sizeof(T), stream));
    capacity_ = n;
    stream_ = stream;
  }
  void release() noexcept {
    // After the pool's static destruction (process exit) the driver reclaims the memory itself.
    if (data_ && !cuda::detail::device_pool_destroyed) cuda::device_pool().deallocate(data_, stream_);
    data_ = nullptr;
    capacity_ = 0;
    stream_ = nullptr;
  }

  T* data_ = nullptr;
  Index capacity_ = 0;
  cudaStream_t stream_ = nullptr;  // the stream it was allocated on: its work uses the buffer
};

}  // namespace netgrow::detail
