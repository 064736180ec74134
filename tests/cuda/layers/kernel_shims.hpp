// Host-callable shims around the pointer-level launchers of kernels/{batch_norm,layer_norm,pool,
// depthwise,conv_layout}.cuh, for the CUDA layer tests. Each one copies its host inputs into fresh cudaMalloc'ed
// buffers, runs the launcher on a stream of its own, and copies the results back. Outputs the
// launcher should *assign* start as NaN bytes on the device, so an element it forgets shows up;
// arguments it updates in place (running statistics, accumulated gradients) are copied in first.
// Shapes and contracts are those of the ops in include/netgrow/ops/.
#pragma once

#include <cstdint>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::test::on_gpu {

// kernels/batch_norm.cuh; x (N, C) or (N, C, H, W).
template <class T>
void batch_norm_forward_train(ConstView<T> x, ConstView<T> gamma, ConstView<T> beta, double momentum, double eps,
                              TensorView<T> running_mean, TensorView<T> running_var, TensorView<double> mean,
                              TensorView<double> inv_std, TensorView<T> y);
template <class T>
void batch_norm_forward_eval(ConstView<T> x, ConstView<T> gamma, ConstView<T> beta, ConstView<T> running_mean,
                             ConstView<T> running_var, double eps, TensorView<double> mean, TensorView<double> inv_std,
                             TensorView<T> y);
// dx empty: no input gradient.
template <class T>
void batch_norm_backward(ConstView<T> x, ConstView<T> dy, ConstView<T> gamma, ConstView<double> mean,
                         ConstView<double> inv_std, bool batch_statistics, TensorView<T> dgamma, TensorView<T> dbeta,
                         bool accumulate, TensorView<T> dx);

// kernels/layer_norm.cuh; x (N, D). dx empty: no input gradient; gains empty: none (plain statistics).
template <class T>
void layer_norm_forward(ConstView<T> x, ConstView<T> gamma, ConstView<T> beta, double eps, TensorView<double> mean,
                        TensorView<double> inv_std, TensorView<T> y, ConstView<T> gains = {});
template <class T>
void layer_norm_backward(ConstView<T> x, ConstView<T> dy, ConstView<T> gamma, ConstView<double> mean,
                         ConstView<double> inv_std, TensorView<T> dgamma, TensorView<T> dbeta, bool accumulate,
                         TensorView<T> dx, ConstView<T> gains = {});

// kernels/pool.cuh; x (N, C, H, W), y (N, C, Ho, Wo).
template <class T>
void max_pool2d_forward(ConstView<T> x, const ops::ConvGeometry& g, TensorView<T> y, TensorView<std::int32_t> argmax);
template <class T>
void max_pool2d_backward(ConstView<T> dy, ConstView<std::int32_t> argmax, const ops::ConvGeometry& g,
                         TensorView<T> dx);
template <class T>
void avg_pool2d_forward(ConstView<T> x, const ops::ConvGeometry& g, TensorView<T> y);
template <class T>
void avg_pool2d_backward(ConstView<T> dy, const ops::ConvGeometry& g, TensorView<T> dx);
template <class T>
void global_avg_pool_forward(ConstView<T> x, TensorView<T> y);
template <class T>
void global_avg_pool_backward(ConstView<T> dy, TensorView<T> dx);

// kernels/depthwise.cuh; w (C, 1, k, k); bias / db empty: none.
template <class T>
void depthwise_conv2d_forward(ConstView<T> x, ConstView<T> w, ConstView<T> bias, const ops::ConvGeometry& g,
                              TensorView<T> y);
template <class T>
void depthwise_conv2d_input_grad(ConstView<T> dy, ConstView<T> w, const ops::ConvGeometry& g, TensorView<T> dx);
template <class T>
void depthwise_conv2d_weight_grad(ConstView<T> x, ConstView<T> dy, const ops::ConvGeometry& g, TensorView<T> dw,
                                  TensorView<T> db, bool accumulate);

// kernels/conv_layout.cuh; src and dst of N C M elements, bias (C) or empty.
template <class T>
void sample_major_from_channel_major(ConstView<T> src, ConstView<T> bias, Index batch, Index channels, Index spatial,
                                     TensorView<T> dst);
template <class T>
void channel_major_from_sample_major(ConstView<T> src, Index batch, Index channels, Index spatial, TensorView<T> dst);
template <class T>
void channel_sums(ConstView<T> x, Index batch, Index channels, Index spatial, bool accumulate, TensorView<T> out);

}  // namespace netgrow::test::on_gpu
