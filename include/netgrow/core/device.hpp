/// \file
/// netgrow/core/device.hpp: device tags. The device is a template parameter of tensors, layers and
/// networks, so where data lives is part of its type and transfers are always explicit.
#pragma once

#include <concepts>
#include <string_view>

namespace netgrow {

/// Host memory; the CPU backend (Eigen).
struct Cpu {
  static constexpr std::string_view name = "cpu";  ///< the device's name in messages
};

/// NVIDIA GPU memory; the CUDA backend (hand-written kernels, cuBLAS, cuSOLVER). Usable only from
/// translation units compiled by nvcc that include <netgrow/cuda.hpp>.
struct Cuda {
  static constexpr std::string_view name = "cuda";  ///< the device's name in messages
};

/// A device tag: Cpu or Cuda.
template <class D>
concept Device = std::same_as<D, Cpu> || std::same_as<D, Cuda>;

}  // namespace netgrow
