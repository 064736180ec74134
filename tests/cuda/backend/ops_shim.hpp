// Host-callable shims around the op facade's Cuda overloads (defined in ops_shim.cu, compiled by nvcc).
// Each runs the ops:: function of the same name on Cuda views; the host tests build the views with
// the host-compilable transfer functions and compare with the Cpu overloads. Exceptions (ShapeError,
// ArgumentError) pass through unchanged.
#pragma once

#include <cstdint>
#include <vector>

#include "netgrow/ops/loss.hpp"
#include "netgrow/ops/optim.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow::test::on_cuda {

// T in {float, double} for every template here (explicitly instantiated in ops_shim.cu).
template <class T>
void gemm(ops::Trans ta, ops::Trans tb, T alpha, ConstView<T, Cuda> a, ConstView<T, Cuda> b, T beta,
          TensorView<T, Cuda> c);
template <class T>
void add_row_vector(TensorView<T, Cuda> y, ConstView<T, Cuda> b);
template <class T>
void sum_rows(ConstView<T, Cuda> x, T beta, TensorView<T, Cuda> out);
template <class T>
void copy(ConstView<T, Cuda> src, TensorView<T, Cuda> dst);
template <class T>
void fill(TensorView<T, Cuda> dst, T value);
template <class T>
void scale(TensorView<T, Cuda> x, T alpha);
template <class T>
void axpy(T alpha, ConstView<T, Cuda> x, TensorView<T, Cuda> y);
template <class T>
void scale_rows_columns(ConstView<T, Cuda> row_gains, ConstView<T, Cuda> col_gains, TensorView<T, Cuda> x);
template <class T>
double squared_norm(ConstView<T, Cuda> x);
template <class T>
bool all_finite(ConstView<T, Cuda> x);

// Act in {Relu1, Relu, LeakyRelu, Tanh, Identity, Gelu, CenteredLogistic}.
template <class Act, class T>
void activation_forward(const Act& act, ConstView<T, Cuda> x, TensorView<T, Cuda> y);
template <class Act, class T>
void activation_backward(const Act& act, ConstView<T, Cuda> x, ConstView<T, Cuda> y, ConstView<T, Cuda> dy,
                         TensorView<T, Cuda> dx);

template <class T>
double mse(ConstView<T, Cuda> pred, ConstView<T, Cuda> target, TensorView<T, Cuda> grad);
template <class T>
double bce_with_logits(ConstView<T, Cuda> logits, ConstView<T, Cuda> targets, TensorView<T, Cuda> grad);
template <class T>
ops::CrossEntropyResult softmax_cross_entropy(ConstView<T, Cuda> logits, ConstView<std::int32_t, Cuda> labels,
                                              TensorView<T, Cuda> grad);
template <class T>
ops::CrossEntropyResult softmax_cross_entropy(ConstView<T, Cuda> logits, ConstView<std::int32_t, Cpu> labels,
                                              TensorView<T, Cuda> grad);

template <class T>
void sgd_update(TensorView<T, Cuda> w, ConstView<T, Cuda> g, TensorView<T, Cuda> velocity,
                ConstView<T, Cuda> lr_scale, const ops::SgdHyper& h, ConstView<T, Cuda> mask = {});
template <class T>
void adam_update(TensorView<T, Cuda> w, ConstView<T, Cuda> g, TensorView<T, Cuda> m, TensorView<T, Cuda> v,
                 ConstView<T, Cuda> lr_scale, const ops::AdamHyper& h, ConstView<T, Cuda> mask = {});

template <class T>
void concat(ConstView<T, Cuda> a, ConstView<T, Cuda> b, int axis, TensorView<T, Cuda> out);
template <class T>
void slice(ConstView<T, Cuda> src, int axis, Index begin, Index count, TensorView<T, Cuda> out);
template <class T>
void assign_slice(ConstView<T, Cuda> src, int axis, Index begin, TensorView<T, Cuda> dst);
template <class T>
void append_in_place(Tensor<T, Cuda>& t, int axis, const Shape& extra_shape, const T* extra_on_device);
template <class T>
std::vector<double> axis_norms(ConstView<T, Cuda> src, int axis);
template <class T>
void axis_to_rows(ConstView<T, Cuda> src, int axis, TensorView<T, Cuda> rows);
template <class T>
void rows_to_axis(ConstView<T, Cuda> rows, int axis, TensorView<T, Cuda> dst);

}  // namespace netgrow::test::on_cuda
