/// \file
/// netgrow/grow.hpp: growing networks. Width growth of weight-layer pairs with GradMax and its peers,
/// depth growth (new residual blocks, identity layers), and the schedules that decide when to grow.
#pragma once

#include "netgrow/grow/controller.hpp"
#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/firefly.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/gradmax_opt.hpp"
#include "netgrow/grow/gstack.hpp"
#include "netgrow/grow/heads.hpp"
#include "netgrow/grow/initializer.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/grow/msg.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/schedule.hpp"
#include "netgrow/grow/split.hpp"
#include "netgrow/grow/stage_lr.hpp"
#include "netgrow/grow/stream.hpp"
#include "netgrow/grow/traits.hpp"
#include "netgrow/grow/transformer.hpp"
#include "netgrow/grow/variance_transfer.hpp"
#include "netgrow/grow/width.hpp"

/// \namespace netgrow::grow
/// Width growth: initializers (GradMax, Random, Split, FireflyOpt, GradMaxOpt, VarianceTransfer, Lemon),
/// pair data, grow_width; depth growth: grow_depth, insert_identity_layer, expand_depth (LEMON); per-stage
/// learning rates (StageLearningRates); and the schedules that decide when to grow.
