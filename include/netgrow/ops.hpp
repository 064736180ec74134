/// \file
/// netgrow/ops.hpp: the op facade, every family. Layers call ops::gemm, ops::activation_forward,
/// ops::mse, ...; each op checks its arguments once (ops/<family>.hpp) and dispatches on the tensors'
/// device to backend/cpu (Eigen) or, in translation units compiled by nvcc that include
/// <netgrow/cuda.hpp>, to backend/cuda.
#pragma once

#include "netgrow/ops/attention.hpp"
#include "netgrow/ops/batch_norm.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/conv2d.hpp"
#include "netgrow/ops/depthwise.hpp"
#include "netgrow/ops/elementwise.hpp"
#include "netgrow/ops/layer_norm.hpp"
#include "netgrow/ops/layout.hpp"
#include "netgrow/ops/loss.hpp"
#include "netgrow/ops/mask.hpp"
#include "netgrow/ops/optim.hpp"
#include "netgrow/ops/pool.hpp"
#include "netgrow/ops/svd.hpp"

/// \namespace netgrow::ops
/// The op facade: device-generic operations on tensor views (GEMM, element-wise maps, reductions,
/// losses, optimizer updates, layout ops, convolution, BatchNorm, LayerNorm, pooling, SVD), each
/// checking its arguments once and computing on the views' device (namespace netgrow::backend).

/// \namespace netgrow::backend
/// The device back ends of the op facade: one class template per op family (BlasOps, LayoutOps, ...),
/// specialised for Cpu (backend/cpu) and Cuda (backend/cuda).
