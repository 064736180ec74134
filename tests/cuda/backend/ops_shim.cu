// Device side of the op-facade tests: each shim calls the Cuda overload of the op of the same name
// (overload resolution on the Cuda views picks backend/cuda), for float and double.
#include "netgrow/backend/cuda/ops.hpp"
#include "netgrow/ops.hpp"
#include "netgrow/layers/activation_functions.hpp"
#include "ops_shim.hpp"

namespace netgrow::test::on_cuda {

template <class T>
void gemm(ops::Trans ta, ops::Trans tb, T alpha, ConstView<T, Cuda> a, ConstView<T, Cuda> b, T beta,
          TensorView<T, Cuda> c) {
  ops::gemm<T>(ta, tb, alpha, a, b, beta, c);
}
template <class T>
void add_row_vector(TensorView<T, Cuda> y, ConstView<T, Cuda> b) {
  ops::add_row_vector<T>(y, b);
}
template <class T>
void sum_rows(ConstView<T, Cuda> x, T beta, TensorView<T, Cuda> out) {
  ops::sum_rows<T>(x, beta, out);
}
template <class T>
void copy(ConstView<T, Cuda> src, TensorView<T, Cuda> dst) {
  ops::copy<T>(src, dst);
}
template <class T>
void fill(TensorView<T, Cuda> dst, T value) {
  ops::fill<T>(dst, value);
}
template <class T>
void scale(TensorView<T, Cuda> x, T alpha) {
  ops::scale<T>(x, alpha);
}
template <class T>
void axpy(T alpha, ConstView<T, Cuda> x, TensorView<T, Cuda> y) {
  ops::axpy<T>(alpha, x, y);
}
template <class T>
void scale_rows_columns(ConstView<T, Cuda> row_gains, ConstView<T, Cuda> col_gains, TensorView<T, Cuda> x) {
  ops::scale_rows_columns<T>(row_gains, col_gains, x);
}
template <class T>
double squared_norm(ConstView<T, Cuda> x) {
  return ops::squared_norm<T>(x);
}
template <class T>
bool all_finite(ConstView<T, Cuda> x) {
  return ops::all_finite<T>(x);
}

template <class Act, class T>
void activation_forward(const Act& act, ConstView<T, Cuda> x, TensorView<T, Cuda> y) {
  ops::activation_forward<Act, T>(act, x, y);
}
template <class Act, class T>
void activation_backward(const Act& act, ConstView<T, Cuda> x, ConstView<T, Cuda> y, ConstView<T, Cuda> dy,
                         TensorView<T, Cuda> dx) {
  ops::activation_backward<Act, T>(act, x, y, dy, dx);
}

template <class T>
double mse(ConstView<T, Cuda> pred, ConstView<T, Cuda> target, TensorView<T, Cuda> grad) {
  return ops::mse<T>(pred, target, grad);
}
template <class T>
double bce_with_logits(ConstView<T, Cuda> logits, ConstView<T, Cuda> targets, TensorView<T, Cuda> grad) {
  return ops::bce_with_logits<T>(logits, targets, grad);
}
template <class T>
ops::CrossEntropyResult softmax_cross_entropy(ConstView<T, Cuda> logits, ConstView<std::int32_t, Cuda> labels,
                                              TensorView<T, Cuda> grad) {
  return ops::softmax_cross_entropy<T>(logits, labels, grad);
}
template <class T>
ops::CrossEntropyResult softmax_cross_entropy(ConstView<T, Cuda> logits, ConstView<std::int32_t, Cpu> labels,
                                              TensorView<T, Cuda> grad) {
  return ops::softmax_cross_entropy<T>(logits, labels, grad);
}

template <class T>
void sgd_update(TensorView<T, Cuda> w, ConstView<T, Cuda> g, TensorView<T, Cuda> velocity,
                ConstView<T, Cuda> lr_scale, const ops::SgdHyper& h, ConstView<T, Cuda> mask) {
  ops::sgd_update<T>(w, g, velocity, lr_scale, h, mask);
}
template <class T>
void adam_update(TensorView<T, Cuda> w, ConstView<T, Cuda> g, TensorView<T, Cuda> m, TensorView<T, Cuda> v,
                 ConstView<T, Cuda> lr_scale, const ops::AdamHyper& h, ConstView<T, Cuda> mask) {
  ops::adam_update<T>(w, g, m, v, lr_scale, h, mask);
}

template <class T>
void concat(ConstView<T, Cuda> a, ConstView<T, Cuda> b, int axis, TensorView<T, Cuda> out) {
  ops::concat<T>(a, b, axis, out);
}
template <class T>
void slice(ConstView<T, Cuda> src, int axis, Index begin, Index count, TensorView<T, Cuda> out) {
  ops::slice<T>(src, axis, begin, count, out);
}
template <class T>
void assign_slice(ConstView<T, Cuda> src, int axis, Index begin, TensorView<T, Cuda> dst) {
  ops::assign_slice<T>(src, axis, begin, dst);
}
template <class T>
void append_in_place(Tensor<T, Cuda>& t, int axis, const Shape& extra_shape, const T* extra_on_device) {
  ops::append_in_place<T>(t, axis, extra_shape, extra_on_device);
}
template <class T>
std::vector<double> axis_norms(ConstView<T, Cuda> src, int axis) {
  return ops::axis_norms<T>(src, axis);
}
template <class T>
void axis_to_rows(ConstView<T, Cuda> src, int axis, TensorView<T, Cuda> rows) {
  ops::axis_to_rows<T>(src, axis, rows);
}
template <class T>
void rows_to_axis(ConstView<T, Cuda> rows, int axis, TensorView<T, Cuda> dst) {
  ops::rows_to_axis<T>(rows, axis, dst);
}

#define NETGROW_INSTANTIATE_SHIMS(T)                                                                             \
  template void gemm<T>(ops::Trans, ops::Trans, T, ConstView<T, Cuda>, ConstView<T, Cuda>, T, TensorView<T, Cuda>); \
  template void add_row_vector<T>(TensorView<T, Cuda>, ConstView<T, Cuda>);                                    \
  template void sum_rows<T>(ConstView<T, Cuda>, T, TensorView<T, Cuda>);                                       \
  template void copy<T>(ConstView<T, Cuda>, TensorView<T, Cuda>);                                              \
  template void fill<T>(TensorView<T, Cuda>, T);                                                               \
  template void scale<T>(TensorView<T, Cuda>, T);                                                              \
  template void axpy<T>(T, ConstView<T, Cuda>, TensorView<T, Cuda>);                                           \
  template void scale_rows_columns<T>(ConstView<T, Cuda>, ConstView<T, Cuda>, TensorView<T, Cuda>);             \
  template double squared_norm<T>(ConstView<T, Cuda>);                                                         \
  template bool all_finite<T>(ConstView<T, Cuda>);                                                             \
  template double mse<T>(ConstView<T, Cuda>, ConstView<T, Cuda>, TensorView<T, Cuda>);                         \
  template double bce_with_logits<T>(ConstView<T, Cuda>, ConstView<T, Cuda>, TensorView<T, Cuda>);             \
  template ops::CrossEntropyResult softmax_cross_entropy<T>(ConstView<T, Cuda>, ConstView<std::int32_t, Cuda>, \
                                                            TensorView<T, Cuda>);                              \
  template ops::CrossEntropyResult softmax_cross_entropy<T>(ConstView<T, Cuda>, ConstView<std::int32_t, Cpu>,  \
                                                            TensorView<T, Cuda>);                              \
  template void sgd_update<T>(TensorView<T, Cuda>, ConstView<T, Cuda>, TensorView<T, Cuda>, ConstView<T, Cuda>, \
                              const ops::SgdHyper&, ConstView<T, Cuda>);                                       \
  template void adam_update<T>(TensorView<T, Cuda>, ConstView<T, Cuda>, TensorView<T, Cuda>, TensorView<T, Cuda>, \
                               ConstView<T, Cuda>, const ops::AdamHyper&, ConstView<T, Cuda>);                 \
  template void concat<T>(ConstView<T, Cuda>, ConstView<T, Cuda>, int, TensorView<T, Cuda>);                   \
  template void slice<T>(ConstView<T, Cuda>, int, Index, Index, TensorView<T, Cuda>);                          \
  template void assign_slice<T>(ConstView<T, Cuda>, int, Index, TensorView<T, Cuda>);                          \
  template void append_in_place<T>(Tensor<T, Cuda>&, int, const Shape&, const T*);                             \
  template std::vector<double> axis_norms<T>(ConstView<T, Cuda>, int);                                         \
  template void axis_to_rows<T>(ConstView<T, Cuda>, int, TensorView<T, Cuda>);                                 \
  template void rows_to_axis<T>(ConstView<T, Cuda>, int, TensorView<T, Cuda>);

NETGROW_INSTANTIATE_SHIMS(float)
NETGROW_INSTANTIATE_SHIMS(double)

#define NETGROW_INSTANTIATE_ACTIVATION(Act, T)                                                                   \
  template void activation_forward<Act, T>(const Act&, ConstView<T, Cuda>, TensorView<T, Cuda>);             \
  template void activation_backward<Act, T>(const Act&, ConstView<T, Cuda>, ConstView<T, Cuda>,              \
                                            ConstView<T, Cuda>, TensorView<T, Cuda>);

#define NETGROW_INSTANTIATE_ACTIVATIONS(T)              \
  NETGROW_INSTANTIATE_ACTIVATION(Relu1, T)              \
  NETGROW_INSTANTIATE_ACTIVATION(Relu, T)               \
  NETGROW_INSTANTIATE_ACTIVATION(LeakyRelu, T)          \
  NETGROW_INSTANTIATE_ACTIVATION(Tanh, T)               \
  NETGROW_INSTANTIATE_ACTIVATION(Identity, T)           \
  NETGROW_INSTANTIATE_ACTIVATION(Gelu, T)               \
  NETGROW_INSTANTIATE_ACTIVATION(CenteredLogistic, T)

NETGROW_INSTANTIATE_ACTIVATIONS(float)
NETGROW_INSTANTIATE_ACTIVATIONS(double)

}  // namespace netgrow::test::on_cuda
