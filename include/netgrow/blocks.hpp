/// \file
/// netgrow/blocks.hpp: the blocks module in one include: composite layers: Stack (a run-time number of
/// blocks), the pre-activation residual block (WideBlock) and the pre-LN transformer block.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/blocks/wide_block.hpp"
