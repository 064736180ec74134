/// \file
/// netgrow/backend/cuda/transfer.hpp: explicit copies between host and device tensors. netgrow never
/// moves data between devices behind the user's back; these functions are the only way across.
///
/// ~~~
///   Tensor<float, Cuda> x_dev = to<Cuda>(x_host);     // (any shape) host -> device
///   Tensor<float, Cpu> y_host = to<Cpu>(y_dev);       // device -> host
///   copy(x_host.cview(), x_dev.view());                // into an existing tensor of the same shape
/// ~~~
///
/// Contracts: shapes must be equal (ShapeError otherwise). A copy that reads or writes host memory
/// returns when the data is in place (it synchronises the calling thread's stream, after the work
/// queued on it before, so to<Cpu> sees every earlier op's result); a device-to-device copy is queued
/// on the stream like any op.
///
/// Host-compiler safe: needs only the CUDA runtime, cuBLAS and cuSOLVER headers (through memory.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <concepts>
#include <cstddef>
#include <type_traits>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow {

namespace detail {

template <class From, class To>
constexpr cudaMemcpyKind memcpy_kind() {
  if constexpr (std::same_as<From, Cpu> && std::same_as<To, Cpu>) return cudaMemcpyHostToHost;
  else if constexpr (std::same_as<From, Cpu>) return cudaMemcpyHostToDevice;
  else if constexpr (std::same_as<To, Cpu>) return cudaMemcpyDeviceToHost;
  else return cudaMemcpyDeviceToDevice;
}

}  // namespace detail

/// dst = src, element by element, across devices (or within one). Shapes must be equal.
template <class T, Device From, Device To>
void copy(ConstView<T, From> src, TensorView<T, To> dst) {
  require<ShapeError>(src.shape() == dst.shape(), "copy (", From::name, " -> ", To::name, "): shape mismatch ",
                      src.shape(), " vs ", dst.shape());
  const Index n = src.numel();
  if (n == 0) return;
  if constexpr (std::same_as<From, Cpu> && std::same_as<To, Cpu>) {
    detail::Buffer<T, Cpu>::copy_n(dst.data(), src.data(), n);
  } else if constexpr (std::same_as<From, Cuda> && std::same_as<To, Cuda>) {
    detail::Buffer<T, Cuda>::copy_n(dst.data(), src.data(), n);
  } else {
    auto& ctx = cuda::context();
    NETGROW_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), static_cast<std::size_t>(n) * sizeof(T),
                                       detail::memcpy_kind<From, To>(), ctx.stream()));
    ctx.synchronize();
  }
}
/// The same for a mutable source view.
template <class T, Device From, Device To>
  requires(!std::is_const_v<T>)
void copy(TensorView<T, From> src, TensorView<T, To> dst) {
  copy(ConstView<T, From>(src), dst);
}

/// A new tensor on device To holding a copy of `src` (a Tensor or a view on any device).
template <Device To, class Source>
auto to(const Source& src) {
  const auto v = const_view(src);
  using T = typename decltype(v)::value_type;
  Tensor<T, To> out = Tensor<T, To>::uninitialized(v.shape());
  copy(v, out.view());
  return out;
}

}  // namespace netgrow
