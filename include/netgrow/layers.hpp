/// \file
/// netgrow/layers.hpp: the layers module in one include: every layer kind netgrow defines (Dense,
/// Conv2d, ConvTranspose2d, DepthwiseConv2d, BatchNorm, LayerNorm, Dropout, pooling, activations, Flatten, Unflatten; for sequences Embedding,
/// PositionalEmbedding, MultiHeadAttention, PatchEmbedding, SequencePool), the Layer concept, parameters
/// and their growth.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/activation_functions.hpp"
#include "netgrow/layers/avg_pool2d.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/conv_transpose2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"
#include "netgrow/layers/dropout.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "netgrow/layers/multi_head_attention.hpp"
#include "netgrow/layers/parameter.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/layers/patch_embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/layers/sequence_pool.hpp"
#include "netgrow/layers/unflatten.hpp"
