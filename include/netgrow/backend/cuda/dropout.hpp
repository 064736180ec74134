/// \file
/// netgrow/backend/cuda/dropout.hpp: the CUDA back end of ops/dropout.hpp, over kernels/dropout.cuh.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cpu/dropout.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/kernels/dropout.cuh"

namespace netgrow::backend {

/// Dropout on the GPU. The mask's draw number is a host value: a CUDA graph recording it (cuda::StepGraph)
/// would replay one mask at every step, so recording is refused with a StateError (the graph then records
/// nothing and the stream stays usable).
template <>
struct DropoutOps<Cuda> {
  template <class T>
  static void dropout(const DropoutMask& mask, T scale, Index rows, Index middle, Index last, ConstView<T, Cuda> x,
                      TensorView<T, Cuda> y) {
    const cudaStream_t stream = cuda::context().stream();
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    NETGROW_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
    require<StateError>(capture == cudaStreamCaptureStatusNone,
                        "Dropout in training mode cannot be recorded into a CUDA graph (cuda::StepGraph): every replay "
                        "would reuse this step's mask; run the step without the graph (evaluation mode records fine)");
    kernels::dropout<T>(mask, scale, rows, middle, last, x.data(), y.data(), stream);
  }
};

}  // namespace netgrow::backend
