/// \file
/// netgrow/optim.hpp: the optim module in one include: optimizers (Sgd, Adam, AdamW; StagedAdam and
/// StagedSgd for a step recorded as a CUDA graph) and learning-rate schedules.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/lr_schedule.hpp"
#include "netgrow/optim/optimizer.hpp"
#include "netgrow/optim/sgd.hpp"
#include "netgrow/optim/staged.hpp"
