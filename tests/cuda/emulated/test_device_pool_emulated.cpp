// Tests the bookkeeping of backend/cuda/device_pool.hpp on the host: BasicDevicePool with a fake
// driver that hands out host memory, so the size classes, stream keys, private pools (what CUDA graphs
// capture into) and their "disturbed" rule are checked on every machine, GPU or not.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include "netgrow/backend/cuda/device_pool.hpp"

namespace {

// Host memory posing as device memory; counts the calls and can be told to fail.
struct FakeDriver {
  static inline int mallocs = 0, frees = 0, fail_next = 0;
  static inline std::set<void*> outstanding;
  static cudaError_t malloc(void** p, std::size_t bytes) {
    if (fail_next > 0) {
      --fail_next;
      return cudaErrorMemoryAllocation;
    }
    *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    ++mallocs;
    outstanding.insert(*p);
    return cudaSuccess;
  }
  static cudaError_t free(void* p) {
    REQUIRE(outstanding.erase(p) == 1);  // never a double or foreign free
    std::free(p);
    ++frees;
    return cudaSuccess;
  }
  static int device() { return 0; }
};

using Pool = netgrow::cuda::BasicDevicePool<FakeDriver>;

cudaStream_t stream(std::uintptr_t n) { return reinterpret_cast<cudaStream_t>(n); }

}  // namespace

TEST_CASE("emulated pool: a freed block comes back for its size class and stream; trim frees the shared cache") {
  Pool pool;
  void* a = pool.allocate(1000, stream(1));
  CHECK(pool.block_bytes(a) == Pool::size_class(1000));
  pool.deallocate(a, stream(1));
  void* elsewhere = pool.allocate(900, stream(2));
  CHECK(elsewhere != a);  // another stream may not take it while stream 1 may still use it
  pool.deallocate(elsewhere, stream(2));
  void* b = pool.allocate(1000, stream(1));
  CHECK(b == a);
  const auto s = pool.statistics();
  CHECK(s.reuses == 1);
  CHECK(s.mallocs == 2);
  CHECK(s.in_use_bytes == Pool::size_class(1000));
  pool.deallocate(b, stream(1));
  pool.trim();
  CHECK(pool.statistics().cached_bytes == 0);
}

TEST_CASE("emulated pool: a capture's blocks stay private until the pool is released") {
  Pool pool;
  const auto id = pool.create_private();
  void* before = pool.allocate(4096, stream(1));
  pool.deallocate(before, stream(1));  // in the shared cache

  pool.begin_private(id, stream(1));
  void* temp = pool.allocate(4096, stream(1));  // a capture may take shared blocks ...
  CHECK(temp == before);
  void* other_stream = pool.allocate(4096, stream(2));  // ... but only the captured stream is private
  pool.deallocate(temp, stream(1));                     // ... and what it frees stays private
  void* temp2 = pool.allocate(4096, stream(1));
  CHECK(temp2 == temp);  // reused inside the capture, as stream order allows
  pool.deallocate(temp2, stream(1));
  pool.end_private(id);
  CHECK(!pool.private_disturbed(id));
  CHECK(pool.private_cached_bytes(id) == Pool::size_class(4096));

  // Outside the capture nobody gets the graph's block, not even on its stream.
  void* later = pool.allocate(4096, stream(1));
  CHECK(later != temp);
  CHECK(!pool.private_disturbed(id));  // born after the capture: freeing it disturbs nothing
  pool.deallocate(later, stream(1));
  CHECK(!pool.private_disturbed(id));

  // Trim leaves the graph's memory alone; releasing the pool hands it to everyone.
  pool.trim();
  CHECK(pool.private_cached_bytes(id) == Pool::size_class(4096));
  pool.release_private(id);
  CHECK(pool.private_cached_bytes(id) == 0);
  void* shared = pool.allocate(4096, stream(1));
  CHECK(shared == temp);
  pool.deallocate(shared, stream(1));
  pool.deallocate(other_stream, stream(2));
  CHECK_THROWS_WITH_AS(pool.begin_private(id, stream(1)), doctest::Contains("no private pool"),
                       netgrow::ArgumentError);
}

TEST_CASE("emulated pool: freeing memory a capture may use disturbs it; a new capture starts clean") {
  Pool pool;
  void* weights = pool.allocate(1 << 20, stream(1));      // live at the capture (a parameter)
  void* unrelated = pool.allocate(1 << 12, stream(1));
  const auto id = pool.create_private();
  pool.begin_private(id, stream(1));
  void* activations = pool.allocate(1 << 16, stream(1));  // created inside the capture and kept
  pool.end_private(id);
  CHECK(!pool.private_disturbed(id));

  SUBCASE("a block live at the capture") {
    pool.deallocate(weights, stream(1));  // e.g. a growth replaced the parameter
    CHECK(pool.private_disturbed(id));
    pool.deallocate(activations, stream(1));
  }
  SUBCASE("one of its own blocks after the capture") {
    pool.deallocate(activations, stream(1));  // e.g. an evaluation batch resized a layer's buffer
    CHECK(pool.private_disturbed(id));
    CHECK(pool.private_cached_bytes(id) == Pool::size_class(1 << 16));  // still reserved for the graph
    pool.deallocate(weights, stream(1));
  }
  // Capturing again resets the flag and watches what is live now.
  pool.begin_private(id, stream(1));
  CHECK(!pool.private_disturbed(id));
  CHECK_THROWS_WITH_AS(pool.begin_private(id, stream(1)), doctest::Contains("already capturing"),
                       netgrow::ArgumentError);
  const auto second = pool.create_private();
  CHECK_THROWS_WITH_AS(pool.begin_private(second, stream(1)), doctest::Contains("already being captured"),
                       netgrow::ArgumentError);
  pool.end_private(id);
  pool.deallocate(unrelated, stream(1));  // live at the second capture too
  CHECK(pool.private_disturbed(id));
  CHECK(!pool.private_disturbed(second));  // never captured: watches nothing
  pool.release_private(second);
  pool.release_private(id);
}

TEST_CASE("emulated pool: counters balance and nothing leaks through captures, releases and out-of-memory") {
  FakeDriver::mallocs = FakeDriver::frees = 0;
  {
    Pool pool;
    std::vector<void*> kept;
    const auto id = pool.create_private();
    for (int round = 0; round < 3; ++round) {
      pool.begin_private(id, stream(1));
      for (std::size_t bytes : {std::size_t{100}, std::size_t{3000}, std::size_t{70000}}) {
        void* p = pool.allocate(bytes, stream(1));
        if (round == 0 && bytes == 3000) kept.push_back(p);
        else pool.deallocate(p, stream(1));
      }
      pool.end_private(id);
    }
    FakeDriver::fail_next = 1;  // the first try fails: the shared cache is released and the retry succeeds
    void* retried = pool.allocate(123456, stream(2));
    CHECK(retried != nullptr);
    FakeDriver::fail_next = 2;
    CHECK_THROWS_AS(pool.allocate(999999, stream(2)), netgrow::CudaOutOfMemory);
    pool.deallocate(retried, stream(2));
    for (void* p : kept) pool.deallocate(p, stream(1));
    const auto s = pool.statistics();
    CHECK(s.in_use_bytes == 0);
    CHECK(s.mallocs == static_cast<std::size_t>(FakeDriver::mallocs));
    pool.release_private(id);
  }
  CHECK(FakeDriver::outstanding.empty());  // the destructor freed every cached block
  CHECK(FakeDriver::frees == FakeDriver::mallocs);
}
