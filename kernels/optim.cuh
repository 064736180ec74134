// kernels/optim.cuh: optimizer updates, element-wise in the parameter's precision: SGD (momentum,
// Nesterov, weight decay) and Adam / AdamW, each with optional per-element learning-rate factors and an
// optional sparsity mask (0: the weight and its state are set to 0 and stay there).
//
// Versions:
//   sgd_update_v1_grid_stride    one element per thread per iteration of a grid-stride loop; the learning
//                                rate a constant or read from device memory (staged)
//   adam_update_v1_grid_stride   likewise; bias corrections folded into two constants on the host, or
//                                read with the learning rate from device memory (staged)
//
// CPU reference: include/netgrow/backend/cpu/optim.hpp (the formulas are stated in optim/sgd.hpp and
// optim/adam.hpp); the kernels compute the same expressions in the same order.
#pragma once

#include <cuda_runtime.h>

#include "netgrow/core/config.hpp"
#include "netgrow/kernels/launch.cuh"

namespace netgrow::kernels {

// SGD constants in the parameter's precision; with `staged` (device memory, the base lr in double) lr is
// read from there when the kernel runs instead (staged[0] * lr_factor).
template <class T>
struct SgdConstants {
  T lr;
  T momentum;
  T weight_decay;
  bool nesterov;
  const double* staged = nullptr;
  double lr_factor = 1.0;
};

// Adam constants in the parameter's precision: c1 = 1 / (1 - beta1^t), c2 = 1 / sqrt(1 - beta2^t).
// With `staged` (device memory, {base lr, c1, c2} in double) lr, c1 and c2 are read from there when the
// kernel runs instead (lr = staged[0] * lr_factor), so a recorded CUDA graph uses each replay's values.
template <class T>
struct AdamConstants {
  T lr;
  T beta1;
  T beta2;
  T eps;
  T weight_decay;
  T c1;
  T c2;
  bool decoupled;
  const double* staged = nullptr;
  double lr_factor = 1.0;
};

namespace optim_detail {

template <class T>
__global__ void sgd_update_v1_grid_stride(Index n, T* w, const T* g, T* velocity, const T* lr_scale, const T* mask,
                                          SgdConstants<T> h) {
  if (h.staged) h.lr = T(h.staged[0] * h.lr_factor);
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x) {
    if (mask && mask[i] == T(0)) {
      w[i] = T(0);
      if (velocity) velocity[i] = T(0);
      continue;
    }
    T d = g[i] + h.weight_decay * w[i];
    if (velocity) {
      const T v = h.momentum * velocity[i] + d;
      velocity[i] = v;
      d = h.nesterov ? d + h.momentum * v : v;
    }
    w[i] -= (lr_scale ? h.lr * lr_scale[i] : h.lr) * d;
  }
}

template <class T>
__global__ void adam_update_v1_grid_stride(Index n, T* w, const T* g, T* m, T* v, const T* lr_scale, const T* mask,
                                           AdamConstants<T> h) {
  if (h.staged) {
    h.lr = T(h.staged[0] * h.lr_factor);
    h.c1 = T(h.staged[1]);
    h.c2 = T(h.staged[2]);
  }
  for (Index i = blockIdx.x * Index{blockDim.x} + threadIdx.x; i < n; i += Index{gridDim.x} * blockDim.x) {
    if (mask && mask[i] == T(0)) {
      w[i] = m[i] = v[i] = T(0);
      continue;
    }
    const T rate = lr_scale ? h.lr * lr_scale[i] : h.lr;
    T gi = g[i];
    if (h.decoupled) w[i] -= rate * h.weight_decay * w[i];
    else gi += h.weight_decay * w[i];
    const T mi = h.beta1 * m[i] + (T(1) - h.beta1) * gi;
    const T vi = h.beta2 * v[i] + (T(1) - h.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= rate * (mi * h.c1) / (sqrt(vi) * h.c2 + h.eps);
  }
}

}  // namespace optim_detail

// w (n) -= lr * lr_scale * d with d from g and weight decay, through velocity (n) when not null.
// lr_scale may be null (all ones), mask null (dense).
template <class T>
void sgd_update(Index n, T* w, const T* g, T* velocity, const T* lr_scale, const T* mask, const SgdConstants<T>& h,
                cudaStream_t stream) {
  if (n <= 0) return;
  optim_detail::sgd_update_v1_grid_stride<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(n, w, g, velocity, lr_scale, mask, h);
  NETGROW_CHECK_LAUNCH("sgd_update_v1_grid_stride");
}

// One Adam / AdamW step of w (n) with moments m, v (n); lr_scale may be null (all ones), mask null (dense).
template <class T>
void adam_update(Index n, T* w, const T* g, T* m, T* v, const T* lr_scale, const T* mask, const AdamConstants<T>& h,
                 cudaStream_t stream) {
  if (n <= 0) return;
  optim_detail::adam_update_v1_grid_stride<T>
      <<<detail::grid_blocks(n), detail::threads_per_block, 0, stream>>>(n, w, g, m, v, lr_scale, mask, h);
  NETGROW_CHECK_LAUNCH("adam_update_v1_grid_stride");
}

}  // namespace netgrow::kernels
