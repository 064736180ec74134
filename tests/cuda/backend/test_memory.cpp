// Tests backend/cuda/{device_pool,context,memory,transfer}.hpp and the device-generic members of
// Tensor<T, Cuda> (core/tensor.hpp): pooled reuse, out-of-memory handling, contexts per thread,
// zero-filled construction, clone/copy_from/reserve/shrink_to_fit, and host <-> device round trips.
// All host code: these headers compile with the host compiler.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <thread>

#include "compare.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/device_pool.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/backend/cuda/transfer.hpp"

using namespace netgrow;
using test::check_close;
using test::uniform_tensor;

TEST_CASE("size classes cover the request, waste at most a quarter (or 512 bytes), and grow monotonically") {
  using cuda::DevicePool;
  std::size_t previous = 0;
  for (std::size_t bytes : {std::size_t{1}, std::size_t{511}, std::size_t{512}, std::size_t{513}, std::size_t{1000},
                            std::size_t{4096}, std::size_t{4097}, std::size_t{123457}, std::size_t{1} << 30}) {
    const std::size_t cls = DevicePool::size_class(bytes);
    INFO("bytes ", bytes, " class ", cls);
    CHECK(cls >= bytes);
    CHECK(cls >= DevicePool::min_class_bytes);
    CHECK(static_cast<double>(cls) <= std::max(1.25 * static_cast<double>(bytes), static_cast<double>(bytes) + 512.0));
    CHECK(cls >= previous);
    CHECK(DevicePool::size_class(cls) == cls);  // a class is its own class
    previous = cls;
  }
  CHECK(DevicePool::size_class(900) == DevicePool::size_class(1000));
}

TEST_CASE("a freed block comes back for the next request of its size class on the same stream") {
  auto& pool = cuda::device_pool();
  cudaStream_t stream = cuda::context().stream();
  void* p = pool.allocate(1000, stream);
  REQUIRE(p != nullptr);
  CHECK(pool.block_bytes(p) == cuda::DevicePool::size_class(1000));
  const auto before = pool.statistics();
  pool.deallocate(p, stream);
  void* q = pool.allocate(900, stream);  // same class (1024 bytes)
  CHECK(q == p);
  CHECK(pool.statistics().reuses == before.reuses + 1);
  CHECK(pool.statistics().mallocs == before.mallocs);
  pool.deallocate(q, stream);

  // The same through tensors: 250 floats and 256 floats share a class.
  const float* first = nullptr;
  {
    Tensor<float, Cuda> t(Shape{250});
    first = t.data();
  }
  Tensor<float, Cuda> u(Shape{16, 16});
  CHECK(u.data() == first);
}

TEST_CASE("trim releases every cached block and the pool keeps working") {
  auto& pool = cuda::device_pool();
  cudaStream_t stream = cuda::context().stream();
  void* p = pool.allocate(3 << 20, stream);
  pool.deallocate(p, stream);
  CHECK(pool.statistics().cached_bytes > 0);
  pool.trim();
  CHECK(pool.statistics().cached_bytes == 0);
  void* q = pool.allocate(3 << 20, stream);
  CHECK(q != nullptr);
  pool.deallocate(q, stream);
}

TEST_CASE("an impossible allocation throws CudaOutOfMemory after releasing the cache, and nothing leaks") {
  auto& pool = cuda::device_pool();
  cudaStream_t stream = cuda::context().stream();
  const std::size_t in_use = pool.statistics().in_use_bytes;
  void* cached = pool.allocate(1 << 20, stream);
  pool.deallocate(cached, stream);
  try {
    (void)pool.allocate(std::size_t{1} << 52, stream);  // 4 PiB
    FAIL("a 4 PiB allocation succeeded");
  } catch (const CudaOutOfMemory& e) {
    const std::string what = e.what();
    CHECK(what.find("cudaMalloc") != std::string::npos);
    CHECK(what.find("retried") != std::string::npos);
  }
  CHECK(pool.statistics().cached_bytes == 0);  // the retry released the cache
  CHECK(pool.statistics().in_use_bytes == in_use);
  using DeviceTensor = Tensor<float, Cuda>;
  CHECK_THROWS_AS(DeviceTensor(Shape{Index{1} << 50}), CudaOutOfMemory);
  // Still usable afterwards, and the runtime's error state is clean.
  Tensor<float, Cuda> t(Shape{7});
  CHECK(cudaGetLastError() == cudaSuccess);
}

TEST_CASE("each thread has its own context; the GEMM path is a setting of the context") {
  cuda::Context& a = cuda::context();
  CHECK(&cuda::context() == &a);
  CHECK(a.stream() != nullptr);
  CHECK(a.gemm_path() == cuda::GemmPath::library);
  a.set_gemm_path(cuda::GemmPath::native);
  CHECK(cuda::context().gemm_path() == cuda::GemmPath::native);
  a.set_gemm_path(cuda::GemmPath::library);

  cudaStream_t other = nullptr;
  std::thread([&] { other = cuda::context().stream(); }).join();
  CHECK(other != nullptr);
  CHECK(other != a.stream());

  void* w1 = a.workspace(100);
  CHECK(w1 != nullptr);
  CHECK(a.workspace(50) == w1);  // fits: the same memory
  CHECK(a.workspace(1 << 20) != nullptr);
  CHECK(a.workspace_bytes() >= (1u << 20));
  CHECK(a.blas() != nullptr);
  CHECK(a.blas() == a.blas());
  CHECK(a.solver() != nullptr);

  cuda::Context second;
  {
    cuda::ScopedContext scope(second);
    CHECK(&cuda::context() == &second);
    Tensor<float, Cuda> t(Shape{5});  // queued on the second context's stream
    CHECK(test::on_host(t).at(4) == 0.0f);
  }
  CHECK(&cuda::context() == &a);
}

TEST_CASE("Tensor<T, Cuda>: zero-filled construction, clone, copy_from, reserve, shrink_to_fit, fill_zero") {
  Rng rng(3);
  for (Index n : {Index{1}, Index{7}, Index{33}, Index{1031}}) {
    INFO("n = ", n);
    Tensor<float, Cuda> zeros(Shape{n, 3});
    const auto z = test::on_host(zeros);
    for (Index i = 0; i < z.numel(); ++i) CHECK(z[i] == 0.0f);

    const Tensor<float, Cpu> h = uniform_tensor<float>(Shape{n, 3}, rng);
    Tensor<float, Cuda> d = test::on_device(h);
    const Tensor<float, Cuda> c = d.clone();
    CHECK(c.data() != d.data());
    check_close(test::on_host(c), h, 0, 0, "clone");

    Tensor<float, Cuda> e;
    e.copy_from(c.cview());
    CHECK(e.shape() == h.shape());
    check_close(test::on_host(e), h, 0, 0, "copy_from");

    // copy_from an overlapping range of the same tensor (rows 1..n of itself): memmove semantics.
    if (n > 1) {
      Tensor<float, Cuda> self = test::on_device(h);
      self.copy_from(self.cview().rows(1, n - 1));
      const auto got = test::on_host(self);
      REQUIRE(got.shape() == Shape{n - 1, 3});
      for (Index i = 0; i < got.numel(); ++i) CHECK(got[i] == h[i + 3]);
    }

    d.reserve(10 * n * 3);
    CHECK(d.capacity() >= 10 * n * 3);
    check_close(test::on_host(d), h, 0, 0, "reserve keeps the elements");
    d.shrink_to_fit();
    CHECK(d.capacity() == d.numel());
    check_close(test::on_host(d), h, 0, 0, "shrink_to_fit keeps the elements");

    const float* before = d.data();
    d.resize(Shape{n, 2});
    CHECK(d.data() == before);  // fits: the allocation is reused
    d.fill_zero();
    const auto zz = test::on_host(d);
    for (Index i = 0; i < zz.numel(); ++i) CHECK(zz[i] == 0.0f);
  }
}

TEST_CASE("transfers round-trip float, double and int32 tensors of odd shapes exactly") {
  Rng rng(4);
  for (const Shape& s : {Shape{1}, Shape{7}, Shape{33, 1}, Shape{3, 5, 7}, Shape{2, 3, 5, 7}, Shape{1031, 3}}) {
    INFO("shape ", s);
    const auto f = uniform_tensor<float>(s, rng, -5, 5);
    check_close(to<Cpu>(to<Cuda>(f)), f, 0, 0, "float");
    const auto d = uniform_tensor<double>(s, rng, -5, 5);
    check_close(to<Cpu>(to<Cuda>(d)), d, 0, 0, "double");
    Tensor<std::int32_t, Cpu> labels(s);
    for (Index i = 0; i < labels.numel(); ++i) labels[i] = static_cast<std::int32_t>(i * 7919 % 1000 - 500);
    const auto back = to<Cpu>(to<Cuda>(labels));
    for (Index i = 0; i < labels.numel(); ++i) CHECK(back[i] == labels[i]);

    // Device to device and into existing tensors.
    const Tensor<float, Cuda> df = to<Cuda>(f);
    const Tensor<float, Cuda> df2 = to<Cuda>(df);
    CHECK(df2.data() != df.data());
    Tensor<float, Cpu> into(s);
    copy(df2.cview(), into.view());
    check_close(into, f, 0, 0, "copy device -> host");
    Tensor<float, Cuda> dinto(s);
    copy(f.cview(), dinto.view());
    check_close(to<Cpu>(dinto), f, 0, 0, "copy host -> device");
  }
  const Tensor<float, Cpu> empty;
  CHECK(to<Cuda>(empty).numel() == 0);
}

TEST_CASE("cross-device copies check shapes") {
  Tensor<float, Cpu> h(Shape{3, 4});
  Tensor<float, Cuda> d(Shape{4, 3});
  CHECK_THROWS_AS(copy(h.cview(), d.view()), ShapeError);
  CHECK_THROWS_AS(copy(d.cview(), h.view()), ShapeError);
  try {
    copy(h.cview(), d.view());
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).find("cpu -> cuda") != std::string::npos);
  }
}
