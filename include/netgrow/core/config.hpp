/// \file
/// netgrow/core/config.hpp: version, index type and the host/device function marker.
///
/// Everything else in netgrow includes this first. It holds no configuration that could differ between
/// translation units: configuration comes from CMake target properties, never from editing headers.
#pragma once

#include <cstddef>
#include <cstdint>

#define NETGROW_VERSION_MAJOR 0  ///< netgrow's major version
#define NETGROW_VERSION_MINOR 1  ///< netgrow's minor version
#define NETGROW_VERSION_PATCH 0  ///< netgrow's patch version

/// \def NETGROW_HOST_DEVICE
/// Functions usable from CUDA kernels and host code alike (activation functors, small math helpers).
#if defined(__CUDACC__)
#define NETGROW_HOST_DEVICE __host__ __device__
#else
#define NETGROW_HOST_DEVICE
#endif

namespace netgrow {

/// Signed index type for sizes, shapes and loops (matches Eigen::Index).
using Index = std::ptrdiff_t;

}  // namespace netgrow
