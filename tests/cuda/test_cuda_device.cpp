// CUDA toolchain and error-handling checks (run only where a GPU is present).
#include <doctest/doctest.h>

#include <vector>

#include "activation_shim.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/layers/activation_functions.hpp"

TEST_CASE("the Relu1 functor gives the same values and slopes on the GPU as on the CPU") {
  const int n = 1031;  // odd, not a multiple of the block size
  std::vector<float> x(n), dy(n), y(n), dx(n);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i - n / 2) * 0.01f;  // includes exactly 0
    dy[i] = 1.0f + static_cast<float>(i % 7);
  }
  netgrow::test::relu1_on_device(x.data(), dy.data(), y.data(), dx.data(), n);
  const netgrow::Relu1 act;
  for (int i = 0; i < n; ++i) {
    CHECK(y[i] == act.f(x[i]));
    CHECK(dx[i] == dy[i] * act.df(x[i], act.f(x[i])));
  }
}

TEST_CASE("a failing CUDA call throws CudaError naming the call") {
  void* p = nullptr;
  try {
    NETGROW_CUDA_CHECK(cudaMalloc(&p, ~std::size_t{0} >> 1));
    FAIL("cudaMalloc of an absurd size did not fail");
  } catch (const netgrow::CudaOutOfMemory& e) {
    CHECK(std::string(e.what()).find("cudaMalloc") != std::string::npos);
  }
}
