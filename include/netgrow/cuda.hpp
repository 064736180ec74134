// netgrow/cuda.hpp: netgrow's CUDA backend. Include from translation units compiled by nvcc; the
// host-only parts (error checking, device queries) also work with the host compiler and the CUDA
// toolkit's include path. Eigen is kept out of this header.
//
// Status: error checking, device queries, and the device-usable activation functors. Device tensors,
// kernels and the cuBLAS/cuSOLVER paths are not here yet (tracked as the CUDA backend issue).
#pragma once

#include "netgrow/backend/cuda/check.hpp"
#include "netgrow/core/device.hpp"
#include "netgrow/layers/activation_functions.hpp"
