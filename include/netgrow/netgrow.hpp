/// \file
/// netgrow/netgrow.hpp: everything netgrow offers on the CPU. Include this one header.
///
/// Map of the library (each header starts with what it is for):
/// ~~~{.unparsed}
///   core/      tensors and views, shapes, device tags, the RNG, initialisers, errors, Eigen interop
///   backend/   the op facade's device implementations (cpu: Eigen)
///   layers/    one layer kind per header: Dense, Conv2d, DepthwiseConv2d, BatchNorm, LayerNorm,
///              pooling, activations (Relu1, Relu, ...), Flatten
///   network/   Sequential (a flat list of layer kinds), losses
///   optim/     Sgd, Adam, AdamW, learning-rate schedules
///   data/      the teacher-student task, Fashion-MNIST (IDX files), mini-batches, augmentation
///   train/     a progress line for training loops, CSV curves; include train/run_summary.hpp
///              for JSON run summaries (it pulls in nlohmann/json.hpp)
/// ~~~
#pragma once

#include "netgrow/core/config.hpp"
#include "netgrow/core/device.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/shape.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/data/augment.hpp"
#include "netgrow/data/batches.hpp"
#include "netgrow/data/fashion_mnist.hpp"
#include "netgrow/data/idx.hpp"
#include "netgrow/data/teacher_student.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/avg_pool2d.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/layers/parameter.hpp"
#include "netgrow/blocks/wide_block.hpp"
#include "netgrow/models/growth_site.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/mobilenet_v1.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/models/vgg11.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/blocks/stack.hpp"
#include "netgrow/ops.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/lr_schedule.hpp"
#include "netgrow/optim/optimizer.hpp"
#include "netgrow/optim/sgd.hpp"
#include "netgrow/train/csv.hpp"
#include "netgrow/train/format.hpp"
#include "netgrow/train/progress.hpp"

/// \namespace netgrow
/// Everything netgrow offers: tensors, layers, networks, losses and optimizers at the top level; the op
/// facade in netgrow::ops, growth in netgrow::grow, model builders in netgrow::models.

/// \namespace netgrow::models
/// Model builders (Mlp, SmallCnn, Vgg11, MobileNetV1, WideResNet) that list their growth sites, and growth
/// plans over those sites.
