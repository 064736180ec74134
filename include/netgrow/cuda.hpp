/// \file
/// netgrow/cuda.hpp: netgrow with its CUDA back end. Include this header (it includes
/// <netgrow/netgrow.hpp>) from translation units compiled by nvcc, in any order with other netgrow
/// headers:
///
/// ~~~
///   Rng rng(42);
///   auto net = make_sequential<float, Cuda>(rng, Dense{.in = 784, .out = 1024}, Relu1{},
///                                           Dense{.in = 1024, .out = 10});
///   Tensor<float, Cuda> x = to<Cuda>(x_host);          // explicit transfers (backend/cuda/transfer.hpp)
///   auto logits = net.forward(x);
/// ~~~
///
/// What it adds to the CPU library:
/// ~~~{.unparsed}
///   core/cuda_check.hpp        CUDA errors as exceptions (CudaError, CudaOutOfMemory), device queries
///   backend/cuda/device_pool.hpp  the pooled device allocator (size classes, per-stream reuse, trim(),
///                                 private pools for recorded graphs)
///   backend/cuda/context.hpp      cuda::context(): stream, cuBLAS/cuSOLVER handles, workspace, GemmPath
///   backend/cuda/memory.hpp       device buffers: Tensor<T, Cuda>
///   backend/cuda/transfer.hpp     to<Cuda>(t), to<Cpu>(t), copy(src, dst) across devices
///   backend/cuda/ops.hpp          the Cuda back end of every op family of the facade (ops/: GEMM,
///                                 element-wise, reductions, losses, optimizer updates, layout ops,
///                                 convolution, depthwise convolution, BatchNorm, LayerNorm, pooling,
///                                 top-k SVD, GradMax's conv-pair data), over kernels/*.cuh and cuBLAS
///   backend/cuda/solver.hpp       cuSOLVER SVD paths (gesvdj, gesvd) beside the native kernels/svd_*.cuh
///   backend/cuda/graph.hpp        cuda::StepGraph: a training step recorded once as a CUDA graph and
///                                 replayed, recorded again after a growth
///   backend/cuda/queued_loss.hpp  cuda::QueuedCrossEntropy: the loss kept on the device until asked for
/// ~~~
/// Every layer (Dense, Conv2d, DepthwiseConv2d, BatchNorm, LayerNorm, pooling, activations, Flatten), Sequential,
/// the losses and Sgd/Adam work on Cuda, and so do every growth operation, the growth controllers' site
/// measures and pruning (some steps through the host: README, "On the GPU"). The host-only parts (check, device_pool, context, memory,
/// transfer, graph) also compile with the host compiler; Eigen is host-only (EIGEN_NO_CUDA).
#pragma once

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/device_pool.hpp"
#include "netgrow/backend/cuda/graph.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/backend/cuda/ops.hpp"
#include "netgrow/backend/cuda/queued_loss.hpp"
#include "netgrow/backend/cuda/solver.hpp"
#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/device.hpp"
#include "netgrow/layers/activation_functions.hpp"
#include "netgrow/netgrow.hpp"

/// \namespace netgrow::cuda
/// The CUDA backend's host side: device queries, contexts (stream, cuBLAS and cuSOLVER handles, workspace),
/// the pooled device allocator and the cuSOLVER SVD paths.
