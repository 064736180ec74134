// Device side of the activation check: the same functor that the CPU layers use runs in a kernel.
#include <cuda_runtime.h>

#include "activation_shim.hpp"
#include "netgrow/cuda.hpp"

namespace {

template <class Act>
__global__ void activation_kernel(Act act, const float* x, const float* dy, float* y, float* dx, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    y[i] = act.f(x[i]);
    dx[i] = dy[i] * act.df(x[i], y[i]);
  }
}

}  // namespace

namespace netgrow::test {

void relu1_on_device(const float* x, const float* dy, float* y, float* dx, int n) {
  const size_t bytes = sizeof(float) * static_cast<size_t>(n);
  float *dev_x = nullptr, *dev_dy = nullptr, *dev_y = nullptr, *dev_dx = nullptr;
  NETGROW_CUDA_CHECK(cudaMalloc(&dev_x, bytes));
  NETGROW_CUDA_CHECK(cudaMalloc(&dev_dy, bytes));
  NETGROW_CUDA_CHECK(cudaMalloc(&dev_y, bytes));
  NETGROW_CUDA_CHECK(cudaMalloc(&dev_dx, bytes));
  NETGROW_CUDA_CHECK(cudaMemcpy(dev_x, x, bytes, cudaMemcpyHostToDevice));
  NETGROW_CUDA_CHECK(cudaMemcpy(dev_dy, dy, bytes, cudaMemcpyHostToDevice));
  activation_kernel<<<(n + 255) / 256, 256>>>(Relu1{}, dev_x, dev_dy, dev_y, dev_dx, n);
  NETGROW_CUDA_CHECK(cudaGetLastError());
  NETGROW_CUDA_CHECK(cudaMemcpy(y, dev_y, bytes, cudaMemcpyDeviceToHost));
  NETGROW_CUDA_CHECK(cudaMemcpy(dx, dev_dx, bytes, cudaMemcpyDeviceToHost));
  NETGROW_CUDA_CHECK(cudaFree(dev_x));
  NETGROW_CUDA_CHECK(cudaFree(dev_dy));
  NETGROW_CUDA_CHECK(cudaFree(dev_y));
  NETGROW_CUDA_CHECK(cudaFree(dev_dx));
}

}  // namespace netgrow::test
