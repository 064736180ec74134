// Device memory and stream holders for the GEMM / im2col shims (included from .cu files only).
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "netgrow/core/cuda_check.hpp"

namespace netgrow::test {

// A stream of its own, so the kernels are tested on a non-default stream.
class TestStream {
 public:
  TestStream() { NETGROW_CUDA_CHECK(cudaStreamCreate(&stream_)); }
  ~TestStream() { (void)cudaStreamDestroy(stream_); }
  TestStream(const TestStream&) = delete;
  TestStream& operator=(const TestStream&) = delete;
  cudaStream_t get() const { return stream_; }
  void synchronize() const { NETGROW_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

// A device copy of a host vector; copy_to reads it back. Copies are ordered on the given stream.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer(const std::vector<T>& host, cudaStream_t stream) : size_(host.size()) {
    if (size_ == 0) return;
    NETGROW_CUDA_CHECK(cudaMalloc(&data_, bytes()));
    NETGROW_CUDA_CHECK(cudaMemcpyAsync(data_, host.data(), bytes(), cudaMemcpyHostToDevice, stream));
  }
  ~DeviceBuffer() {
    if (data_ != nullptr) (void)cudaFree(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  // Fills every byte with `byte` (0xFF: NaN for float and double), ordered on `stream`.
  void fill_bytes(int byte, cudaStream_t stream) {
    if (size_ > 0) NETGROW_CUDA_CHECK(cudaMemsetAsync(data_, byte, bytes(), stream));
  }
  // Copies back into `host` (resized) and waits for the stream.
  void copy_to(std::vector<T>& host, cudaStream_t stream) const {
    host.resize(size_);
    if (size_ > 0) NETGROW_CUDA_CHECK(cudaMemcpyAsync(host.data(), data_, bytes(), cudaMemcpyDeviceToHost, stream));
    NETGROW_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

 private:
  std::size_t bytes() const { return size_ * sizeof(T); }
  std::size_t size_ = 0;
  T* data_ = nullptr;
};

}  // namespace netgrow::test
