// Device side of kernel_shims.hpp: raw cudaMalloc'ed copies of the host tensors, one launcher call each.
#include "kernel_shims.hpp"

#include <cuda_runtime.h>

#include <netgrow/kernels/batch_norm.cuh>
#include <netgrow/kernels/conv_layout.cuh>
#include <netgrow/kernels/depthwise.cuh>
#include <netgrow/kernels/layer_norm.cuh>
#include <netgrow/kernels/pool.cuh>

#include "netgrow/core/cuda_check.hpp"

namespace netgrow::test::on_gpu {

namespace {

// A device copy of a host tensor's elements (or NaN bytes when `poison`), freed on destruction.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(ConstView<T> host) : n_(host.numel()) {
    allocate();
    if (n_ > 0) NETGROW_CUDA_CHECK(cudaMemcpy(data_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  // n elements of 0xFF bytes: NaN for float and double, -1 for integers.
  static DeviceArray poisoned(Index n) {
    DeviceArray a(n);
    if (n > 0) NETGROW_CUDA_CHECK(cudaMemset(a.data_, 0xFF, a.bytes()));
    return a;
  }
  DeviceArray(DeviceArray&& o) noexcept : data_(o.data_), n_(o.n_) { o.data_ = nullptr; }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (data_) (void)cudaFree(data_);
  }

  T* get() const { return data_; }
  // nullptr for an empty array (optional arguments such as a missing bias).
  T* get_or_null() const { return n_ > 0 ? data_ : nullptr; }

  void copy_to(TensorView<T> host) const {
    require<ShapeError>(host.numel() == n_, "DeviceArray::copy_to: ", n_, " elements into ", host.shape());
    NETGROW_CUDA_CHECK(cudaDeviceSynchronize());
    if (n_ > 0) NETGROW_CUDA_CHECK(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost));
  }

 private:
  explicit DeviceArray(Index n) : n_(n) { allocate(); }
  void allocate() {
    if (n_ > 0) NETGROW_CUDA_CHECK(cudaMalloc(&data_, bytes()));
  }
  std::size_t bytes() const { return static_cast<std::size_t>(n_) * sizeof(T); }

  T* data_ = nullptr;
  Index n_ = 0;
};

template <class T>
DeviceArray<T> upload(ConstView<T> host) {
  return DeviceArray<T>(host);
}
template <class T>
DeviceArray<T> poisoned_like(TensorView<T> host) {
  return DeviceArray<T>::poisoned(host.numel());
}

// A stream for the duration of one shim call, so the launchers run on a non-default stream.
class Stream {
 public:
  Stream() { NETGROW_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() {
    (void)cudaStreamSynchronize(s_);
    (void)cudaStreamDestroy(s_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  operator cudaStream_t() const { return s_; }
  void sync() const { NETGROW_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_ = nullptr;
};

kernels::BatchNormExtent extent_of(const Shape& x) {
  return {x[0], x[1], x.rank() == 4 ? x[2] * x[3] : Index{1}};
}

}  // namespace

template <class T>
void batch_norm_forward_train(ConstView<T> x, ConstView<T> gamma, ConstView<T> beta, double momentum, double eps,
                              TensorView<T> running_mean, TensorView<T> running_var, TensorView<double> mean,
                              TensorView<double> inv_std, TensorView<T> y) {
  const auto e = extent_of(x.shape());
  auto dx = upload(x), dgamma = upload(gamma), dbeta = upload(beta);
  auto drm = upload<T>(running_mean), drv = upload<T>(running_var);
  auto dmean = poisoned_like(mean), dinv = poisoned_like(inv_std);
  auto dy = poisoned_like(y);
  auto work = DeviceArray<double>::poisoned(kernels::batch_norm_workspace(e));
  Stream s;
  kernels::batch_norm_forward_train(dx.get(), e, dgamma.get(), dbeta.get(), momentum, eps, drm.get(), drv.get(),
                                    dmean.get(), dinv.get(), dy.get(), work.get(), s);
  s.sync();
  drm.copy_to(running_mean);
  drv.copy_to(running_var);
  dmean.copy_to(mean);
  dinv.copy_to(inv_std);
  dy.copy_to(y);
}

template <class T>
void batch_norm_forward_eval(ConstView<T> x, ConstView<T> gamma, ConstView<T> beta, ConstView<T> running_mean,
                             ConstView<T> running_var, double eps, TensorView<double> mean, TensorView<double> inv_std,
                             TensorView<T> y) {
  const auto e = extent_of(x.shape());
  auto dx = upload(x), dgamma = upload(gamma), dbeta = upload(beta), drm = upload(running_mean),
       drv = upload(running_var);
  auto dmean = poisoned_like(mean), dinv = poisoned_like(inv_std);
  auto dy = poisoned_like(y);
  auto work = DeviceArray<double>::poisoned(kernels::batch_norm_workspace(e));
  Stream s;
  kernels::batch_norm_forward_eval(dx.get(), e, dgamma.get(), dbeta.get(), drm.get(), drv.get(), eps, dmean.get(),
                                   dinv.get(), dy.get(), work.get(), s);
  s.sync();
  dmean.copy_to(mean);
  dinv.copy_to(inv_std);
  dy.copy_to(y);
}

template <class T>
void batch_norm_backward(ConstView<T> x, ConstView<T> dy, ConstView<T> gamma, ConstView<double> mean,
                         ConstView<double> inv_std, bool batch_statistics, TensorView<T> dgamma, TensorView<T> dbeta,
                         bool accumulate, TensorView<T> dx) {
  const auto e = extent_of(x.shape());
  auto d_x = upload(x), d_dy = upload(dy), d_gamma = upload(gamma);
  auto d_mean = upload(mean), d_inv = upload(inv_std);
  auto d_dgamma = accumulate ? upload<T>(dgamma) : poisoned_like(dgamma);
  auto d_dbeta = accumulate ? upload<T>(dbeta) : poisoned_like(dbeta);
  auto d_dx = poisoned_like(dx);
  auto work = DeviceArray<double>::poisoned(kernels::batch_norm_workspace(e));
  Stream s;
  kernels::batch_norm_backward(d_x.get(), d_dy.get(), e, d_gamma.get(), d_mean.get(), d_inv.get(), batch_statistics,
                               d_dgamma.get(), d_dbeta.get(), accumulate, d_dx.get_or_null(), work.get(), s);
  s.sync();
  d_dgamma.copy_to(dgamma);
  d_dbeta.copy_to(dbeta);
  d_dx.copy_to(dx);
}

template <class T>
void max_pool2d_forward(ConstView<T> x, const ops::ConvGeometry& g, TensorView<T> y, TensorView<std::int32_t> argmax) {
  auto dx = upload(x);
  auto dy = poisoned_like(y);
  auto darg = poisoned_like(argmax);
  Stream s;
  kernels::max_pool2d_forward(dx.get(), x.dim(0) * x.dim(1), g, dy.get(), darg.get(), s);
  s.sync();
  dy.copy_to(y);
  darg.copy_to(argmax);
}

template <class T>
void max_pool2d_backward(ConstView<T> dy, ConstView<std::int32_t> argmax, const ops::ConvGeometry& g,
                         TensorView<T> dx) {
  auto d_dy = upload(dy);
  auto d_arg = upload(argmax);
  auto d_dx = poisoned_like(dx);
  Stream s;
  kernels::max_pool2d_backward(d_dy.get(), d_arg.get(), dx.dim(0) * dx.dim(1), g, d_dx.get(), s);
  s.sync();
  d_dx.copy_to(dx);
}

template <class T>
void avg_pool2d_forward(ConstView<T> x, const ops::ConvGeometry& g, TensorView<T> y) {
  auto dx = upload(x);
  auto dy = poisoned_like(y);
  Stream s;
  kernels::avg_pool2d_forward(dx.get(), x.dim(0) * x.dim(1), g, dy.get(), s);
  s.sync();
  dy.copy_to(y);
}

template <class T>
void avg_pool2d_backward(ConstView<T> dy, const ops::ConvGeometry& g, TensorView<T> dx) {
  auto d_dy = upload(dy);
  auto d_dx = poisoned_like(dx);
  Stream s;
  kernels::avg_pool2d_backward(d_dy.get(), dx.dim(0) * dx.dim(1), g, d_dx.get(), s);
  s.sync();
  d_dx.copy_to(dx);
}

template <class T>
void global_avg_pool_forward(ConstView<T> x, TensorView<T> y) {
  auto dx = upload(x);
  auto dy = poisoned_like(y);
  Stream s;
  kernels::global_avg_pool_forward(dx.get(), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3), dy.get(), s);
  s.sync();
  dy.copy_to(y);
}

template <class T>
void global_avg_pool_backward(ConstView<T> dy, TensorView<T> dx) {
  auto d_dy = upload(dy);
  auto d_dx = poisoned_like(dx);
  Stream s;
  kernels::global_avg_pool_backward(d_dy.get(), dx.dim(0) * dx.dim(1), dx.dim(2) * dx.dim(3), d_dx.get(), s);
  s.sync();
  d_dx.copy_to(dx);
}

template <class T>
void depthwise_conv2d_forward(ConstView<T> x, ConstView<T> w, ConstView<T> bias, const ops::ConvGeometry& g,
                              TensorView<T> y) {
  auto dx = upload(x), dw = upload(w), db = upload(bias);
  auto dy = poisoned_like(y);
  Stream s;
  kernels::depthwise_conv2d_forward(dx.get(), x.dim(0), x.dim(1), g, dw.get(), db.get_or_null(), dy.get(), s);
  s.sync();
  dy.copy_to(y);
}

template <class T>
void depthwise_conv2d_input_grad(ConstView<T> dy, ConstView<T> w, const ops::ConvGeometry& g, TensorView<T> dx) {
  auto d_dy = upload(dy), d_w = upload(w);
  auto d_dx = poisoned_like(dx);
  Stream s;
  kernels::depthwise_conv2d_input_grad(d_dy.get(), dx.dim(0), dx.dim(1), g, d_w.get(), d_dx.get(), s);
  s.sync();
  d_dx.copy_to(dx);
}

template <class T>
void depthwise_conv2d_weight_grad(ConstView<T> x, ConstView<T> dy, const ops::ConvGeometry& g, TensorView<T> dw,
                                  TensorView<T> db, bool accumulate) {
  auto d_x = upload(x), d_dy = upload(dy);
  auto d_dw = accumulate ? upload<T>(dw) : poisoned_like(dw);
  auto d_db = accumulate ? upload<T>(db) : poisoned_like(db);
  Stream s;
  kernels::depthwise_conv2d_weight_grad(d_x.get(), d_dy.get(), x.dim(0), x.dim(1), g, d_dw.get(), d_db.get_or_null(),
                                        accumulate, s);
  s.sync();
  d_dw.copy_to(dw);
  d_db.copy_to(db);
}

template <class T>
void sample_major_from_channel_major(ConstView<T> src, ConstView<T> bias, Index batch, Index channels, Index spatial,
                                     TensorView<T> dst) {
  auto d_src = upload(src), d_bias = upload(bias);
  auto d_dst = poisoned_like(dst);
  Stream s;
  kernels::sample_major_from_channel_major(d_src.get(), d_bias.get_or_null(), batch, channels, spatial, d_dst.get(), s);
  s.sync();
  d_dst.copy_to(dst);
}

template <class T>
void channel_major_from_sample_major(ConstView<T> src, Index batch, Index channels, Index spatial, TensorView<T> dst) {
  auto d_src = upload(src);
  auto d_dst = poisoned_like(dst);
  Stream s;
  kernels::channel_major_from_sample_major(d_src.get(), batch, channels, spatial, d_dst.get(), s);
  s.sync();
  d_dst.copy_to(dst);
}

template <class T>
void channel_sums(ConstView<T> x, Index batch, Index channels, Index spatial, bool accumulate, TensorView<T> out) {
  auto d_x = upload(x);
  auto d_out = accumulate ? upload<T>(out) : poisoned_like(out);
  Stream s;
  kernels::channel_sums(d_x.get(), batch, channels, spatial, accumulate, d_out.get(), s);
  s.sync();
  d_out.copy_to(out);
}

template <class T>
void layer_norm_forward(ConstView<T> x, ConstView<T> gamma, ConstView<T> beta, double eps, TensorView<double> mean,
                        TensorView<double> inv_std, TensorView<T> y, ConstView<T> gains) {
  const kernels::LayerNormExtent e{x.dim(0), x.dim(1)};
  auto d_x = upload(x), d_gamma = upload(gamma), d_beta = upload(beta), d_gains = upload(gains);
  auto d_mean = poisoned_like(mean), d_inv = poisoned_like(inv_std);
  auto d_y = poisoned_like(y);
  Stream s;
  kernels::layer_norm_forward(d_x.get(), e, d_gamma.get(), d_beta.get(), eps, d_mean.get(), d_inv.get(), d_y.get(), s,
                              d_gains.get_or_null());
  s.sync();
  d_mean.copy_to(mean);
  d_inv.copy_to(inv_std);
  d_y.copy_to(y);
}

template <class T>
void layer_norm_backward(ConstView<T> x, ConstView<T> dy, ConstView<T> gamma, ConstView<double> mean,
                         ConstView<double> inv_std, TensorView<T> dgamma, TensorView<T> dbeta, bool accumulate,
                         TensorView<T> dx, ConstView<T> gains) {
  const kernels::LayerNormExtent e{x.dim(0), x.dim(1)};
  auto d_x = upload(x), d_dy = upload(dy), d_gamma = upload(gamma), d_gains = upload(gains);
  auto d_mean = upload(mean), d_inv = upload(inv_std);
  auto d_dgamma = accumulate ? upload<T>(dgamma) : poisoned_like(dgamma);
  auto d_dbeta = accumulate ? upload<T>(dbeta) : poisoned_like(dbeta);
  auto d_dx = poisoned_like(dx);
  auto work = DeviceArray<double>::poisoned(kernels::layer_norm_workspace(e));
  Stream s;
  kernels::layer_norm_backward(d_x.get(), d_dy.get(), e, d_gamma.get(), d_mean.get(), d_inv.get(), d_dgamma.get(),
                               d_dbeta.get(), accumulate, d_dx.get_or_null(), work.get(), s, d_gains.get_or_null());
  s.sync();
  d_dgamma.copy_to(dgamma);
  d_dbeta.copy_to(dbeta);
  d_dx.copy_to(dx);
}

#define NETGROW_INSTANTIATE_KERNEL_SHIMS(T)                                                                          \
  template void batch_norm_forward_train<T>(ConstView<T>, ConstView<T>, ConstView<T>, double, double, TensorView<T>, \
                                            TensorView<T>, TensorView<double>, TensorView<double>, TensorView<T>);   \
  template void batch_norm_forward_eval<T>(ConstView<T>, ConstView<T>, ConstView<T>, ConstView<T>, ConstView<T>,     \
                                           double, TensorView<double>, TensorView<double>, TensorView<T>);           \
  template void batch_norm_backward<T>(ConstView<T>, ConstView<T>, ConstView<T>, ConstView<double>,                  \
                                       ConstView<double>, bool, TensorView<T>, TensorView<T>, bool, TensorView<T>);  \
  template void layer_norm_forward<T>(ConstView<T>, ConstView<T>, ConstView<T>, double, TensorView<double>,          \
                                      TensorView<double>, TensorView<T>, ConstView<T>);                              \
  template void layer_norm_backward<T>(ConstView<T>, ConstView<T>, ConstView<T>, ConstView<double>,                  \
                                       ConstView<double>, TensorView<T>, TensorView<T>, bool, TensorView<T>,         \
                                       ConstView<T>);                                                                \
  template void max_pool2d_forward<T>(ConstView<T>, const ops::ConvGeometry&, TensorView<T>,                         \
                                      TensorView<std::int32_t>);                                                     \
  template void max_pool2d_backward<T>(ConstView<T>, ConstView<std::int32_t>, const ops::ConvGeometry&,              \
                                       TensorView<T>);                                                               \
  template void avg_pool2d_forward<T>(ConstView<T>, const ops::ConvGeometry&, TensorView<T>);                        \
  template void avg_pool2d_backward<T>(ConstView<T>, const ops::ConvGeometry&, TensorView<T>);                       \
  template void global_avg_pool_forward<T>(ConstView<T>, TensorView<T>);                                             \
  template void global_avg_pool_backward<T>(ConstView<T>, TensorView<T>);                                            \
  template void depthwise_conv2d_forward<T>(ConstView<T>, ConstView<T>, ConstView<T>, const ops::ConvGeometry&,      \
                                            TensorView<T>);                                                          \
  template void depthwise_conv2d_input_grad<T>(ConstView<T>, ConstView<T>, const ops::ConvGeometry&, TensorView<T>); \
  template void depthwise_conv2d_weight_grad<T>(ConstView<T>, ConstView<T>, const ops::ConvGeometry&, TensorView<T>, \
                                                TensorView<T>, bool);                                                \
  template void sample_major_from_channel_major<T>(ConstView<T>, ConstView<T>, Index, Index, Index, TensorView<T>);  \
  template void channel_major_from_sample_major<T>(ConstView<T>, Index, Index, Index, TensorView<T>);                \
  template void channel_sums<T>(ConstView<T>, Index, Index, Index, bool, TensorView<T>);

NETGROW_INSTANTIATE_KERNEL_SHIMS(float)
NETGROW_INSTANTIATE_KERNEL_SHIMS(double)

}  // namespace netgrow::test::on_gpu
