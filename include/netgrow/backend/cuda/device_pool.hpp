/// \file
/// netgrow/backend/cuda/device_pool.hpp: the pooled device allocator behind every Tensor<T, Cuda>
/// (detail::Buffer<T, Cuda> in memory.hpp) and every context's workspace.
///
/// Contracts
/// - Requests are rounded up to a size class (four classes per power of two, in steps of at least 512
///   bytes: at most 25% or 512 bytes is wasted); a freed block is cached under its class and handed
///   out again to the next request of the same class, without calling cudaMalloc/cudaFree (which
///   synchronise the device).
/// - Blocks are tagged with their device and the stream they were returned for, and reused only by
///   requests on that device and stream (work queued on it before the free finishes before work
///   queued after the reuse), or, once that stream is released (release_stream(): its work has
///   finished), by any stream of the device.
/// - When cudaMalloc runs out of memory the cache is released (trim()) and the allocation retried once;
///   if it fails again CudaOutOfMemory says how much was asked for and how much is in use.
/// - Thread-safe (one mutex). Blocks are 256-byte aligned (cudaMalloc's guarantee).
///
/// Host-compiler safe: needs only <cuda_runtime_api.h>.
#pragma once

#include <cuda_runtime_api.h>

#include <bit>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netgrow/core/cuda_check.hpp"

namespace netgrow::cuda {

namespace detail {
// Set when the process-wide pool has been destroyed (static destruction at exit): buffers released
// later (device tensors with static storage) are then left to the driver instead of touching it.
inline bool device_pool_destroyed = false;
}  // namespace detail

/// The pooled device allocator (see the file comment); use the process-wide device_pool().
class DevicePool {
 public:
  /// Counters of the pool's activity, for tests and benchmarks.
  struct Statistics {
    std::size_t in_use_bytes = 0;   ///< handed out and not yet returned (size-class bytes)
    std::size_t cached_bytes = 0;   ///< returned and kept for reuse
    std::size_t mallocs = 0;        ///< cudaMalloc calls made so far
    std::size_t reuses = 0;         ///< requests served from the cache
  };

  /// The smallest size class.
  static constexpr std::size_t min_class_bytes = 512;

  DevicePool() = default;  ///< an empty pool; the library uses the process-wide device_pool()
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;
  /// Frees the cached blocks (errors ignored: it may run at process exit).
  ~DevicePool() {
    release_all(/*ignore_errors=*/true);
    if (process_pool_) detail::device_pool_destroyed = true;
  }

  /// The size class a request of `bytes` is served from (>= bytes).
  static std::size_t size_class(std::size_t bytes) {
    if (bytes <= min_class_bytes) return min_class_bytes;
    if (bytes > (std::numeric_limits<std::size_t>::max() >> 2)) return bytes;  // no device has that much
    const std::size_t high = std::bit_floor(bytes);
    const std::size_t step = high / 4 > min_class_bytes ? high / 4 : min_class_bytes;
    return (bytes + step - 1) / step * step;
  }

  /// A block of at least `bytes` on the current device for work on `stream` (a stream of that
  /// device); nullptr for bytes == 0.
  void* allocate(std::size_t bytes, cudaStream_t stream) {
    if (bytes == 0) return nullptr;
    const std::size_t cls = size_class(bytes);
    int device = 0;
    NETGROW_CUDA_CHECK(cudaGetDevice(&device));
    std::unique_lock lock(mutex_);
    if (void* p = take_cached(device, cls, stream)) {
      live_.emplace(p, Block{cls, device});
      stats_.in_use_bytes += cls;
      ++stats_.reuses;
      return p;
    }
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, cls);
    const bool retried = status == cudaErrorMemoryAllocation;
    if (retried) {
      (void)cudaGetLastError();  // clear it: the retry decides
      release_cached_locked(false);
      status = cudaMalloc(&p, cls);
    }
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      const std::string msg = ::netgrow::detail::concat(
          "cuda::DevicePool: cudaMalloc of ", cls, " bytes (", bytes, " requested) failed with ",
          cudaGetErrorName(status), " (", cudaGetErrorString(status), "); ", stats_.in_use_bytes,
          " bytes are in use by netgrow tensors and workspaces",
          retried ? " (the cache was released and the allocation retried)" : "");
      if (status == cudaErrorMemoryAllocation) throw CudaOutOfMemory(msg);
      throw CudaError(msg);
    }
    live_.emplace(p, Block{cls, device});
    stats_.in_use_bytes += cls;
    ++stats_.mallocs;
    return p;
  }

  /// Returns a block from allocate() after the work queued on `stream` that uses it. Never throws.
  void deallocate(void* p, cudaStream_t stream) noexcept {
    if (!p) return;
    std::unique_lock lock(mutex_);
    const auto it = live_.find(p);
    if (it == live_.end()) return;  // not ours (a bug elsewhere); leaking beats freeing foreign memory
    const Block block = it->second;
    const std::size_t cls = block.bytes;
    live_.erase(it);
    stats_.in_use_bytes -= cls;
    stats_.cached_bytes += cls;
    try {
      cache_[Key{block.device, stream, cls}].push_back(p);
    } catch (...) {  // out of host memory for the cache entry: give the block back instead
      stats_.cached_bytes -= cls;
      (void)cudaFree(p);
    }
  }

  /// The size class of a live block (0 for null or unknown pointers).
  std::size_t block_bytes(const void* p) const {
    std::unique_lock lock(mutex_);
    const auto it = live_.find(const_cast<void*>(p));
    return it == live_.end() ? 0 : it->second.bytes;
  }

  /// Frees every cached block (cudaFree waits for the device's queued work first).
  void trim() {
    std::unique_lock lock(mutex_);
    release_cached_locked(false);
  }

  /// Called when `stream` is about to be destroyed after all its work finished: its cached blocks
  /// become usable by any stream.
  void release_stream(cudaStream_t stream) noexcept {
    std::unique_lock lock(mutex_);
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->first.stream == stream && stream != nullptr) {
        try {
          auto& idle = cache_[Key{it->first.device, nullptr, it->first.bytes}];
          idle.insert(idle.end(), it->second.begin(), it->second.end());
        } catch (...) {
          for (void* p : it->second) (void)cudaFree(p);
          stats_.cached_bytes -= it->second.size() * it->first.bytes;
        }
        it = cache_.erase(it);
      } else {
        ++it;
      }
    }
  }

  /// A snapshot of the counters.
  Statistics statistics() const {
    std::unique_lock lock(mutex_);
    return stats_;
  }

 private:
  struct Block {
    std::size_t bytes;  // its size class
    int device;
  };
  struct Key {
    int device;
    cudaStream_t stream;  // nullptr: no pending work, any stream of the device may take it
    std::size_t bytes;
    bool operator<(const Key& o) const {
      if (device != o.device) return device < o.device;
      if (stream != o.stream) return std::less<cudaStream_t>()(stream, o.stream);
      return bytes < o.bytes;
    }
  };

  void* take_cached(int device, std::size_t cls, cudaStream_t stream) {
    for (cudaStream_t s : {stream, static_cast<cudaStream_t>(nullptr)}) {
      const auto it = cache_.find(Key{device, s, cls});
      if (it != cache_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= cls;
        return p;
      }
      if (stream == nullptr) break;
    }
    return nullptr;
  }

  void release_cached_locked(bool ignore_errors) {
    cudaError_t first_error = cudaSuccess;
    for (auto& [key, blocks] : cache_)
      for (void* p : blocks) {
        const cudaError_t status = cudaFree(p);
        if (status != cudaSuccess && first_error == cudaSuccess) first_error = status;
      }
    cache_.clear();
    stats_.cached_bytes = 0;
    if (first_error != cudaSuccess) {
      (void)cudaGetLastError();
      if (!ignore_errors)
        ::netgrow::detail::throw_cuda_error(first_error, "cudaFree (cuda::DevicePool::trim)", __FILE__, __LINE__);
    }
  }

  void release_all(bool ignore_errors) noexcept {
    try {
      std::unique_lock lock(mutex_);
      release_cached_locked(ignore_errors);
    } catch (...) {
    }
  }

  friend DevicePool& device_pool();
  struct ProcessPool {};
  explicit DevicePool(ProcessPool) : process_pool_(true) {}
  static DevicePool& instance_slot() {
    static DevicePool pool{ProcessPool{}};
    return pool;
  }
  bool process_pool_ = false;

  mutable std::mutex mutex_;
  std::map<Key, std::vector<void*>> cache_;
  std::unordered_map<void*, Block> live_;
  Statistics stats_;
};

/// The process-wide pool, for every device (blocks remember their device; with unified addressing
/// cudaFree works from any current device).
inline DevicePool& device_pool() { return DevicePool::instance_slot(); }

}  // namespace netgrow::cuda
