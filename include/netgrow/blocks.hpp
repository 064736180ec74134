/// \file
/// netgrow/blocks.hpp: the blocks module in one include: composite layers: Stack (a run-time number of
/// blocks) and the pre-activation residual block.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/wide_block.hpp"
