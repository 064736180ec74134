/// \file
/// netgrow/ops.hpp: the op facade. Layers call ops::gemm, ops::activation_forward, ops::mse, ...;
/// overloads on the tensors' device type route to backend/cpu (Eigen) or, in translation units
/// compiled by nvcc that include <netgrow/cuda.hpp>, to backend/cuda.
#pragma once

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/backend/cpu/elementwise.hpp"
#include "netgrow/backend/cpu/loss.hpp"
#include "netgrow/backend/cpu/optim.hpp"
#include "netgrow/backend/cpu/layout.hpp"
#include "netgrow/backend/cpu/svd.hpp"
#include "netgrow/backend/cpu/batch_norm.hpp"
#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/conv2d.hpp"
#include "netgrow/backend/cpu/depthwise.hpp"
#include "netgrow/backend/cpu/layer_norm.hpp"
#include "netgrow/backend/cpu/pool.hpp"

/// \namespace netgrow::ops
/// The op facade: device-overloaded operations on tensor views (GEMM, element-wise maps, reductions,
/// losses, optimizer updates, layout ops, convolution, BatchNorm, LayerNorm, pooling, SVD).
