/// \file
/// netgrow/backend/cuda/ops.hpp: every op-facade overload for Cuda views in one include.
///
/// The layers, losses and optimizers call the facade with qualified names (ops::gemm<S>(...)), and a
/// qualified call in a template sees only the overloads declared before the template's definition.
/// So in a translation unit that uses Cuda networks this header (or <netgrow/cuda.hpp>, which starts
/// with it) must come before the layer headers. The headers that own such calls include it themselves
/// when compiled by nvcc.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cuda/batch_norm.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/conv2d.hpp"
#include "netgrow/backend/cuda/depthwise.hpp"
#include "netgrow/backend/cuda/elementwise.hpp"
#include "netgrow/backend/cuda/layer_norm.hpp"
#include "netgrow/backend/cuda/layout.hpp"
#include "netgrow/backend/cuda/loss.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/backend/cuda/optim.hpp"
#include "netgrow/backend/cuda/pool.hpp"
#include "netgrow/backend/cuda/svd.hpp"
#include "netgrow/backend/cuda/transfer.hpp"
