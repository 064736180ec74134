/// \file
/// netgrow/network.hpp: the network module in one include: Sequential (a flat list of layer kinds),
/// losses and FLOP counts.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/network/flops.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
