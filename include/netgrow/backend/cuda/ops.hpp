/// \file
/// netgrow/backend/cuda/ops.hpp: the CUDA back end of every op family in one include (<netgrow/cuda.hpp>
/// includes it). The op facade (ops/*.hpp) dispatches to these specialisations when its views live on
/// the Cuda device; the order of includes does not matter.
///
/// nvcc only (launches kernels).
#pragma once

#include "netgrow/backend/cuda/attention.hpp"
#include "netgrow/backend/cuda/batch_norm.hpp"
#include "netgrow/backend/cuda/blas.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/conv2d.hpp"
#include "netgrow/backend/cuda/depthwise.hpp"
#include "netgrow/backend/cuda/dropout.hpp"
#include "netgrow/backend/cuda/elementwise.hpp"
#include "netgrow/backend/cuda/embedding.hpp"
#include "netgrow/backend/cuda/layer_norm.hpp"
#include "netgrow/backend/cuda/layout.hpp"
#include "netgrow/backend/cuda/loss.hpp"
#include "netgrow/backend/cuda/mask.hpp"
#include "netgrow/backend/cuda/memory.hpp"
#include "netgrow/backend/cuda/optim.hpp"
#include "netgrow/backend/cuda/pair_data.hpp"
#include "netgrow/backend/cuda/patches.hpp"
#include "netgrow/backend/cuda/pool.hpp"
#include "netgrow/backend/cuda/svd.hpp"
#include "netgrow/backend/cuda/transfer.hpp"
