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
/// - Private pools (for CUDA graphs, backend/cuda/graph.hpp): between begin_private(id, stream) and
///   end_private(id), requests for that stream are served from pool `id`'s own cache first and the
///   blocks handed out belong to it: freed, they go back to that cache, never to other tensors, until
///   release_private(id) (the graph is gone and its work finished) returns them to the shared cache.
///   A private pool is *disturbed* when memory its capture may have used is freed after the capture:
///   a block live when begin_private was called, or one of its own blocks freed after end_private.
///   A graph must then be captured again before its next replay (buffers it wrote were replaced).
///
/// The bookkeeping is BasicDevicePool<Driver>, whose Driver does the allocations (CudaDriver:
/// cudaMalloc / cudaFree); tests run it on the host with a fake driver.
///
/// Host-compiler safe: needs only <cuda_runtime_api.h>.
#pragma once

#include <cuda_runtime_api.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::cuda {

namespace detail {
// Set when the process-wide pool has been destroyed (static destruction at exit): buffers released
// later (device tensors with static storage) are then left to the driver instead of touching it.
inline bool device_pool_destroyed = false;
}  // namespace detail

/// The CUDA calls behind DevicePool.
struct CudaDriver {
  static cudaError_t malloc(void** p, std::size_t bytes) { return cudaMalloc(p, bytes); }
  static cudaError_t free(void* p) { return cudaFree(p); }
  static int device() {
    int device = 0;
    NETGROW_CUDA_CHECK(cudaGetDevice(&device));
    return device;
  }
};

/// The pooled device allocator (see the file comment); use the process-wide device_pool().
template <class Driver>
class BasicDevicePool {
 public:
  /// Counters of the pool's activity, for tests and benchmarks.
  struct Statistics {
    std::size_t in_use_bytes = 0;   ///< handed out and not yet returned (size-class bytes)
    std::size_t cached_bytes = 0;   ///< returned and kept for reuse (shared and private caches)
    std::size_t mallocs = 0;        ///< cudaMalloc calls made so far
    std::size_t reuses = 0;         ///< requests served from a cache
  };

  /// Names a private pool (create_private()); 0 is none.
  using PrivateId = std::uint64_t;

  /// The smallest size class.
  static constexpr std::size_t min_class_bytes = 512;

  BasicDevicePool() = default;  ///< an empty pool; the library uses the process-wide device_pool()
  BasicDevicePool(const BasicDevicePool&) = delete;
  BasicDevicePool& operator=(const BasicDevicePool&) = delete;
  /// Frees the cached blocks (errors ignored: it may run at process exit).
  ~BasicDevicePool() {
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
    const int device = Driver::device();
    std::unique_lock lock(mutex_);
    Private* owner = capturing_for(device, stream);
    void* p = owner ? take_from(owner->cache, device, cls, stream) : nullptr;
    if (!p) p = take_from(cache_, device, cls, stream);
    if (p) {
      ++stats_.reuses;
    } else {
      cudaError_t status = Driver::malloc(&p, cls);
      const bool retried = status == cudaErrorMemoryAllocation;
      if (retried) {
        (void)cudaGetLastError();  // clear it: the retry decides
        release_cached_locked(false);
        status = Driver::malloc(&p, cls);
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
      ++stats_.mallocs;
    }
    live_.emplace(p, Block{cls, device, owner ? owner->id : 0, ++serial_});
    stats_.in_use_bytes += cls;
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
    for (Private& pool : privates_) {
      const bool live_at_capture = block.serial <= pool.serial_at_begin;
      const bool own_after_capture = block.owner == pool.id && !pool.capturing;
      if (live_at_capture || own_after_capture) pool.disturbed = true;
    }
    Private* owner = find_private(block.owner);
    try {
      (owner ? owner->cache : cache_)[Key{block.device, stream, cls}].push_back(p);
    } catch (...) {  // out of host memory for the cache entry: give the block back instead
      stats_.cached_bytes -= cls;
      (void)Driver::free(p);
    }
  }

  /// The size class of a live block (0 for null or unknown pointers).
  std::size_t block_bytes(const void* p) const {
    std::unique_lock lock(mutex_);
    const auto it = live_.find(const_cast<void*>(p));
    return it == live_.end() ? 0 : it->second.bytes;
  }

  /// Frees every block of the shared cache (cudaFree waits for the device's queued work first).
  /// Private caches stay: their graphs may still use them.
  void trim() {
    std::unique_lock lock(mutex_);
    release_cached_locked(false);
  }

  /// Called when `stream` is about to be destroyed after all its work finished: its cached blocks
  /// become usable by any stream.
  void release_stream(cudaStream_t stream) noexcept {
    if (stream == nullptr) return;
    std::unique_lock lock(mutex_);
    rekey_stream(cache_, stream);
    for (Private& pool : privates_) rekey_stream(pool.cache, stream);
  }

  /// A new private pool (see the file comment), empty and idle.
  PrivateId create_private() {
    std::unique_lock lock(mutex_);
    Private pool;
    pool.id = ++next_private_;
    privates_.push_back(std::move(pool));
    return privates_.back().id;
  }

  /// Requests for `stream` on the current device come from private pool `id` until end_private(id);
  /// resets its disturbed flag and starts watching the blocks live now. One capture per stream.
  void begin_private(PrivateId id, cudaStream_t stream) {
    const int device = Driver::device();
    std::unique_lock lock(mutex_);
    Private& pool = get_private(id, "begin_private");
    require(!pool.capturing, "cuda::DevicePool::begin_private: private pool ", id, " is already capturing");
    require(capturing_for(device, stream) == nullptr, "cuda::DevicePool::begin_private: the stream is already "
            "being captured into another private pool");
    pool.capturing = true;
    pool.device = device;
    pool.stream = stream;
    pool.disturbed = false;
    pool.serial_at_begin = serial_;
  }

  /// Ends the capture begun by begin_private(id); the pool keeps its blocks and keeps watching.
  void end_private(PrivateId id) {
    std::unique_lock lock(mutex_);
    get_private(id, "end_private").capturing = false;
  }

  /// Whether memory the capture into `id` may have used was freed since (see the file comment).
  bool private_disturbed(PrivateId id) const {
    std::unique_lock lock(mutex_);
    const Private* pool = find_private(id);
    return pool && pool->disturbed;
  }

  /// Ends private pool `id` (its graph is destroyed and the work that used its blocks has finished or
  /// is queued on their streams): its cached blocks join the shared cache, its live blocks become
  /// ordinary ones. Never throws.
  void release_private(PrivateId id) noexcept {
    std::unique_lock lock(mutex_);
    for (auto it = privates_.begin(); it != privates_.end(); ++it) {
      if (it->id != id) continue;
      for (auto& [key, blocks] : it->cache) {
        try {
          auto& shared = cache_[key];
          shared.insert(shared.end(), blocks.begin(), blocks.end());
        } catch (...) {  // out of host memory for the shared entry: free these blocks instead
          for (void* p : blocks) (void)Driver::free(p);
          stats_.cached_bytes -= key.bytes * blocks.size();
        }
      }
      for (auto& [p, block] : live_)
        if (block.owner == id) block.owner = 0;
      privates_.erase(it);
      return;
    }
  }

  /// Bytes cached by private pool `id` (0 for an unknown id).
  std::size_t private_cached_bytes(PrivateId id) const {
    std::unique_lock lock(mutex_);
    std::size_t total = 0;
    if (const Private* pool = find_private(id))
      for (const auto& [key, blocks] : pool->cache) total += key.bytes * blocks.size();
    return total;
  }

  /// A snapshot of the counters.
  Statistics statistics() const {
    std::unique_lock lock(mutex_);
    return stats_;
  }

 private:
  struct Block {
    std::size_t bytes;   // its size class
    int device;
    PrivateId owner;     // the private pool it returns to, or 0
    std::uint64_t serial;  // when it was handed out (1, 2, ...)
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
  using Cache = std::map<Key, std::vector<void*>>;
  struct Private {
    PrivateId id = 0;
    Cache cache;
    bool capturing = false;
    bool disturbed = false;
    int device = -1;
    cudaStream_t stream = nullptr;
    std::uint64_t serial_at_begin = 0;  // blocks handed out up to this serial were live at the capture
                                        // (0 before the first: serials start at 1, so none)
  };

  void* take_from(Cache& cache, int device, std::size_t cls, cudaStream_t stream) {
    for (cudaStream_t s : {stream, static_cast<cudaStream_t>(nullptr)}) {
      const auto it = cache.find(Key{device, s, cls});
      if (it != cache.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= cls;
        return p;
      }
      if (stream == nullptr) break;
    }
    return nullptr;
  }

  Private* capturing_for(int device, cudaStream_t stream) {
    for (Private& pool : privates_)
      if (pool.capturing && pool.device == device && pool.stream == stream) return &pool;
    return nullptr;
  }
  const Private* find_private(PrivateId id) const {
    if (id == 0) return nullptr;
    for (const Private& pool : privates_)
      if (pool.id == id) return &pool;
    return nullptr;
  }
  Private* find_private(PrivateId id) {
    return const_cast<Private*>(static_cast<const BasicDevicePool*>(this)->find_private(id));
  }
  Private& get_private(PrivateId id, const char* what) {
    Private* pool = find_private(id);
    require(pool != nullptr, "cuda::DevicePool::", what, ": no private pool ", id);
    return *pool;
  }

  void rekey_stream(Cache& cache, cudaStream_t stream) noexcept {
    for (auto it = cache.begin(); it != cache.end();) {
      if (it->first.stream == stream) {
        try {
          auto& idle = cache[Key{it->first.device, nullptr, it->first.bytes}];
          idle.insert(idle.end(), it->second.begin(), it->second.end());
        } catch (...) {
          for (void* p : it->second) (void)Driver::free(p);
          stats_.cached_bytes -= it->second.size() * it->first.bytes;
        }
        it = cache.erase(it);
      } else {
        ++it;
      }
    }
  }

  void release_cached_locked(bool ignore_errors) {
    cudaError_t first_error = cudaSuccess;
    for (auto& [key, blocks] : cache_)
      for (void* p : blocks) {
        const cudaError_t status = Driver::free(p);
        if (status != cudaSuccess && first_error == cudaSuccess) first_error = status;
        stats_.cached_bytes -= key.bytes;
      }
    cache_.clear();
    if (first_error != cudaSuccess) {
      (void)cudaGetLastError();
      if (!ignore_errors)
        ::netgrow::detail::throw_cuda_error(first_error, "cudaFree (cuda::DevicePool::trim)", __FILE__, __LINE__);
    }
  }

  void release_all(bool ignore_errors) noexcept {
    try {
      std::unique_lock lock(mutex_);
      for (Private& pool : privates_) {
        for (auto& [key, blocks] : pool.cache)
          for (void* p : blocks) (void)Driver::free(p);
        pool.cache.clear();
      }
      release_cached_locked(ignore_errors);
    } catch (...) {
    }
  }

  friend BasicDevicePool<CudaDriver>& device_pool();
  struct ProcessPool {};
  explicit BasicDevicePool(ProcessPool) : process_pool_(true) {}
  static BasicDevicePool& instance_slot() {
    static BasicDevicePool pool{ProcessPool{}};
    return pool;
  }
  bool process_pool_ = false;

  mutable std::mutex mutex_;
  Cache cache_;
  std::unordered_map<void*, Block> live_;
  std::vector<Private> privates_;
  PrivateId next_private_ = 0;
  std::uint64_t serial_ = 0;
  Statistics stats_;
};

/// The allocator every Tensor<T, Cuda> and context workspace uses.
using DevicePool = BasicDevicePool<CudaDriver>;

/// The process-wide pool, for every device (blocks remember their device; with unified addressing
/// cudaFree works from any current device).
inline BasicDevicePool<CudaDriver>& device_pool() { return DevicePool::instance_slot(); }

}  // namespace netgrow::cuda
