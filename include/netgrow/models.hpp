/// \file
/// netgrow/models.hpp: the models module in one include: model builders (Mlp, SmallCnn, WideResNet,
/// Vgg11, MobileNetV1) with their growth sites and plans.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/models/char_transformer.hpp"
#include "netgrow/models/growth_site.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/mobilenet_v1.hpp"
#include "netgrow/models/ntk_measure.hpp"
#include "netgrow/models/sequential_builder.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/models/transformer_sites.hpp"
#include "netgrow/models/vgg11.hpp"
#include "netgrow/models/vit.hpp"
#include "netgrow/models/wide_resnet.hpp"
