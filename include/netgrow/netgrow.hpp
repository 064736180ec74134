/// \file
/// netgrow/netgrow.hpp: everything netgrow offers on the CPU but checkpoints and JSON run summaries.
/// Include this one header, or only the modules you use (each is self-contained and cheaper):
///
/// ~~~{.unparsed}
///   netgrow/core.hpp     tensors and views, shapes, device tags, the RNG, initialisers, errors, Eigen interop
///   netgrow/ops.hpp      the op facade: one front end per op family, Cpu and Cuda back ends
///   netgrow/layers.hpp   one layer kind per header: Dense, Conv2d, DepthwiseConv2d, BatchNorm, LayerNorm,
///                        pooling, activations (Relu1, Relu, ...), Flatten
///   netgrow/network.hpp  Sequential (a flat list of layer kinds), losses, FLOP counts
///   netgrow/blocks.hpp   Stack (a run-time number of blocks), the pre-activation residual block
///   netgrow/optim.hpp    Sgd, Adam, AdamW, learning-rate schedules
///   netgrow/data.hpp     the teacher-student task, Fashion-MNIST (IDX files), mini-batches, augmentation
///   netgrow/grow.hpp     width and depth growth, initializers, schedules, controllers
///   netgrow/models.hpp   model builders with growth sites and plans
///   netgrow/train.hpp    a progress line, CSV curves, number formatting, JSON run summaries
///   netgrow/io.hpp       checkpoints (safetensors) and layer settings as JSON
/// ~~~
/// This header includes every module but io/ and train/run_summary.hpp, the two that pull in
/// nlohmann/json; include <netgrow/io.hpp> or <netgrow/train.hpp> for them. From .cu files include
/// <netgrow/cuda.hpp> (it includes this one).
#pragma once

#include "netgrow/blocks.hpp"
#include "netgrow/core.hpp"
#include "netgrow/data.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/layers.hpp"
#include "netgrow/models.hpp"
#include "netgrow/network.hpp"
#include "netgrow/ops.hpp"
#include "netgrow/optim.hpp"
#include "netgrow/prune.hpp"
#include "netgrow/train/csv.hpp"
#include "netgrow/train/format.hpp"
#include "netgrow/train/progress.hpp"

/// \namespace netgrow
/// Everything netgrow offers: tensors, layers, networks, losses and optimizers at the top level; the op
/// facade in netgrow::ops, growth in netgrow::grow, model builders in netgrow::models.

/// \namespace netgrow::models
/// Model builders (Mlp, SmallCnn, Vgg11, MobileNetV1, WideResNet) that list their growth sites, and growth
/// plans over those sites.
