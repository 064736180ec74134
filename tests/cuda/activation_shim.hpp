// Host-callable shims around device code used by the CUDA tests.
#pragma once

namespace netgrow::test {

// y[i] = Relu1.f(x[i]) and dx[i] = dy[i] * Relu1.df(x[i], y[i]) computed on the GPU for host arrays.
void relu1_on_device(const float* x, const float* dy, float* y, float* dx, int n);

}  // namespace netgrow::test
